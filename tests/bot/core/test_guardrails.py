"""Nudge guardrails: daily cap, per-deal gap, working hours, snooze, opt-out, pause."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core import deals, guardrails, outbox, people, recipients, teams
from bot.core.guardrails import Limits, NotPlanned
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.storage import Database
from bot.storage.models import DeliveryStatus, Person, Team
from tests.support.deals import (
    LONDON,
    NEW_YORK,
    WS,
    accept,
    deals_runtime,
    no_lookup,
    nudges,
    update,
)

LONDON_TZ = ZoneInfo("Europe/London")  # UTC+0 in November
NY_TZ = ZoneInfo("America/New_York")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the clock fixture's start


def limits(**changes: Any) -> Limits:
    base = {
        "per_day": 3,
        "gap": timedelta(hours=24),
        "work_start": time(9, 0),
        "work_end": time(18, 0),
        "tz": LONDON_TZ,
    }
    return Limits(**{**base, **changes})


def at(day: int, hour: int, minute: int = 0, tz: ZoneInfo = LONDON_TZ) -> datetime:
    """``hour:minute`` rep-local on November ``day`` 2026, as a UTC instant."""
    return datetime(2026, 11, day, hour, minute, tzinfo=tz).astimezone(UTC)


# --------------------------------------------------------------------------- pure rules


def test_the_window_is_the_reps_working_hours_on_weekdays() -> None:
    assert guardrails.window(date(2026, 11, 23), limits()) == (at(23, 9), at(23, 18))
    assert guardrails.window(date(2026, 11, 28), limits()) is None  # Saturday
    assert guardrails.in_working_hours(at(23, 12), limits())
    assert not guardrails.in_working_hours(at(23, 18), limits())
    assert not guardrails.in_working_hours(at(28, 12), limits())


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(23, 12), at(23, 12)),  # in hours: now
        (at(23, 7, 30), at(23, 9)),  # before work: this morning
        (at(23, 18, 30), at(24, 9)),  # after work: tomorrow morning
        (at(27, 18, 0), at(30, 9)),  # Friday evening: Monday
        (at(28, 12), at(30, 9)),  # Saturday: Monday
    ],
)
def test_next_window(now: datetime, expected: datetime) -> None:
    assert guardrails.next_window(now, limits()) == expected


def test_next_window_follows_the_wall_clock_across_dst() -> None:
    ny = limits(tz=NY_TZ)
    friday_evening = datetime(2026, 10, 30, 19, 0, tzinfo=NY_TZ)  # EDT; clocks go back Nov 1
    monday = guardrails.next_window(friday_evening.astimezone(UTC), ny)
    assert monday == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert monday.astimezone(NY_TZ).hour == 9


def test_a_window_ending_before_it_starts_runs_to_midnight() -> None:
    late = limits(work_start=time(20, 0), work_end=time(2, 0))
    assert guardrails.window(date(2026, 11, 23), late) == (at(23, 20), at(24, 0))


def test_malformed_hours_fall_back_to_the_defaults() -> None:
    assert guardrails.parse_hhmm("25:99", time(9, 0)) == time(9, 0)
    assert guardrails.parse_hhmm("nine", time(9, 0)) == time(9, 0)
    assert guardrails.parse_hhmm("07:30", time(9, 0)) == time(7, 30)


def test_the_daily_cap_moves_a_nudge_to_the_next_working_day() -> None:
    monday = [at(23, 9), at(23, 10), at(23, 11)]
    assert guardrails.choose_slot(at(23, 12), limits(), planned=monday) == at(24, 9)
    assert guardrails.choose_slot(at(23, 12), limits(), planned=monday[:2]) == at(23, 12)
    tuesday = [at(24, 9), at(24, 9), at(24, 9)]
    assert guardrails.choose_slot(at(23, 12), limits(), planned=monday + tuesday) == at(25, 9)
    friday = [at(27, 9)] * 3
    assert guardrails.choose_slot(at(27, 12), limits(), planned=friday) == at(30, 9)
    assert guardrails.choose_slot(at(23, 12), limits(per_day=1), planned=[at(23, 9)]) == at(24, 9)


def test_one_nudge_per_deal_per_gap() -> None:
    assert guardrails.choose_slot(at(23, 10), limits(), same_deal=[at(23, 9)]) == at(24, 9)
    assert guardrails.choose_slot(at(23, 17, 30), limits(), same_deal=[at(23, 17)]) == at(24, 17)
    four_hours = limits(gap=timedelta(hours=4))
    # the gap ends after work: the next morning
    assert guardrails.choose_slot(at(23, 15, 30), four_hours, same_deal=[at(23, 15)]) == at(24, 9)
    assert guardrails.choose_slot(at(23, 10), four_hours, same_deal=[at(23, 9)]) == at(23, 13)
    # a nudge about the deal already planned for later also keeps the gap
    assert guardrails.choose_slot(at(23, 10), four_hours, same_deal=[at(23, 12)]) == at(23, 16)
    assert guardrails.choose_slot(at(23, 10), limits(gap=timedelta(0)), same_deal=[at(23, 9)]) == (
        at(23, 10)
    )


def test_gap_and_cap_together() -> None:
    slot = guardrails.choose_slot(
        at(23, 10),
        limits(),
        planned=[at(24, 9), at(24, 9), at(24, 9), at(23, 9)],
        same_deal=[at(23, 9)],
    )
    assert slot == at(25, 9)  # the gap points at Tuesday, which is full


def test_no_slot_within_a_week_means_none() -> None:
    full = [at(day, 9) for day in (23, 24, 25, 26, 27, 30) for _ in range(3)]
    assert guardrails.choose_slot(at(23, 9), limits(), planned=full) is None
    assert guardrails.choose_slot(at(23, 9), limits(), planned=full[:-1]) == at(30, 9)
    eight_days = guardrails.choose_slot(at(23, 9), limits(), planned=full, horizon=timedelta(8))
    assert eight_days == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def rep_state(planned: list[datetime], by_deal: dict[str, list[datetime]]) -> guardrails.RepState:
    team = Team(workspace_id=WS, name="sales", channel_id="C1", timezone="Europe/London")
    return guardrails.RepState(
        user_id=LONDON,
        team=team,
        person=None,
        availability=recipients.Availability(),
        planned=planned,
        by_deal=by_deal,
    )


def counting_searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    searches: list[int] = []
    search = guardrails.choose_slot

    def counted(*args: Any, **kwargs: Any) -> datetime | None:
        searches.append(1)
        return search(*args, **kwargs)

    monkeypatch.setattr(guardrails, "choose_slot", counted)
    return searches


def test_a_rep_with_a_full_week_costs_one_search_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the daily cap leaves no slot, every further deal of the batch, with earlier
    nudges of its own or not, is skipped without searching the week again."""
    searches = counting_searches(monkeypatch)
    full = [at(day, 9) for day in (23, 24, 25, 26, 27, 30) for _ in range(3)]
    state = rep_state(list(full), {"D-1": full[:1], "D-2": full[1:2]})
    decisions = [state.plan(f"D-{n % 2 + 1}", at(23, 9)) for n in range(40)]
    assert {d.skip for d in decisions} == {NotPlanned.BACKLOG}
    assert len(searches) == 1


def test_a_slot_taken_in_the_batch_counts_for_the_next_decision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    searches = counting_searches(monkeypatch)
    full = [at(day, 9) for day in (23, 24, 25, 26, 27, 30) for _ in range(3)]
    state = rep_state(full[:-1], {})  # one slot left: Monday the 30th
    first, second = state.plan("D-A", at(23, 9)), state.plan("D-B", at(23, 9))
    assert first.send_at == at(30, 9)
    assert second.skip is NotPlanned.BACKLOG  # the cap counts the slot just taken
    assert len(searches) == 2


def test_no_nudges_when_the_team_allows_none() -> None:
    with pytest.raises(ValueError):
        guardrails.choose_slot(at(23, 10), limits(per_day=0))


# --------------------------------------------------------------------------- in the database


@pytest.fixture
async def runtime(db: Database, clock: ManualClock) -> Runtime:
    return await deals_runtime(db, clock)


async def set_team(rt: Runtime, name: str = "sales", **fields: Any) -> None:
    async with rt.db.session() as s:
        team = await teams.find(s, WS, name)
        for key, value in fields.items():
            setattr(team, key, value)
        s.add(team)


async def deal_event(rt: Runtime, event_id: str, **changes: Any) -> str:
    """Accept and process one update; its final status."""
    [deal_event_id] = await accept(rt, update(event_id, **changes))
    return await deals.process_event(rt, deal_event_id, no_lookup)


async def slots(rt: Runtime) -> list[datetime]:
    return [d.next_attempt_at for d in await nudges(rt)]


async def sent(rt: Runtime) -> None:
    """The outbox delivers every nudge pending (one that waits would be superseded by the
    next update about its deal, and hold no slot)."""
    for row in await nudges(rt):
        if row.status == DeliveryStatus.PENDING and row.id is not None:
            await outbox.mark_sent(rt.db, row.id, "D1", str(row.id), rt.clock)


def moved(rt: Runtime) -> ManualClock:
    assert isinstance(rt.clock, ManualClock)
    return rt.clock


async def test_at_most_three_nudges_per_rep_per_day(runtime: Runtime) -> None:
    statuses = [await deal_event(runtime, f"e{n}", deal_id=f"D-{n}") for n in range(5)]
    assert statuses == ["nudged"] * 3 + ["deferred"] * 2
    assert await slots(runtime) == [MONDAY_9] * 3 + [at(24, 9)] * 2
    moved(runtime).set(at(24, 10))  # Tuesday: two are planned already, one more fits
    assert await deal_event(runtime, "e5", deal_id="D-5") == "nudged"
    assert await deal_event(runtime, "e6", deal_id="D-6") == "deferred"
    assert (await slots(runtime))[-1] == at(25, 9)


async def test_the_daily_cap_is_per_rep_and_per_team(runtime: Runtime) -> None:
    await set_team(runtime, nudges_per_day=1)
    assert await deal_event(runtime, "a", deal_id="D-1") == "nudged"
    assert await deal_event(runtime, "b", deal_id="D-2") == "deferred"
    moved(runtime).set(at(23, 15))  # New York's morning: their own allowance
    assert await deal_event(runtime, "c", deal_id="D-3", rep_user_id=NEW_YORK) == "nudged"


async def test_one_nudge_per_deal_per_24_hours(runtime: Runtime) -> None:
    assert await deal_event(runtime, "a", deal_id="D-1") == "nudged"
    await sent(runtime)
    moved(runtime).set(at(23, 11))
    assert await deal_event(runtime, "b", deal_id="D-1") == "deferred"
    assert await deal_event(runtime, "c", deal_id="D-2") == "nudged"  # another deal is fine
    assert await slots(runtime) == [at(23, 9), at(24, 9), at(23, 11)]
    moved(runtime).set(at(24, 9))
    await sent(runtime)
    moved(runtime).set(at(25, 9, 30))  # a day after the deferred one
    assert await deal_event(runtime, "d", deal_id="D-1") == "nudged"


async def test_a_flood_is_deferred_for_a_week_then_skipped(runtime: Runtime) -> None:
    await set_team(runtime, nudges_per_day=1)
    statuses = [await deal_event(runtime, f"f{n}", deal_id=f"D-{n}") for n in range(7)]
    assert statuses == ["nudged"] + ["deferred"] * 5 + ["skipped"]
    assert await slots(runtime) == [at(day, 9) for day in (23, 24, 25, 26, 27, 30)]


async def test_the_gap_is_configurable(runtime: Runtime) -> None:
    await set_team(runtime, nudge_gap_hours=2)
    assert await deal_event(runtime, "a", deal_id="D-1") == "nudged"
    await sent(runtime)
    assert await deal_event(runtime, "b", deal_id="D-1") == "deferred"
    assert (await slots(runtime))[-1] == at(23, 11)


async def test_only_in_working_hours_of_the_reps_time_zone(runtime: Runtime) -> None:
    moved(runtime).set(at(23, 19))  # 19:00 in London, 14:00 in New York
    assert await deal_event(runtime, "a", deal_id="D-1") == "deferred"
    assert await deal_event(runtime, "b", deal_id="D-2", rep_user_id=NEW_YORK) == "nudged"
    assert await slots(runtime) == [at(24, 9), at(23, 19)]


async def test_weekends_wait_for_monday(runtime: Runtime) -> None:
    moved(runtime).set(at(28, 11))  # Saturday
    assert await deal_event(runtime, "a") == "deferred"
    assert await slots(runtime) == [at(30, 9)]
    moved(runtime).set(at(30, 9))
    assert await deal_event(runtime, "b", deal_id="D-2") == "nudged"


async def test_working_hours_are_per_team_and_the_zone_falls_back_to_the_team(
    runtime: Runtime,
) -> None:
    await set_team(runtime, work_start="07:30", work_end="12:00", timezone="Asia/Tokyo")
    await teams.add_people(
        runtime.db, WS, "UADMIN", "sales", ["U0NOZONE"], teams.REP, runtime.clock
    )
    moved(runtime).set(at(23, 12, 30))
    assert await deal_event(runtime, "a") == "deferred"  # after 12:00 in London
    # no Person row: the team's zone (Tokyo, where it is 21:30)
    assert await deal_event(runtime, "b", rep_user_id="U0NOZONE") == "deferred"
    tokyo = ZoneInfo("Asia/Tokyo")
    assert await slots(runtime) == [at(24, 7, 30), at(24, 7, 30, tz=tokyo)]


async def test_none_to_a_snoozed_rep_until_the_snooze_ends(runtime: Runtime) -> None:
    await people.snooze(runtime.db, WS, LONDON, 2, runtime.clock)
    assert await deal_event(runtime, "a") == "skipped"
    assert await nudges(runtime) == []
    moved(runtime).advance(timedelta(days=2, minutes=1))
    assert await deal_event(runtime, "b") == "nudged"


async def test_none_to_an_opted_out_rep(runtime: Runtime) -> None:
    await people.set_opted_out(runtime.db, runtime.pseudonyms, WS, LONDON, True)
    assert await deal_event(runtime, "a") == "skipped"
    await people.set_opted_out(runtime.db, runtime.pseudonyms, WS, LONDON, False)
    assert await deal_event(runtime, "b") == "nudged"


async def test_the_opt_out_memory_alone_is_enough(runtime: Runtime) -> None:
    await people.set_opted_out(runtime.db, runtime.pseudonyms, WS, LONDON, True)
    async with runtime.db.session() as s:  # forget-me deleted the person row
        person = await s.get(Person, (WS, LONDON))
        assert person is not None
        await s.delete(person)
    assert await deal_event(runtime, "a") == "skipped"


async def test_none_for_a_paused_team(runtime: Runtime) -> None:
    await teams.update(runtime.db, WS, "UADMIN", "sales", runtime.clock, paused=True)
    assert await deal_event(runtime, "a") == "skipped"
    await teams.update(runtime.db, WS, "UADMIN", "sales", runtime.clock, paused=False)
    assert await deal_event(runtime, "b") == "nudged"


async def test_none_when_the_team_allows_none(runtime: Runtime) -> None:
    await set_team(runtime, nudges_per_day=0)
    assert await deal_event(runtime, "a") == "skipped"


async def test_a_rep_in_several_teams_follows_the_first(runtime: Runtime) -> None:
    await teams.create(runtime.db, WS, "UADMIN", "enterprise", "C2", runtime.clock)
    await teams.add_people(
        runtime.db, WS, "UADMIN", "enterprise", [LONDON], teams.REP, runtime.clock
    )
    await set_team(runtime, "enterprise", nudges_per_day=1, paused=True)
    assert await deal_event(runtime, "a", deal_id="D-1") == "nudged"  # sales: not paused
    assert await deal_event(runtime, "b", deal_id="D-2") == "nudged"  # sales: 3 a day
    await teams.remove_people(runtime.db, WS, "UADMIN", "sales", [LONDON], runtime.clock)
    assert await deal_event(runtime, "c", deal_id="D-3") == "skipped"  # now enterprise


async def test_a_planned_nudge_is_checked_again_before_posting(runtime: Runtime) -> None:
    """The rule that planned the nudge decides again when the outbox is about to post it."""
    await deal_event(runtime, "a")
    [delivery] = await nudges(runtime)
    assert await recipients.decide(runtime, delivery) == recipients.Go(None)
    await people.snooze(runtime.db, WS, LONDON, 1, runtime.clock)
    held = await recipients.decide(runtime, delivery)
    assert isinstance(held, recipients.Hold) and held.reason.startswith("snoozed until")
    moved(runtime).advance(timedelta(days=1, seconds=1))
    await teams.update(runtime.db, WS, "UADMIN", "sales", runtime.clock, paused=True)
    assert await recipients.decide(runtime, delivery) == recipients.Hold("team sales is paused")
    await teams.update(runtime.db, WS, "UADMIN", "sales", runtime.clock, paused=False)
    await people.set_opted_out(runtime.db, runtime.pseudonyms, WS, LONDON, True)
    assert await recipients.decide(runtime, delivery) == recipients.Hold("opted out")
    await people.set_opted_out(runtime.db, runtime.pseudonyms, WS, LONDON, False)
    await teams.remove_people(runtime.db, WS, "UADMIN", "sales", [LONDON], runtime.clock)
    assert await recipients.decide(runtime, delivery) == recipients.Hold("not a rep")
