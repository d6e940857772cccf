"""Issue #15: a dump of the database without the pseudonym key re-identifies nobody.

Four weeks of realistic use (:mod:`tests.attacks._simulation`) on SQLite and PostgreSQL,
every table and column dumped (:mod:`tests.attacks._dump`), then the linkage attacks of
:mod:`tests.attacks._linkage`, family by family and all together with elimination. A
pseudonym counts as re-identified only when an attack narrows it to exactly one person and
that person is its owner; a set of two or more candidates is a guess, not an identification.

A test marked ``xfail(strict=True)`` proves a leak of today's storage: it must fail until
the leak is closed, and then its marker goes.
"""

from __future__ import annotations

import pytest

from bot.core.prompts import DealChange
from tests.attacks._linkage import Adversary, Attack
from tests.attacks._simulation import FAY, REPS, STAFF, TEAMS, WEEKS, Stolen, name_of


@pytest.fixture(scope="module")
def adversary(stolen: Stolen) -> Adversary:
    return Adversary(stolen.dump)


@pytest.fixture(scope="module")
def attack(adversary: Adversary) -> Attack:
    return adversary.attack()


def owners(stolen: Stolen, adversary: Adversary) -> dict[str, str]:
    """Who owns each pseudonym the dump holds (what the attack is scored against)."""
    return {p: u for p, u in stolen.simulated.truth.items() if p in adversary.pseudonyms}


FAMILIES = [
    pytest.param(family, id=name)
    for family, name in (
        ("same row", "same-row"),
        ("references", "team-and-round-sets"),
        ("shared values", "shared-values"),
        ("week+category", "week-and-moment"),
        ("counts", "counts-per-week"),
        ("time exact", "time-exact"),
        ("time 1 min", "time-minute"),
        ("time 1 h", "time-hour"),
        ("time 1 day", "time-day"),
        ("all + elimination", "all-and-elimination"),
    )
]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_dump_without_the_key_reidentifies_nobody(
    stolen: Stolen, adversary: Adversary, attack: Attack, family: str
) -> None:
    truth = owners(stolen, adversary)
    found = attack.identified(family, truth)
    names = stolen.simulated.names
    assert not found, (
        f"{family} re-identified {sorted(names[u] for u in found.values())}\n"
        + attack.report(truth, names)
    )


def test_the_attacker_finds_every_rep_and_every_answering_pseudonym(
    stolen: Stolen, adversary: Adversary
) -> None:
    """The attack is only worth something if it sees the data: every current member's user
    ID and the pseudonym of everyone who answered is found by value, whatever the columns
    are called now."""
    log = stolen.simulated.log
    members = {r.id for r in REPS} | set(STAFF)
    assert members - set(log.forgotten) <= set(adversary.users)
    # pseudonyms are weekly: those of the weeks a person answered in are in the dump
    text = stolen.dump.text()
    answered = {p for p, u in stolen.simulated.truth.items() if u in log.answered_by}
    present = {p for p in answered if stolen.simulated.truth[p] not in log.forgotten}
    present = {p for p in present if p in text}
    assert len(present) >= len(log.answered_by) - len(log.forgotten)  # one a week or more
    assert present <= set(adversary.pseudonyms)
    # no table of answers holds a user ID (the check that existed before this attack)
    answer_tables = {
        name
        for name, column in adversary.pseudonym_columns
        if any(row.get(column) in present for row in stolen.dump.tables[name].rows)
    }
    assert answer_tables and adversary.user_columns
    assert not answer_tables & {name for name, _ in adversary.user_columns}


def test_the_simulation_is_realistic(stolen: Stolen) -> None:
    """What the dump was made from: weeks, teams, zones, every deal change, skips, notes."""
    log = stolen.simulated.log
    assert len(log.weeks) >= WEEKS >= 4
    assert len(log.teams) >= 3
    north, plus, south = (set(r.id for r in TEAMS[t][0]) for t in ("north", "north-plus", "south"))
    assert plus - north and len(plus ^ north) == 1 and plus & south  # overlapping teams
    zones = {r.tz for r in REPS if r.id in log.answered_by}
    assert len(zones) >= 2
    for change in DealChange:
        assert len(log.nudge_answers.get(change.value, ())) >= 2, change
    reps = {r.id for r in REPS}
    assert len(reps & log.answered_by) >= 0.75 * len(reps)
    assert sum(log.checkins_skipped.values()) > 0  # some skip
    assert {shared for _, _, shared in log.notes} == {True, False}
    assert log.estimates and log.forgotten == [FAY.id]
    assert len(log.digests) >= len(log.teams) * len(log.weeks)
    assert sum(log.refused.values()) <= 0.1 * sum(log.checkin_answers.values())
    # the sealed records of the reps' recent deals, and check-ins naming one, are in the dump
    assert len(stolen.dump.tables["recentdeals"].rows) >= len(reps) - 2  # forgotten, silent
    assert any(row["anchor"] for row in stolen.dump.tables["delivery"].rows)


def test_forget_me_leaves_no_answer_or_note_in_the_dump(stolen: Stolen) -> None:
    """FAY's pseudonym and every note she wrote are gone from every table. (Her Slack ID
    comes back with the deal updates the CRM still sends about her deals afterwards, kept
    as ``unknown_rep``: new data, linked to no answer.)"""
    text = stolen.dump.text()
    fay = FAY.id
    pseudonym = next(p for p, u in stolen.simulated.truth.items() if u == fay)
    assert pseudonym not in text
    notes = [body for user, body, _ in stolen.simulated.log.notes if user == fay]
    assert notes
    left = [body for body in notes if body in text]
    assert not left, f"{name_of(fay)}'s notes still stored: {left}"
