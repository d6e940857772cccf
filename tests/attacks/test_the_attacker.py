"""The attacker itself: it finds each link it claims to find, on small hand-made dumps and on
a live database that gains a column, and it names nobody where nothing links.

These stay green whatever storage does, so the dump attack cannot quietly go blind once its
``xfail`` markers are gone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from bot.core import answers
from bot.core.prompts import Dimension
from bot.storage import Database, sync_url
from tests.attacks import _week as week
from tests.attacks._dump import Dump, DumpedTable, Reference, dump_database
from tests.attacks._linkage import Adversary

ANA, BEN, CAL = "U0ANA0000", "U0BEN0000", "U0CAL0000"
W1 = date(2026, 11, 2)
AT = datetime(2026, 11, 6, 16, 0, tzinfo=UTC)


def hexed(user: str) -> str:
    """A stand-in pseudonym: 64 hex digits nobody can turn back into ``user``."""
    return (user.encode().hex() * 8)[:64]


def table(
    name: str,
    rows: list[dict[str, Any]],
    *,
    pk: tuple[str, ...] = ("id",),
    refs: tuple[Reference, ...] = (),
) -> DumpedTable:
    columns = tuple(dict.fromkeys(c for row in rows for c in row))
    return DumpedTable(name, columns, pk, refs, tuple(rows))


def dump(*tables: DumpedTable) -> Dump:
    return Dump({t.name: t for t in tables})


def identified(d: Dump, family: str) -> dict[str, str]:
    """``{user: family's unique candidate for their pseudonym}``."""
    attack = Adversary(d).attack()
    truth = {hexed(u): u for u in (ANA, BEN, CAL)}
    return {truth[p]: u for p, u in attack.identified(family, truth).items()}


def members() -> DumpedTable:
    return table(
        "member",
        [
            {"id": 1, "team_id": 1, "user_id": ANA},
            {"id": 2, "team_id": 1, "user_id": BEN},
            {"id": 3, "team_id": 1, "user_id": CAL},
        ],
    )


def test_nothing_linkable_names_nobody() -> None:
    answers_ = table(
        "answer",
        [{"id": i, "who": hexed(u), "week": W1, "score": 4} for i, u in enumerate((ANA, BEN))],
    )
    found = dump(members(), answers_)
    for family in Adversary(found).families():
        assert identified(found, family) == {}, family
    assert identified(found, "all + elimination") == {}


def test_a_user_id_next_to_a_pseudonym() -> None:
    answers_ = table("answer", [{"id": 1, "who": hexed(ANA), "by": ANA}])
    assert identified(dump(members(), answers_), "same row") == {ANA: ANA}


def test_a_foreign_key_to_a_row_that_names_the_user() -> None:
    outbox = table("outbox", [{"id": 7, "user_id": ANA}, {"id": 8, "user_id": BEN}])
    to_outbox = (Reference(("delivery_id",), "outbox", ("id",)),)
    answers_ = table(
        "answer",
        [
            {"id": 1, "who": hexed(ANA), "delivery_id": 7},
            {"id": 2, "who": hexed(BEN), "delivery_id": 8},
        ],
        refs=to_outbox,
    )
    assert identified(dump(members(), outbox, answers_), "references") == {ANA: ANA, BEN: BEN}


def test_a_text_reference_to_a_round_only_some_got() -> None:
    rounds = table("checkinround", [{"id": 3, "week": W1}, {"id": 4, "week": W1}])
    outbox = table(
        "outbox",
        [
            {"id": 1, "user_id": ANA, "round_id": 3},
            {"id": 2, "user_id": BEN, "round_id": 4},
            {"id": 3, "user_id": CAL, "round_id": 4},
        ],
        refs=(Reference(("round_id",), "checkinround", ("id",)),),
    )
    answers_ = table("answer", [{"id": 1, "who": hexed(ANA), "context": "round:3"}])
    assert identified(dump(rounds, outbox, answers_), "references") == {ANA: ANA}


def test_a_week_and_a_deal_moment() -> None:
    events = table(
        "dealevent",
        [
            {"id": 1, "rep": ANA, "change": "won", "at": AT},
            {"id": 2, "rep": BEN, "change": "lost", "at": AT},
            {"id": 3, "rep": CAL, "change": "won", "at": AT - timedelta(weeks=3)},
        ],
    )
    answers_ = table(
        "answer", [{"id": 1, "who": hexed(ANA), "moment": "won", "week": W1, "v": "yes"}]
    )
    assert identified(dump(events, answers_), "week+category") == {ANA: ANA}


def test_an_answer_seconds_after_the_users_own_dm() -> None:
    outbox = table(
        "outbox",
        [
            {"id": 1, "user_id": ANA, "sent_at": AT},
            {"id": 2, "user_id": BEN, "sent_at": AT + timedelta(hours=5)},
            {"id": 3, "user_id": CAL, "sent_at": AT + timedelta(hours=9)},
        ],
    )
    clicks = [AT + timedelta(seconds=s) for s in (30, 38, 45)]
    answers_ = table(
        "answer", [{"id": i, "who": hexed(ANA), "at": t} for i, t in enumerate(clicks)]
    )
    found = dump(outbox, answers_)
    assert identified(found, "time 1 min") == {ANA: ANA}
    assert identified(found, "time exact") == {}


def test_elimination_names_the_last_one_left() -> None:
    outbox = table(
        "outbox",
        [
            {"id": 1, "user_id": ANA, "sent_at": AT},
            {"id": 2, "user_id": BEN, "sent_at": AT + timedelta(hours=3)},
        ],
    )
    answers_ = table(
        "answer",
        [
            {"id": 1, "who": hexed(ANA), "at": AT + timedelta(seconds=20), "team_id": 1},
            {"id": 2, "who": hexed(BEN), "at": AT + timedelta(days=2), "team_id": 1},
        ],
        refs=(Reference(("team_id",), "team", ("id",)),),
    )
    members_ = table(
        "member",
        [{"id": 1, "team_id": 1, "user_id": ANA}, {"id": 2, "team_id": 1, "user_id": BEN}],
        refs=(Reference(("team_id",), "team", ("id",)),),
    )
    found = dump(outbox, answers_, members_, table("team", [{"id": 1, "name": "sales"}]))
    assert identified(found, "time 1 min") == {ANA: ANA}
    assert identified(found, "all + elimination") == {ANA: ANA, BEN: BEN}


async def test_a_column_and_a_table_added_later_are_attacked(database_url: str) -> None:
    """A developer stores each answer's DM channel, and a table of DM channels: the dump
    has both without anyone listing them, and the attack links every rep through them."""
    reps = ["U0NEWCOL01", "U0NEWCOL02", "U0NEWCOL03"]
    db = Database(database_url)
    try:
        rt = await week.workspace(db)
        team = await week.team(rt, "sales", reps, k=3)
        sent = await week.send_checkins(rt, team)
        for user in reps:
            every = {d.value: 4 for d in Dimension}  # whichever dimensions the week asks
            await week.answer_checkin(rt, user, sent[(team.id, user)], every)
        pseudonyms = {answers.pseudonym_of(rt, week.WS, u, week.WEEK_OF): u for u in reps}
    finally:
        await db.dispose()
    before = Adversary(dump_database(database_url))
    assert before.attack().identified("shared values", pseudonyms) == {}
    answer_tables = sorted(
        (name, column)
        for name, column in before.pseudonym_columns
        if any(row.get(column) in pseudonyms for row in before.dump.tables[name].rows)
    )
    assert answer_tables
    engine = create_engine(sync_url(database_url))
    added: list[str] = []
    try:
        with engine.begin() as conn:
            for name, column in answer_tables:
                conn.execute(text(f'ALTER TABLE "{name}" ADD COLUMN dm_channel VARCHAR(32)'))
                added.append(name)
                for pseudonym, user in pseudonyms.items():
                    conn.execute(
                        text(f'UPDATE "{name}" SET dm_channel = :c WHERE "{column}" = :p'),
                        {"c": "D" + user[1:], "p": pseudonym},
                    )
            conn.execute(text("CREATE TABLE slack_dm (user_id VARCHAR(32), channel VARCHAR(32))"))
            for user in reps:
                conn.execute(
                    text("INSERT INTO slack_dm VALUES (:u, :c)"), {"u": user, "c": "D" + user[1:]}
                )
        after = Adversary(dump_database(database_url))
    finally:  # the PostgreSQL database is this process's for the other tests too
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS slack_dm"))
            maybe = "IF EXISTS " if engine.dialect.name == "postgresql" else ""
            for name in added:
                conn.execute(text(f'ALTER TABLE "{name}" DROP COLUMN {maybe}dm_channel'))
        engine.dispose()
    found = after.attack().identified("shared values", pseudonyms)
    assert sorted(found.values()) == reps


def _values(d: Dump, name: str, column: str) -> list[Any]:
    return [row.get(column) for row in d.tables[name].rows]
