"""A digest a manager can act on (issue #18): changes marked only beyond the noise, a focus
that holds for a cycle with a weekly action, and the goal mix and deal moments at the
granularity k allows (a block of weeks) for a team of 8 at k = 5.

Data is built directly in the database (``tests/support/teams.py``), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import col

from bot.core import digests
from bot.core.answers import context_for
from bot.core.digests import window
from bot.core.digests.figures import baseline, marked, standard_error
from bot.core.digests.model import SHOWN, Figures
from bot.core.digests.window import EPOCH, last_block
from bot.core.prompts import GOAL_PROMPT_ID, TRUST_AND_VALUE, default_bank
from bot.runtime import Runtime
from bot.storage import Database
from bot.storage.models import Response, Team
from tests.support.teams import (
    CANDOR,
    CARE,
    checkin_week,
    make_runtime,
    make_team,
    nudge,
    response_row,
    who,
)

B1, B2, B3, B4, B5 = (date(2026, 10, 5) + timedelta(weeks=i) for i in range(5))
LATER = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # every week above is over


@pytest.fixture
def rt(db: Database) -> Runtime:
    return make_runtime(db, LATER)


async def figures_of(rt: Runtime, team: Team, period: date) -> dict[str, Any]:
    return (await digests.digest_for(rt, team, period, publish=False)).figures.stored()


def test_the_blocks_are_fixed_and_shown_only_once_over() -> None:
    assert (B1 - EPOCH).days % 28 == 0  # B1 starts a 4-week block
    assert last_block(B4, 4) == B1  # complete with its fourth week
    assert last_block(B3, 4) == B1 - timedelta(weeks=4)  # before: the block before it
    assert last_block(B5, 4) == B1  # and shown unchanged until the next one is over


def test_the_rule_for_marking_a_change() -> None:
    # eight people answering 3s and 4s: a spread (standard deviation) of 0.53, so the
    # standard error of the mean is 0.53 / sqrt(8) = 0.19 and a change needs more than 0.38
    se = standard_error(28, 100, 8, 8)
    assert round(se, 2) == 0.19
    assert marked(3.75, 3.5, se) == 0  # what the sample cannot tell apart: unmarked
    assert marked(4.2, 3.5, se) == 1 and marked(2.9, 3.5, se) == -1
    assert marked(4.9, None, se) == 0  # no baseline yet, nothing to compare with
    assert baseline([None, 3.0]) is None  # a baseline needs two earlier weeks
    assert baseline([3.0, None, 4.0, 3.5, 4.5, 2.0]) == 3.5  # the last four shown


async def test_a_change_within_the_noise_is_not_marked_and_a_real_one_is(rt: Runtime) -> None:
    team, reps = await make_team(rt, "noise", 8)
    mixed = {user: {CARE: "3" if i % 2 else "4"} for i, user in enumerate(reps)}
    for week in (B1, B2):
        await checkin_week(rt, team, week, mixed)
    nearly = {user: {CARE: "4" if i % 4 else "3"} for i, user in enumerate(reps)}  # 3.75
    await checkin_week(rt, team, B3, nearly)
    await checkin_week(rt, team, B4, {user: {CARE: "5"} for user in reps})
    week3, week4 = await figures_of(rt, team, B3), await figures_of(rt, team, B4)
    care3 = next(d for d in week3["dimensions"] if d["dimension"] == "care")
    assert (care3["index"], care3["baseline"], care3["marked"]) == (3.75, 3.5, 0)
    assert (week3["overall"]["index"], week3["overall"]["marked"]) == (3.75, 0)
    care4 = next(d for d in week4["dimensions"] if d["dimension"] == "care")
    assert care4["marked"] == 1 and week4["overall"]["marked"] == 1


async def test_the_focus_holds_for_four_weeks_with_a_new_action_each_week(rt: Runtime) -> None:
    team, reps = await make_team(rt, "focus", 6)
    weeks = [B1, B2, B3, B4, B5]
    for i, week in enumerate(weeks):  # the lowest dimension swaps every week
        low, high = ("2", "4") if i % 2 == 0 else ("4", "2")
        await checkin_week(rt, team, week, {user: {CARE: low, CANDOR: high} for user in reps})
    focuses = [(await figures_of(rt, team, week))["focus"] for week in weeks]
    first = focuses[0]
    assert first["dimension"] == "care" and first["since"] == B1.isoformat()
    for n, focus in enumerate(focuses[:4], start=1):
        assert (focus["dimension"], focus["since"], focus["week"]) == ("care", B1.isoformat(), n)
        assert focus["tip_id"] == first["tip_id"]  # the why holds too
    bank = default_bank()
    doable = [t.do for t in bank.tips_for("care", "manager") if t.do]
    actions = [f["action"] for f in focuses[:4]]
    assert all(action in doable for action in actions)
    assert actions[0] != actions[1]  # something new to do each week
    assert focuses[4]["since"] == B5.isoformat()  # a new cycle, chosen afresh


async def test_a_team_of_eight_sees_its_goal_mix_by_the_granularity_k_allows(
    rt: Runtime,
) -> None:
    team, reps = await make_team(rt, "eight", 8)
    first = {u: {GOAL_PROMPT_ID: TRUST_AND_VALUE if i < 5 else "quota"} for i, u in enumerate(reps)}
    second = {
        u: {GOAL_PROMPT_ID: TRUST_AND_VALUE if i < 3 else "quota"} for i, u in enumerate(reps)
    }
    await checkin_week(rt, team, B1, first)
    await checkin_week(rt, team, B2, second)
    await checkin_week(rt, team, B3, {u: {CARE: "4"} for u in reps})  # no goal question
    await checkin_week(rt, team, B4, {u: {CARE: "4"} for u in reps})

    one = await figures_of(rt, team, B1)  # 5 / 3: the exact split would single out the 3
    assert one["goal_mix"]["breakdown"]["cells"] == []
    assert (one["goal_mix"]["answered"], one["goal_mix"]["at_least"]) == (8, 5)
    assert "this week's exact goal split" in one["not_shown"]
    two = await figures_of(rt, team, B2)
    assert (two["goal_mix"]["at_least"], two["goal_mix"]["week_of"]) == (0, B2.isoformat())
    three = await figures_of(rt, team, B3)  # not asked: the last one shown, with its week
    assert three["goal_mix"]["week_of"] == B2.isoformat()
    four = await figures_of(rt, team, B4)  # the block is over: its answers, 5+ people a side
    mix = four["goal_mix"]
    assert (mix["weeks"], mix["start"]) == (4, B1.isoformat())
    assert mix["breakdown"]["cells"] == [[TRUST_AND_VALUE, 8], ["something_else", 8]]

    # a block once shown is shown unchanged: a later forget-me cannot be subtracted out
    async with rt.db.session() as s:
        await s.exec(delete(Response).where(col(Response.pseudonym) == who(reps[0], B1)))
    five = await figures_of(rt, team, B5)
    assert five["goal_mix"] == mix


async def test_deal_moments_too_thin_for_a_week_show_for_the_block(rt: Runtime) -> None:
    team, reps = await make_team(rt, "moments", 8)
    for i, week in enumerate((B1, B2, B3, B4)):  # two or three people a week, six in all
        await checkin_week(rt, team, week, {u: {CARE: "4"} for u in reps})
        for user in reps[i : i + 3]:
            await nudge(rt, team, week, user, "close_date_changed", {CANDOR: "4"})
    week = await figures_of(rt, team, B3)
    assert week["moments"]["weeks"] == 1 and week["moments"]["breakdown"]["total"] is None
    assert "deal moments" in week["not_shown"]
    block = (await figures_of(rt, team, B4))["moments"]
    assert (block["weeks"], block["start"]) == (4, B1.isoformat())
    assert block["breakdown"]["cells"] == [["close_date_changed", 3 + 3 + 3 + 3]]


async def test_a_block_is_counted_once_then_carried_shown_or_not(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    team, reps = await make_team(rt, "carry", 8)
    few = {u: {GOAL_PROMPT_ID: TRUST_AND_VALUE} for u in reps[:3]}  # 3 people: under k
    await checkin_week(rt, team, B1, few)
    for week in (B2, B3, B4):
        await checkin_week(rt, team, week, {u: {CARE: "4"} for u in reps})
    counts: list[tuple[int, date]] = []
    real = window.aggregate_window

    async def counting(conn: Any, people: Any) -> Any:
        counts.append((len(people), min(people)))  # each block counted: weeks, first week
        return await real(conn, people)

    monkeypatch.setattr(window, "aggregate_window", counting)
    four = await figures_of(rt, team, B4)  # the block is over: counted, and it shows nothing
    quarter = last_block(B4, 13)  # the month shows no goal mix: the quarter is tried too
    assert sorted(counts) == [(4, B1 - timedelta(weeks=4)), (4, B1), (13, quarter)]
    month = four["blocks"][0]
    assert (month["weeks"], month["start"], month["goal_mix"]) == (4, B1.isoformat(), None)
    assert "goal_mix" in month["counted"]

    # answers that would now let the block show change nothing: it was counted (and seen)
    await checkin_week(rt, team, B5, {u: {CARE: "4"} for u in reps})
    async with rt.db.session() as s:
        for user in reps[3:]:
            s.add(response_row(B2, context_for(B2), user, GOAL_PROMPT_ID, TRUST_AND_VALUE))
    counted = list(counts)
    five = await figures_of(rt, team, B5)
    assert counts == counted  # nothing counted again
    assert five["blocks"] == four["blocks"]
    assert five["goal_mix"] is None or five["goal_mix"]["weeks"] == 1


async def test_a_shown_block_figure_is_stored_once(rt: Runtime) -> None:
    team, reps = await make_team(rt, "stored", 8)
    for i, week in enumerate((B1, B2, B3, B4)):
        await checkin_week(rt, team, week, {u: {CARE: "4"} for u in reps})
        for user in reps[i : i + 3]:
            await nudge(rt, team, week, user, "close_date_changed", {CANDOR: "4"})
    digest = await digests.digest_for(rt, team, B4, publish=False)
    stored = digest.figures.stored()
    month = stored["blocks"][0]
    assert month["moments"] == SHOWN  # the digest's own moments: not a second copy
    assert stored["moments"]["weeks"] == 4
    assert Figures.from_stored(stored) == digest.figures
