"""Planning weekly check-ins: rep-local slots across time zones and DST, once per week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core import checkins, teams
from bot.core.prompts import default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import CheckinRound, Delivery, Person, Team

ZONES = {"UNY": "America/New_York", "UBER": "Europe/Berlin", "UTOK": "Asia/Tokyo"}


def test_local_slot_follows_the_wall_clock_across_dst() -> None:
    ny = ZoneInfo("America/New_York")
    before = checkins.local_slot(date(2026, 3, 2), 0, "09:00", ny)  # EST
    after = checkins.local_slot(date(2026, 3, 9), 0, "09:00", ny)  # EDT from Mar 8
    assert before == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    # a wall time that does not exist (02:30 on the spring-forward Sunday) moves forward
    gap = checkins.local_slot(date(2026, 3, 2), 6, "02:30", ny)
    assert gap.astimezone(ny).hour == 3


def test_working_time_skips_weekends() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    friday_4pm = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    remind = checkins.add_working_time(friday_4pm, timedelta(hours=24), berlin)
    assert remind.astimezone(berlin) == datetime(2026, 11, 30, 16, 0, tzinfo=berlin)  # Monday
    expire = checkins.add_working_time(friday_4pm, timedelta(days=3), berlin)
    assert expire.astimezone(berlin) == datetime(2026, 12, 2, 16, 0, tzinfo=berlin)  # Wednesday


@pytest.fixture
async def runtime(db: Database) -> Runtime:
    clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))  # Sunday before the US DST week
    settings = load_settings(TRUSTBOT_PSEUDONYM_KEY="k" * 20)
    rt = Runtime(settings=settings, db=db, clock=clock)
    await ensure_workspace(db, "T1", clock)
    await teams.create(db, "T1", "UADMIN", "sales", "C1", clock)
    await teams.add_people(db, "T1", "UADMIN", "sales", list(ZONES), teams.REP, clock)
    await teams.update(db, "T1", "UADMIN", "sales", clock, checkin_weekday=0, checkin_time="09:00")
    async with db.session() as s:
        for user, tz in ZONES.items():
            s.add(Person(workspace_id="T1", user_id=user, tz=tz))
    return rt


async def deliveries(rt: Runtime) -> dict[str, Delivery]:
    async with rt.db.session() as s:
        return {d.user_id: d for d in (await s.exec(select(Delivery))).all()}


async def test_three_time_zones_each_get_their_local_nine_am_across_dst(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    bank = default_bank()
    weeks = []
    for _ in range(2):  # the week before and the week of the US change (Mar 8)
        plans = await checkins.plan_due(runtime, bank)
        assert len(plans) == 1 and plans[0].deliveries == 3
        assert await checkins.plan_due(runtime, bank) == []  # planned once
        weeks.append(plans[0].round.id)
        clock.advance(timedelta(days=7))
    async with runtime.db.session() as s:
        rows = (await s.exec(select(Delivery).order_by(Delivery.id))).all()  # type: ignore[arg-type]
    assert len(rows) == 6
    for d in rows:
        local = d.next_attempt_at.astimezone(ZoneInfo(ZONES[d.user_id]))
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        assert d.planned_at == d.next_attempt_at
    ny = [d.next_attempt_at.hour for d in rows if d.user_id == "UNY"]
    assert ny == [14, 13]  # the UTC instant moved with the wall clock
    tokyo = [d.next_attempt_at for d in rows if d.user_id == "UTOK"]
    assert tokyo == [datetime(2026, 3, 2, 0, 0, tzinfo=UTC), datetime(2026, 3, 9, 0, 0, tzinfo=UTC)]


async def test_due_in_local_order_as_the_clock_moves(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    await checkins.plan_due(runtime, default_bank())

    async def due() -> set[str]:
        return {
            u for u, d in (await deliveries(runtime)).items() if d.next_attempt_at <= clock.now()
        }

    assert await due() == set()
    clock.set(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    assert await due() == {"UTOK"}
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert await due() == {"UTOK", "UBER"}
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    assert await due() == {"UTOK", "UBER", "UNY"}


async def test_check_in_now_and_once_per_week(runtime: Runtime) -> None:
    async with runtime.db.session() as s:
        team = (await s.exec(select(Team))).one()
    period = checkins.team_period(team, runtime.clock.now())
    plan = await checkins.plan_round(runtime, default_bank(), team, period, now=True)
    assert plan.created and plan.deliveries == 3
    assert all(
        d.next_attempt_at == runtime.clock.now() for d in (await deliveries(runtime)).values()
    )
    again = await checkins.plan_round(runtime, default_bank(), team, period, now=True)
    assert not again.created and again.round.id == plan.round.id
    async with runtime.db.session() as s:
        assert len((await s.exec(select(CheckinRound))).all()) == 1


async def test_paused_teams_and_prompt_choices(runtime: Runtime) -> None:
    await teams.update(runtime.db, "T1", "UADMIN", "sales", runtime.clock, paused=True)
    assert await checkins.plan_due(runtime, default_bank()) == []
    await teams.update(runtime.db, "T1", "UADMIN", "sales", runtime.clock, paused=False)
    (plan,) = await checkins.plan_due(runtime, default_bank())
    # five questions of the week's rotation, then the note (tests/bot/core/test_rotation.py)
    assert len(plan.round.prompt_ids) == 6
    assert plan.round.prompt_ids[-1] == "internal_trust.weekly_note"


def test_missed_slot_rule() -> None:
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    d = Delivery(
        workspace_id="T1",
        kind="checkin",
        user_id="U1",
        planned_at=now - timedelta(hours=7),
        next_attempt_at=now - timedelta(hours=7),
        created_at=now,
    )
    assert checkins.missed(d, now)
    assert not checkins.missed(d, now - timedelta(hours=2))
