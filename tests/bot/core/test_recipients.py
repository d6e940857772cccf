"""Whether an outbox row still goes out: snooze, opt-out, pause, a missed slot, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.core import checkins, people, teams
from bot.core.prompts import default_bank
from bot.core.recipients import Go, Hold, decide
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import Delivery, Team

KEY = "compose-test-key-0123456789"


@pytest.fixture
async def runtime(db: Database) -> Runtime:
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # a Monday
    rt = Runtime(settings=load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY), db=db, clock=clock)
    await ensure_workspace(db, "T1", clock)
    await teams.create(db, "T1", "UADMIN", "sales", "C1", clock)
    await teams.add_people(db, "T1", "UADMIN", "sales", ["U1"], teams.REP, clock)
    await teams.update(db, "T1", "UADMIN", "sales", clock, checkin_weekday=0, checkin_time="09:00")
    async with db.session() as s:
        team = (await s.exec(select(Team))).one()
    await checkins.plan_round(rt, default_bank(), team, checkins.team_period(team, clock.now()))
    return rt


async def the_delivery(rt: Runtime) -> Delivery:
    async with rt.db.session() as s:
        return (await s.exec(select(Delivery))).one()


async def test_due_delivery_goes(runtime: Runtime) -> None:
    decision = await decide(runtime, await the_delivery(runtime))
    assert isinstance(decision, Go) and decision.round is not None


async def test_snoozed_and_opted_out_reps_get_nothing(runtime: Runtime) -> None:
    await people.snooze(runtime.db, "T1", "U1", 2, runtime.clock)
    decision = await decide(runtime, await the_delivery(runtime))
    assert isinstance(decision, Hold) and decision.reason.startswith("snoozed until")
    await people.set_opted_out(runtime.db, runtime.pseudonyms, "T1", "U1", True)
    assert await decide(runtime, await the_delivery(runtime)) == Hold("opted out")


async def test_paused_team_holds(runtime: Runtime) -> None:
    await teams.update(runtime.db, "T1", "UADMIN", "sales", runtime.clock, paused=True)
    assert await decide(runtime, await the_delivery(runtime)) == Hold("team sales is paused")


async def test_missed_slot_is_skipped_with_the_reason(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))  # 5 h after the slot: still sent
    assert isinstance(await decide(runtime, await the_delivery(runtime)), Go)
    clock.advance(timedelta(hours=2))  # 7 h after: the app was down too long
    decision = await decide(runtime, await the_delivery(runtime))
    assert isinstance(decision, Hold) and decision.reason.startswith("missed slot 2026-11-23 09:00")


async def test_expired_before_sending(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(days=10))
    decision = await decide(runtime, await the_delivery(runtime))
    assert decision == Hold("closed before it could be sent")
