"""Each rep's recent deals, sealed at rest (the check-in's deal question), on SQLite and the
real PostgreSQL: what a dump without the key shows of them, and what forgetting removes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

from bot.core import checkins, outbox, privacy, recent_deals, rotation, teams
from bot.core.prompts import default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database, sync_url
from bot.storage.models import Delivery, RecentDeals, Team

KEY = "k" * 20
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
async def runtime(db: Database) -> Runtime:
    clock = ManualClock(NOW)
    rt = Runtime(settings=load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY), db=db, clock=clock)
    await ensure_workspace(db, "T1", clock)
    await teams.create(db, "T1", "UADMIN", "sales", "C1", clock)
    await teams.add_people(db, "T1", "UADMIN", "sales", ["UREP1"], teams.REP, clock)
    return rt


async def _record(
    runtime: Runtime, touches: dict[str, list[recent_deals.Touch]], at: datetime = NOW
) -> None:
    async with runtime.db.engine.begin() as connection:
        await connection.run_sync(lambda sync: recent_deals.record(sync, KEY, "T1", touches, at))


async def _dump(runtime: Runtime) -> str:
    """Every value of the two places the record lives, as a dump would show them."""
    engine = create_engine(sync_url(runtime.db.url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT * FROM recentdeals")).all()
            rows += connection.execute(text("SELECT anchor FROM delivery")).all()
    finally:
        engine.dispose()
    return repr(rows)


async def test_a_dump_shows_no_deal_no_count_and_no_instant(runtime: Runtime) -> None:
    await _record(runtime, {"UREP1": [("D-4242", "Acme renewal")] * 3}, NOW - timedelta(hours=5))
    async with runtime.db.session() as s:
        team = (await s.exec(select(Team))).one()
    plan = await checkins.plan_round(runtime, default_bank(), team, NOW.date(), now=True)
    assert plan.round.id is not None
    assert await rotation.anchor_deal(runtime, "T1", "UREP1", plan.round.id) == "Acme renewal"
    dumped = await _dump(runtime)
    for clear in ("D-4242", "Acme renewal", "2026-11-23", "03:00", "gAAAA"):  # gAAAA: Fernet
        assert clear not in dumped
    async with runtime.db.session() as s:
        [row] = (await s.exec(select(RecentDeals))).all()
    here = "recentdeals:T1:UREP1"
    assert recent_deals.unseal("another key of 20 chars", row.sealed, here) is None
    assert recent_deals.unseal(KEY, row.sealed, "recentdeals:T1:UREP2") is None  # moved rows
    three_am = int((NOW - timedelta(hours=5)).timestamp())
    assert recent_deals.unseal(KEY, row.sealed, here) == {
        "D-4242": ["Acme renewal", [three_am] * 3]
    }
    assert str(three_am) not in dumped


def test_the_sealed_length_says_little() -> None:
    one = recent_deals.seal(KEY, {"D1": ["Acme", [1795000000]]}, "here")
    five = recent_deals.seal(KEY, {f"D{n}": ["Acme", [1795000000]] for n in range(5)}, "here")
    assert len(one) == len(five)  # both under one padding block
    assert recent_deals.seal(KEY, "x", "here") != recent_deals.seal(KEY, "x", "here")  # nonces


async def test_the_record_keeps_a_week_and_a_bounded_size(runtime: Runtime) -> None:
    await _record(runtime, {"UREP1": [("DOLD", "Old")]}, NOW - recent_deals.KEPT)
    for n in range(100):  # a deal at a time, the first touched again each time
        await _record(
            runtime,
            {"UREP1": [(f"D{n}", "N" * 500), ("D0", "N" * 500)]},
            NOW - timedelta(minutes=100 - n),
        )
    async with runtime.db.session() as s:
        [row] = (await s.exec(select(RecentDeals))).all()
    kept = recent_deals.unseal(KEY, row.sealed, "recentdeals:T1:UREP1")
    assert "DOLD" not in kept
    assert len(kept) == recent_deals.MAX_DEALS
    assert len(kept["D0"][1]) == recent_deals.MAX_TOUCHES
    assert all(len(name) == recent_deals.NAME_CHARS for name, _ in kept.values())


async def test_a_closed_check_in_and_forget_me_leave_nothing(runtime: Runtime) -> None:
    await _record(runtime, {"UREP1": [("D1", "Acme renewal")]}, NOW - timedelta(hours=1))
    async with runtime.db.session() as s:
        team = (await s.exec(select(Team))).one()
    plan = await checkins.plan_round(runtime, default_bank(), team, NOW.date(), now=True)
    assert plan.round.id is not None
    assert await rotation.anchor_deal(runtime, "T1", "UREP1", plan.round.id) == "Acme renewal"
    async with runtime.db.session() as s:
        [dm] = (await s.exec(select(Delivery).where(Delivery.round_id == plan.round.id))).all()
    assert dm.anchor is not None and dm.id is not None
    await outbox.forget_recipients(runtime.db, [dm.id])
    async with runtime.db.session() as s:
        closed = await s.get(Delivery, dm.id)
    assert closed is not None and closed.anchor is None
    await privacy.forget(runtime, "T1", "UREP1")
    async with runtime.db.session() as s:
        assert (await s.exec(select(RecentDeals))).all() == []


async def test_every_check_in_carries_a_sealed_deal_of_one_size(runtime: Runtime) -> None:
    """A row does not tell, by being empty or shorter, which reps touched a deal."""
    await teams.add_people(runtime.db, "T1", "UADMIN", "sales", ["UREP2"], teams.REP, runtime.clock)
    await _record(runtime, {"UREP1": [("D1", "A" * recent_deals.NAME_CHARS)]}, NOW)
    async with runtime.db.session() as s:
        team = (await s.exec(select(Team))).one()
    plan = await checkins.plan_round(runtime, default_bank(), team, NOW.date(), now=True)
    async with runtime.db.session() as s:
        dms = (await s.exec(select(Delivery).where(Delivery.round_id == plan.round.id))).all()
    assert {dm.user_id for dm in dms} == {"UREP1", "UREP2"}
    assert len({len(dm.anchor or "") for dm in dms}) == 1
    named = {dm.user_id: await rotation.delivery_deal(runtime, dm) for dm in dms}
    assert named == {"UREP1": "A" * recent_deals.NAME_CHARS, "UREP2": None}
