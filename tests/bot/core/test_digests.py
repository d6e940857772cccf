"""The weekly digest's figures: SQL aggregates, the k rule, frozen weeks, trends and the schedule.

Data is built directly in the database (``tests/support/teams.py``), on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, event
from sqlmodel import col, select

from bot.core import digests
from bot.core.anonymity import NOT_ENOUGH, Breakdown, threshold
from bot.core.digests.figures import OVERLAP
from bot.core.prompts import GOAL_PROMPT_ID, TRUST_AND_VALUE, default_bank
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.storage import Database, sync_url
from bot.storage.models import Digest, Response, Team
from tests.support.teams import (
    BAD_NEWS,
    CARE,
    NOW,
    W1,
    W2,
    W3,
    checkin_week,
    estimate,
    make_runtime,
    make_team,
    nudge,
    response_row,
    same,
    who,
    with_members,
)


def dims(figures: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["dimension"]: d for d in figures["dimensions"]}


async def figures_of(rt: Runtime, team: Team, period: date) -> dict[str, Any]:
    return (await digests.digest_for(rt, team, period, publish=False)).figures.stored()


@pytest.fixture
def rt(db: Database) -> Runtime:
    return make_runtime(db)


# --------------------------------------------------------------------------- figures


async def test_a_team_of_six_gets_its_scores(rt: Runtime) -> None:
    team, reps = await make_team(rt, "six", 6)
    answers = same(reps, integrity__honest_every_interaction="4", care__interests_first="5")
    answers[reps[0]][CARE] = "3"
    for user in reps:
        answers[user][GOAL_PROMPT_ID] = TRUST_AND_VALUE
    await checkin_week(rt, team, W3, answers, skipped=["USNOOZED"])
    figures = await figures_of(rt, team, W3)

    assert figures["participation"] == {"asked": 6, "answered": 6}  # the skipped DM is not asked
    assert figures["k"] == 5
    integrity, care = dims(figures)["integrity"], dims(figures)["care"]
    assert (integrity["index"], integrity["people"], integrity["reason"]) == (4.0, 6, None)
    assert Breakdown.from_dict(integrity["distribution"]).shown == (("4", 6),)
    assert care["index"] == round((5 * 5 + 3) / 6, 2)
    # neither "5: 5" nor the bands "4-5: 5, 1-3: 1" may show: they would give away the "3"
    assert care["distribution"] is None
    assert "how scores spread" in figures["not_shown"]
    goal = Breakdown.from_dict(figures["goal_mix"]["breakdown"])
    assert goal.shown == ((TRUST_AND_VALUE, 6),) and goal.count("something_else") == 0
    assert figures["focus"]["dimension"] == "integrity"  # 4.0 < 4.67
    assert figures["trend"]["index"]["integrity"][-1] == 4.0


async def test_a_team_of_three_sees_every_score_suppressed_with_a_reason(rt: Runtime) -> None:
    team, reps = await make_team(rt, "three", 3)
    answers = same(
        reps,
        integrity__honest_every_interaction="2",
        goal__trust_or_else="quota",
        internal_trust__bad_news="3",
    )
    await checkin_week(rt, team, W3, answers, notes={reps[0]: ("Shared but too few", True)})
    await nudge(rt, team, W3, reps[0], "won", {"reliability.won_handover": "yes"})
    await estimate(rt, team, W3, "UMGR0001", BAD_NEWS, 80)
    figures = await figures_of(rt, team, W3)

    assert figures["participation"] == {"asked": 3, "answered": 3}  # counts are always shown
    for item in figures["dimensions"]:
        assert item["index"] is None and item["people"] is None
        assert item["reason"] == NOT_ENOUGH
    assert figures["goal_mix"] is None  # not the week, not a block, not rounded to fives
    assert figures["moments"]["breakdown"]["total"] is None
    assert figures["notes"] == {"texts": [], "reason": NOT_ENOUGH}
    assert figures["perception_gap"][0]["team_mean"] is None
    assert figures["overall"] is None
    assert "deal moments" in figures["not_shown"]
    assert figures["focus"] is None
    assert figures["trend"]["index"] == {}


async def test_k_is_never_below_three(rt: Runtime) -> None:
    team, reps = await make_team(rt, "duo", 2, k=1, notes_k=1)
    await checkin_week(rt, team, W3, same(reps, care__interests_first="5"))
    figures = await figures_of(rt, team, W3)
    assert figures["k"] == 3 and figures["notes_k"] == 3
    assert dims(figures)["care"]["reason"] == NOT_ENOUGH


async def test_notes_need_their_own_threshold_and_unshared_ones_never_show(rt: Runtime) -> None:
    team, reps = await make_team(rt, "four", 4, k=3, notes_k=5)
    notes = {reps[0]: ("We over-promise on delivery dates", True), reps[1]: ("private", False)}
    await checkin_week(rt, team, W2, same(reps, care__interests_first="4"), notes=notes)
    figures = await figures_of(rt, team, W2)
    assert dims(figures)["care"]["index"] == 4.0  # k = 3 holds for the scores ...
    assert figures["notes"] == {"texts": [], "reason": NOT_ENOUGH}  # ... not notes_k = 5

    big, people = await make_team(rt, "seven", 7, notes_k=5)
    notes = {people[0]: ("Shared thought", True), people[1]: ("Do not show this", False)}
    await checkin_week(rt, big, W2, same(people, care__interests_first="4"), notes=notes)
    figures = await figures_of(rt, big, W2)
    assert figures["notes"] == {"texts": ["Shared thought"], "reason": None}
    assert "Do not show this" not in str(figures)


async def test_the_goal_mix_hides_a_last_small_cell(rt: Runtime) -> None:
    team, reps = await make_team(rt, "goals", 6)
    answers = same(reps, goal__trust_or_else=TRUST_AND_VALUE)
    answers[reps[5]][GOAL_PROMPT_ID] = "commission"
    await checkin_week(rt, team, W3, answers)
    mix = (await figures_of(rt, team, W3))["goal_mix"]
    # not "5 + derive the 1": the week shows people rounded down to a multiple of k
    assert mix["breakdown"]["cells"] == [] and (mix["answered"], mix["at_least"]) == (6, 5)

    team2, reps2 = await make_team(rt, "goals2", 11)
    answers = same(reps2, goal__trust_or_else=TRUST_AND_VALUE)
    others = ["quota", "commission", "something_else", "quota", "quota"]
    for user, value in zip(reps2[6:], others, strict=True):
        answers[user][GOAL_PROMPT_ID] = value
    await checkin_week(rt, team2, W3, answers)
    goal = Breakdown.from_dict((await figures_of(rt, team2, W3))["goal_mix"]["breakdown"])
    assert goal.shown == ((TRUST_AND_VALUE, 6), ("something_else", 5))


async def test_deal_moments_in_aggregate(rt: Runtime) -> None:
    team, reps = await make_team(rt, "deals", 8)
    await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
    for user in reps[:7]:  # seven reflect on a moved close date, six say it is honest
        honest = "no" if user == reps[0] else "yes"
        await nudge(rt, team, W3, user, "close_date_changed", {"candor.close_date_honest": honest})
    for user in reps[1:6]:  # five people reflect on a won deal, one of them twice
        for _ in range(2 if user == reps[1] else 1):
            await nudge(rt, team, W3, user, "won", {"reliability.won_handover": "yes"})
    await nudge(rt, team, W3, reps[7], "lost", {"care.lost_best_interest": "yes"})
    figures = await figures_of(rt, team, W3)
    moments = figures["moments"]

    split = Breakdown.from_dict(moments["breakdown"])
    # "lost" is one person, so it is not shown, and it must not be derivable as the total
    # minus the rest: the smallest shown cell ("won", 6 reflections) joins it in "other"
    assert split.total == 7 + 6 + 1
    assert split.shown == (("close_date_changed", 7),)
    assert split.other == 7
    assert [d["moment"] for d in moments["details"]] == ["close_date_changed"]
    (said,) = moments["details"][0]["prompts"]
    answers = Breakdown.from_dict(said["breakdown"])
    assert answers.total == 7 and answers.shown == ()  # 6 yes / 1 no would single out the no
    assert moments["labels"]["close_date_changed"].startswith("Close date moved")
    # the check-in index ignores nudge answers (they are shown only as moments)
    assert set(dims(figures)) == {"care"}


async def test_the_perception_gap_compares_managers_with_the_team(rt: Runtime) -> None:
    team, reps = await make_team(rt, "gap", 10, managers=("UMGR0001", "UMGR0002"))
    answers = same(reps, internal_trust__bad_news="5")
    for user in reps[5:]:
        answers[user][BAD_NEWS] = "2"
    answers[reps[0]][BAD_NEWS] = "4"
    await checkin_week(rt, team, W3, answers)
    await estimate(rt, team, W3, "UMGR0001", BAD_NEWS, 4)
    await estimate(rt, team, W3, "UMGR0002", BAD_NEWS, 5)
    (gap,) = (await figures_of(rt, team, W3))["perception_gap"]
    assert gap["prompt_id"] == BAD_NEWS
    assert gap["manager_text"] == default_bank().prompt(BAD_NEWS).manager_text
    # the managers' estimate of the team's mean, beside the team's mean (10 people)
    assert (gap["managers_mean"], gap["managers_count"]) == (4.5, 2)
    assert gap["team_mean"] == round((4 * 5 + 4 + 5 * 2) / 10, 2)

    small, people = await make_team(rt, "gap2", 4)
    await checkin_week(rt, small, W3, same(people, internal_trust__bad_news="5"))
    await estimate(rt, small, W3, "UMGR0001", BAD_NEWS, 4)
    (gap,) = (await figures_of(rt, small, W3))["perception_gap"]
    assert gap["team_mean"] is None and gap["reason"] == NOT_ENOUGH  # 4 people: under k


async def test_the_coaching_focus_is_the_lowest_dimension_with_a_manager_tip(rt: Runtime) -> None:
    team, reps = await make_team(rt, "focus", 5)
    answers = same(reps, care__interests_first="4", candor__forecast_honest="2")
    await checkin_week(rt, team, W3, answers)
    focus = (await figures_of(rt, team, W3))["focus"]
    bank = default_bank()
    assert focus["dimension"] == "candor" and focus["index"] == 2.0
    tip = next(t for t in bank.tips if t.id == focus["tip_id"])
    assert tip.dimension.value == "candor" and "manager" in tip.audience
    assert focus["tip"] == tip.text and focus["seed"] == list(tip.seed)


# --------------------------------------------------------------------------- weeks


async def test_trend_and_change_across_weeks(rt: Runtime) -> None:
    team, reps = await make_team(rt, "trend", 5)
    for period, score in ((W1, "3"), (W2, "4"), (W3, "2")):
        await checkin_week(rt, team, period, same(reps, care__interests_first=score))
        figures = await figures_of(rt, team, period)
    assert figures["trend"]["periods"][-3:] == [W1.isoformat(), W2.isoformat(), W3.isoformat()]
    assert figures["trend"]["index"]["care"][-3:] == [3.0, 4.0, 2.0]
    # against the team's own baseline (the mean of the weeks before, from two of them)
    care = dims(figures)["care"]
    assert (care["baseline"], care["change"]) == (3.5, -1.5)
    assert dims(await figures_of(rt, team, W2))["care"]["baseline"] is None  # one week only
    assert dims(await figures_of(rt, team, W1))["care"]["change"] is None
    assert figures["trend"]["overall"][-3:] == [3.0, 4.0, 2.0]
    assert figures["trend"]["answered"][-3:] == [5, 5, 5]


async def test_earlier_weeks_are_frozen_before_they_appear_in_a_trend(rt: Runtime) -> None:
    team, reps = await make_team(rt, "backfill", 5)
    for period, score in ((W1, "3"), (W2, "5"), (W3, "4")):
        await checkin_week(rt, team, period, same(reps, care__interests_first=score))
    figures = await figures_of(rt, team, W3)  # W1 and W2 were never shown before
    assert figures["trend"]["index"]["care"][-3:] == [3.0, 5.0, 4.0]
    assert dims(figures)["care"]["change"] == 0.0  # 4.0 against the baseline (3 + 5) / 2
    async with rt.db.session() as s:
        stored = await s.exec(select(Digest.period_start).order_by(col(Digest.period_start)))
        assert stored.all() == [W1, W2, W3]
    w2 = await figures_of(rt, team, W2)
    assert w2["trend"]["index"]["care"][-2:] == [3.0, 5.0]


async def test_a_rerun_shows_the_figures_first_published(rt: Runtime) -> None:
    team, reps = await make_team(rt, "rerun", 6)
    await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
    first = await digests.digest_for(rt, team, W3, publish=False)  # a preview freezes too
    # later: a late answer, a forget-me, a changed k; none of it may change the week's figures
    async with rt.db.session() as s:
        s.add(response_row(W3, "checkin:late", "ULATE", CARE, "1"))
        await s.exec(delete(Response).where(col(Response.pseudonym) == who(reps[0], W3)))
        db_team = await s.get(Team, team.id)
        assert db_team is not None
        db_team.k = 3
    again = await digests.digest_for(rt, team, W3, publish=True)
    assert again.claimed
    assert again.figures == first.figures
    assert (await digests.digest_for(rt, team, W3, publish=False)).figures == first.figures


async def test_publishing_is_claimed_once(rt: Runtime) -> None:
    team, reps = await make_team(rt, "claims", 5)
    await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
    first = await digests.digest_for(rt, team, W3, publish=True)
    assert first.claimed and first.digest.channel_id == "C0SALES"
    assert not (await digests.digest_for(rt, team, W3, publish=True)).claimed
    assert first.digest.id is not None
    await digests.release(rt, first.digest.id)
    retry = await digests.digest_for(rt, team, W3, publish=True)
    assert retry.claimed
    await digests.mark_posted(rt, first.digest.id, "C0SALES", "1.000100")
    await digests.release(rt, first.digest.id)  # too late: it is posted
    done = await digests.digest_for(rt, team, W3, publish=True)
    assert not done.claimed and done.posted and done.digest.message_ts == "1.000100"


async def test_unfinished_weeks_and_non_mondays_are_refused(rt: Runtime) -> None:
    team, _ = await make_team(rt, "refuse", 5)
    with pytest.raises(digests.DigestError, match="not over"):
        await digests.digest_for(rt, team, date(2026, 11, 23), publish=False)
    with pytest.raises(digests.DigestError, match="not a Monday"):
        await digests.digest_for(rt, team, date(2026, 11, 17), publish=False)


# --------------------------------------------------------------------------- schedule


async def test_due_digests_follow_each_team_s_time_zone(db: Database) -> None:
    # Monday 23 Nov 2026, 13:59 UTC = 08:59 in New York; Berlin is already at 14:59
    rt = make_runtime(db, datetime(2026, 11, 23, 13, 59, tzinfo=UTC))
    clock = rt.clock
    assert isinstance(clock, ManualClock)
    ny, ny_reps = await make_team(rt, "ny", 5, timezone="America/New_York")
    berlin, berlin_reps = await make_team(rt, "berlin", 5, timezone="Europe/Berlin")
    quiet, _ = await make_team(rt, "quiet", 5)  # no check-in, no answers: nothing to post
    paused, paused_reps = await make_team(rt, "paused", 5)
    for team, reps in ((ny, ny_reps), (berlin, berlin_reps), (paused, paused_reps)):
        await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
    async with rt.db.session() as s:
        row = await s.get(Team, paused.id)
        assert row is not None
        row.paused = True

    due = await digests.due_digests(rt)
    assert [(d.team.name, d.period_start) for d in due] == [("berlin", W3)]
    clock.advance(timedelta(minutes=1))  # 09:00 in New York
    due = await digests.due_digests(rt)
    assert sorted((d.team.name, d.period_start) for d in due) == [("berlin", W3), ("ny", W3)]

    result = await digests.digest_for(rt, berlin, W3, publish=True)
    assert result.digest.id is not None
    await digests.mark_posted(rt, result.digest.id, "C0SALES", "1.1")
    assert [d.team.name for d in await digests.due_digests(rt)] == ["ny"]  # posted once

    clock.advance(timedelta(days=3))  # still due later in the week (the app was down)
    assert [d.team.name for d in await digests.due_digests(rt)] == ["ny"]
    clock.advance(timedelta(days=4))  # next Monday 09:00: W3's turn is over, W4 had no data
    assert await digests.due_digests(rt) == []
    assert quiet.id not in {d.team.id for d in await digests.due_digests(rt)}


async def test_the_digest_slot_is_the_team_s_weekday_and_time(db: Database) -> None:
    rt = make_runtime(db)
    team, _ = await make_team(rt, "slot", 5, timezone="America/New_York")
    team.digest_weekday, team.digest_time = 2, "17:30"  # Wednesday 17:30 after the week
    assert digests.digest_slot(team, W3) == datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    # the US leaves DST on 1 Nov 2026: the week before, 09:00 New York is 13:00 UTC
    team.digest_weekday, team.digest_time = 0, "09:00"
    assert digests.digest_slot(team, date(2026, 10, 26)) == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert digests.digest_slot(team, date(2026, 10, 19)) == datetime(
        2026, 10, 26, 13, 0, tzinfo=UTC
    )
    assert digests.latest_period(team, NOW) == W3


# --------------------------------------------------------------------------- layering


# --------------------------------------------------------------------------- across teams


async def test_two_teams_that_differ_by_one_person_show_no_figures_to_subtract(
    rt: Runtime,
) -> None:
    """The differencing attack (issue #15): x = {2,3,4}, y = x + {5}, k = 3. Were both shown,
    the target's answer would be 4·idx_y − 3·idx_x on every dimension."""
    x_reps = ["U0P2", "U0P3", "U0P4"]
    x = await with_members(rt, "x", x_reps, ["UMGRX"])
    y = await with_members(rt, "y", [*x_reps, "U0P5"], ["UMGRY"])
    answers = same([*x_reps, "U0P5"], care__interests_first="4")
    answers["U0P5"][CARE] = "1"  # the target
    # a person answers one check-in a week, whichever team's round asked: stored once
    await checkin_week(rt, y, W3, answers)
    await checkin_week(rt, x, W3, {}, asked=x_reps)
    fx, fy = await figures_of(rt, x, W3), await figures_of(rt, y, W3)
    for figures in (fx, fy):
        assert figures["withheld"] == OVERLAP and figures["dimensions"] == []
        assert figures["goal_mix"] is None and figures["focus"] is None
    # whatever could be subtracted, the target's answer is not there
    shown = [d["index"] for f in (fx, fy) for d in f["dimensions"] if d["index"] is not None]
    assert shown == []
    # participation still shows (counts reveal no answer)
    assert (fx["participation"]["answered"], fy["participation"]["answered"]) == (3, 4)


async def test_teams_far_enough_apart_show_their_figures(rt: Runtime) -> None:
    """Respondents that differ by k people or more, or not at all, are no such risk."""
    shared = [f"U0S{i}" for i in range(5)]
    a = await with_members(rt, "a", shared, [])
    b = await with_members(rt, "b", [*shared, *(f"U0B{i}" for i in range(5))], [])
    same_people = await with_members(rt, "twin", shared, [])
    people_b = [*shared, *(f"U0B{i}" for i in range(5))]
    await checkin_week(rt, b, W3, same(people_b, care__interests_first="3"))
    await checkin_week(rt, a, W3, {}, asked=shared)
    await checkin_week(rt, same_people, W3, {}, asked=shared)
    for team in (a, b, same_people):
        figures = await figures_of(rt, team, W3)
        assert figures["withheld"] is None and dims(figures)["care"]["index"] is not None


async def test_a_team_s_managers_never_count_toward_its_digest(rt: Runtime) -> None:
    """A manager who is also a rep of the team answers the check-in: the team's figures
    leave them out (and so does ``answered``)."""
    reps = [f"U0R{i}" for i in range(5)]
    team = await with_members(rt, "led", [*reps, "U0BOSS"], ["U0BOSS"])
    answers = same(reps, care__interests_first="4")
    answers["U0BOSS"] = {CARE: "1"}
    await checkin_week(rt, team, W3, answers)
    figures = await figures_of(rt, team, W3)
    assert figures["participation"]["answered"] == 5
    assert dims(figures)["care"]["index"] == 4.0 and dims(figures)["care"]["people"] == 5


async def test_shared_notes_count_only_people_who_answered_the_check_in(rt: Runtime) -> None:
    """notes_k = k = 5: one check-in respondent's shared note is not published because four
    others only answered a deal nudge (issue #15)."""
    team, reps = await make_team(rt, "nudged", 5, k=5, notes_k=5)
    await checkin_week(
        rt, team, W3, {reps[0]: {CARE: "4"}}, notes={reps[0]: ("Only me here", True)}
    )
    for user in reps[1:]:
        await nudge(rt, team, W3, user, "won", {"reliability.won_handover": "yes"})
    figures = await figures_of(rt, team, W3)
    assert figures["participation"]["answered"] == 5  # everyone answered something ...
    assert figures["notes"] == {"texts": [], "reason": NOT_ENOUGH}  # ... one the check-in


async def test_a_team_made_later_cannot_re_cut_a_past_week(rt: Runtime) -> None:
    """A week's digest counts the reps its round was planned for: a team created after the
    week (no round) has no digest of it, and a team changed since keeps the week's people."""
    team, reps = await make_team(rt, "then", 6)
    await checkin_week(rt, team, W2, same(reps, care__interests_first="4"))
    later = await with_members(rt, "later", reps[:5], [])
    figures = await figures_of(rt, later, W2)  # no round that week: nothing of theirs counts
    assert figures["participation"] == {"asked": 0, "answered": 0}
    assert figures["dimensions"] == [] and figures["goal_mix"] is None


# --------------------------------------------------------------------------- cost


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_response_queries_read_the_period_through_its_index(
    db: Database, database_url: str
) -> None:
    """Cost grows with the week's answers, not with the history: every query on ``response``
    goes through ``ix_response_period`` (SQLite's plan, checked, not timed)."""
    rt = make_runtime(db)
    team, reps = await make_team(rt, "plan", 6)
    await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
    await nudge(rt, team, W3, reps[0], "won", {"reliability.won_handover": "yes"})
    await estimate(rt, team, W3, "UMGR0001", BAD_NEWS, 70)
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if (
            statement.lstrip().upper().startswith(("SELECT", "WITH"))
            and "FROM response" in statement
        ):
            seen.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await figures_of(rt, team, W3)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert len(seen) >= 4
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        for statement, parameters in seen:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            details = " ".join(str(row[-1]) for row in plan)
            assert "ix_response_period" in details, (statement, details)
            assert "SCAN response" not in details, (statement, details)
    engine.dispose()


# --------------------------------------------------------------------------- property


PROMPTS = {
    "care.interests_first": ["1", "2", "3", "4", "5"],
    "candor.forecast_honest": ["1", "2", "3", "4", "5"],
    BAD_NEWS: ["1", "2", "3", "4", "5"],
    GOAL_PROMPT_ID: [TRUST_AND_VALUE, "quota", "commission", "something_else"],
}
MOMENTS = {
    "close_date_changed": ("candor.close_date_honest", ["yes", "no"]),
    "won": ("reliability.won_handover", ["yes", "no"]),
    "discount_requested": (
        "value_focus.discount_reason",
        [o.value for o in default_bank().prompt("value_focus.discount_reason").answer.choices()],
    ),
}
team_answers = st.fixed_dictionaries(
    {
        "k": st.integers(1, 7),
        "checkin": st.dictionaries(
            st.integers(0, 11),
            st.fixed_dictionaries({}, optional={p: st.sampled_from(v) for p, v in PROMPTS.items()}),
            max_size=12,
        ),
        "nudges": st.lists(
            st.tuples(st.integers(0, 11), st.sampled_from(sorted(MOMENTS)), st.integers(0, 5)),
            max_size=25,
        ),
        "estimate": st.booleans(),
    }
)


def _shown_cells_are_safe(
    breakdown: Mapping[str, Any], people: Mapping[str, set[str]], k: int
) -> None:
    split = Breakdown.from_dict(breakdown)
    everyone: set[str] = set().union(*people.values()) if people else set()
    if split.total is None:
        return
    assert len(everyone) >= k
    shown = dict(split.shown)
    for key in shown:
        assert len(people.get(key, set())) >= k
    hidden = set().union(*(p for key, p in people.items() if key not in shown))
    assert not 0 < len(hidden) < k


_teams = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=team_answers)
def test_random_weeks_never_show_a_figure_from_fewer_than_k_people(
    sqlite_url: str, case: dict[str, Any]
) -> None:
    """Random answers and k: every figure of the digest has at least k people behind it and
    no breakdown leaves 1..k-1 people derivable from its total."""

    async def run() -> dict[str, Any]:
        db = Database(sqlite_url)
        try:
            rt = make_runtime(db)
            n = next(_teams)
            team, reps = await make_team(rt, f"prop{n}", 12, k=case["k"], notes_k=case["k"])
            answers = {reps[i]: values for i, values in case["checkin"].items()}
            await checkin_week(rt, team, W3, answers, asked=reps)
            for i, change, choice in case["nudges"]:
                prompt_id, values = MOMENTS[change]
                value = values[choice % len(values)]
                await nudge(rt, team, W3, reps[i], change, {prompt_id: value})
            if case["estimate"]:
                await estimate(rt, team, W3, "UMGR0001", BAD_NEWS, 75)
            return await figures_of(rt, team, W3)
        finally:
            await db.dispose()

    figures = asyncio.run(run())
    k = threshold(case["k"])
    checkin = {f"p{i}": values for i, values in case["checkin"].items()}
    # the trust index: each figure over >= k people; its distribution partitions them
    for item in figures["dimensions"]:
        prompt = f"{item['dimension']}."
        answered = {p for p, v in checkin.items() if any(q.startswith(prompt) for q in v)}
        if item["index"] is not None:
            assert item["people"] == len(answered) >= k
            scores: dict[str, set[str]] = defaultdict(set)
            for p, values in checkin.items():
                mine = [int(v) for q, v in values.items() if q.startswith(prompt)]
                if mine:
                    scores[str((2 * sum(mine) + len(mine)) // (2 * len(mine)))].add(p)
            if item["distribution"] is not None:
                cells = item["distribution"]["cells"]
                if any(key in ("4-5", "1-3") for key, _ in cells):  # folded into two bands
                    scores = {
                        "4-5": scores["4"] | scores["5"],
                        "1-3": scores["1"] | scores["2"] | scores["3"],
                    }
                _shown_cells_are_safe(item["distribution"], scores, k)
        else:
            assert len(answered) < k
    if figures["overall"] is not None:  # the team index: some dimension had k people
        assert any(item["index"] is not None for item in figures["dimensions"])
    goal: dict[str, set[str]] = defaultdict(set)
    for p, values in checkin.items():
        if GOAL_PROMPT_ID in values:
            key = TRUST_AND_VALUE if values[GOAL_PROMPT_ID] == TRUST_AND_VALUE else "something_else"
            goal[key].add(p)
    mix = figures["goal_mix"]
    if mix is not None and mix["at_least"] is not None:  # people rounded down to k's multiple
        trust = len(goal[TRUST_AND_VALUE])
        assert mix["answered"] == trust + len(goal["something_else"]) >= k
        assert mix["at_least"] % k == 0 and mix["at_least"] <= trust < mix["at_least"] + k
    elif mix is not None:
        _shown_cells_are_safe(mix["breakdown"], goal, k)
    moments: dict[str, set[str]] = defaultdict(set)
    said: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for i, change, choice in case["nudges"]:
        moments[change].add(f"p{i}")
        values = MOMENTS[change][1]
        said[change][values[choice % len(values)]].add(f"p{i}")
    if figures["moments"] is not None:
        _shown_cells_are_safe(figures["moments"]["breakdown"], moments, k)
        for detail in figures["moments"]["details"]:
            assert len(moments[detail["moment"]]) >= k
            for prompt in detail["prompts"]:
                _shown_cells_are_safe(prompt["breakdown"], said[detail["moment"]], k)
    for gap in figures["perception_gap"]:
        answered_it = {p for p, values in checkin.items() if BAD_NEWS in values}
        if gap["team_mean"] is not None:
            assert len(answered_it) >= k
    assert "UPROP" not in str(figures)
