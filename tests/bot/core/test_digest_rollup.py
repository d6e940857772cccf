"""The leadership roll-up (bot/core/digests/rollup.py): every team of a workspace at once, with
k at every level. Data is built directly in the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.core.digests import DigestError
from bot.core.digests.rollup import ROLLUP_OVERLAP, TOO_FEW, rollup
from bot.core.digests.window import last_block
from bot.runtime import Runtime
from bot.storage import Database
from tests.support.teams import (
    CARE,
    INTEGRITY,
    W3,
    WS,
    checkin_week,
    context_for,
    make_runtime,
    response_row,
    same,
)
from tests.support.teams import with_members as team_of


@pytest.fixture
def rt(db: Database) -> Runtime:
    return make_runtime(db)


async def test_the_rollup_counts_each_person_once_and_never_a_manager(rt: Runtime) -> None:
    """A (7 reps, led by BOSS) and B (8 reps, BOSS among them): S is in both, BOSS manages A.
    The workspace has 13 respondents: S once, BOSS not at all (their 1 would pull it down)."""
    a_reps = [*(f"U0A{i}" for i in range(6)), "U0S"]
    b_reps = [*(f"U0B{i}" for i in range(6)), "U0S", "U0BOSS"]
    a = await team_of(rt, "alpha", a_reps, ["U0BOSS"])
    b = await team_of(rt, "bravo", b_reps, ["U0MGRB"])
    answers = same(
        [*a_reps, *b_reps], care__interests_first="4", integrity__honest_every_interaction="5"
    )
    answers["U0BOSS"] = {CARE: "1", INTEGRITY: "1"}
    await checkin_week(rt, b, W3, answers)  # everyone's answers, stored once
    await checkin_week(rt, a, W3, {}, asked=a_reps)

    found = await rollup(rt, WS)

    week = found.week
    assert week.start == W3 and found.k == 5
    assert (week.in_rounds, week.answered) == (13, 13)
    assert week.withheld is None
    assert {d.dimension: d.index for d in week.dimensions} == {"integrity": 5.0, "care": 4.0}
    assert week.index == 4.5
    teams = {t.name: t for t in found.teams}
    assert teams["alpha"].index == 4.5 and teams["alpha"].focus == "Care"
    assert teams["bravo"].index is not None and teams["bravo"].index < 4.5  # BOSS is its rep


async def test_workspace_minus_a_team_is_never_fewer_than_k_people(rt: Runtime) -> None:
    """ATTACK: A has 6 respondents and shows its index; B has 2 (below k, withheld). Were the
    workspace's 8 shown, 8·ws − 6·A would be B's two people's answers: the roll-up withholds
    every answer figure of the workspace instead."""
    a_reps = [f"U0A{i}" for i in range(6)]
    targets = ["U0T0", "U0T1"]
    a = await team_of(rt, "alpha", a_reps, ["U0MGRA"])
    b = await team_of(rt, "bravo", targets, ["U0MGRB"])
    await checkin_week(rt, a, W3, same(a_reps, care__interests_first="4"))
    await checkin_week(rt, b, W3, same(targets, care__interests_first="1"))

    found = await rollup(rt, WS)

    assert found.week.answered == 8  # participation still shows: counts reveal no answer
    assert found.week.withheld == ROLLUP_OVERLAP.format(k=5)
    assert found.week.index is None and found.week.dimensions == []
    teams = {t.name: t.index for t in found.teams}
    assert teams == {"alpha": 4.0, "bravo": None}
    shown = [found.week.index, *(d.index for d in found.week.dimensions), *teams.values()]
    assert 1.0 not in shown and all(v in (None, 4.0) for v in shown)


async def test_workspace_minus_every_shown_team_is_never_fewer_than_k_people(
    rt: Runtime,
) -> None:
    """ATTACK: disjoint A (6) and B (6) show their indexes; C (2) does not. The workspace (14)
    differs from each single team by k or more, yet 14·ws − 6·A − 6·B would be C's two people's
    answers: the workspace figures are withheld."""
    a_reps = [f"U0A{i}" for i in range(6)]
    b_reps = [f"U0B{i}" for i in range(6)]
    targets = ["U0T0", "U0T1"]
    a = await team_of(rt, "alpha", a_reps, ["U0MGRA"])
    b = await team_of(rt, "bravo", b_reps, ["U0MGRB"])
    c = await team_of(rt, "charlie", targets, ["U0MGRC"])
    await checkin_week(rt, a, W3, same(a_reps, care__interests_first="4"))
    await checkin_week(rt, b, W3, same(b_reps, care__interests_first="5"))
    await checkin_week(rt, c, W3, same(targets, care__interests_first="1"))

    found = await rollup(rt, WS)

    assert found.week.answered == 14
    assert found.week.withheld == ROLLUP_OVERLAP.format(k=5)
    assert found.week.index is None and found.week.dimensions == []
    assert {t.name: t.index for t in found.teams} == {"alpha": 4.0, "bravo": 5.0, "charlie": None}


async def test_a_workspace_below_k_shows_participation_only(rt: Runtime) -> None:
    reps = ["U0A0", "U0A1", "U0A2"]
    team = await team_of(rt, "tiny", reps, ["U0MGR"])
    await checkin_week(rt, team, W3, same(reps, care__interests_first="2"))
    found = await rollup(rt, WS)
    assert (found.week.answered, found.week.withheld) == (3, TOO_FEW.format(k=5))
    assert found.week.index is None and found.teams[0].index is None


async def test_the_block_counts_people_across_weeks_once(rt: Runtime) -> None:
    """The latest complete 4-week block (5 Oct – 1 Nov 2026 for the week of 16 Nov): the same
    six people in two of its weeks are six respondents, not twelve."""
    reps = [f"U0A{i}" for i in range(6)]
    team = await team_of(rt, "alpha", reps, ["U0MGR"])
    block_start = last_block(W3, 4)
    assert block_start == date(2026, 10, 5)
    for week in (block_start, block_start + timedelta(days=14)):
        await checkin_week(rt, team, week, same(reps, care__interests_first="3"))
    found = await rollup(rt, WS)
    assert (found.block.weeks, found.block.in_rounds, found.block.answered) == (4, 6, 6)
    assert found.block.index == 3.0 and found.block.withheld is None
    assert found.week.answered == 0 and found.week.index is None


async def test_a_workspace_without_teams_is_told_how_to_start(rt: Runtime) -> None:
    with pytest.raises(DigestError, match="team create"):
        await rollup(rt, WS)


async def test_the_rollup_is_frozen_when_first_shown(rt: Runtime) -> None:
    """ATTACK: a late answer (or a forget-me) between two views would be the difference of
    the two; the second view shows the stored figures instead."""
    reps = [f"U0A{i}" for i in range(6)]
    team = await team_of(rt, "alpha", reps, ["U0MGR"])
    await checkin_week(rt, team, W3, same(reps[:5], care__interests_first="4"), asked=reps)
    first = await rollup(rt, WS)
    async with rt.db.session() as s:
        s.add(response_row(W3, context_for(W3), reps[5], CARE, "1"))  # the late answer
    again = await rollup(rt, WS)
    assert first.week.index == 4.0 and first.week.answered == 5
    assert again.week == first.week and again.block == first.block
