"""The schema, on SQLite and on the machine's real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

import bot.storage.slack_tables  # noqa: F401  (their tables are ours to migrate too)
from bot.core.seen_events import first_sighting, forget_old_events
from bot.core.workspaces import ensure_workspace
from bot.runtime.clock import ManualClock
from bot.storage import Database, sync_url
from bot.storage.migrate import pending, upgrade
from bot.storage.models import DealEvent, Response, Team, Workspace


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []
    current, head = pending(database_url)
    assert current == head


def test_migrate_is_idempotent(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    upgrade(sqlite_url)
    assert pending(sqlite_url)[0] == pending(sqlite_url)[1]


async def test_sqlite_runs_in_wal_mode_with_busy_timeout(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await db.dispose()


async def test_instants_round_trip_as_utc(db: Database, clock: ManualClock) -> None:
    await ensure_workspace(db, "T1", clock, name="Acme")
    async with db.session() as s:
        ws = await s.get(Workspace, "T1")
        assert ws is not None
        assert ws.installed_at == clock.now()
        assert ws.installed_at.tzinfo is not None


async def test_ensure_workspace_is_idempotent(db: Database, clock: ManualClock) -> None:
    for _ in range(3):
        await ensure_workspace(db, "T1", clock)
    async with db.session() as s:
        assert len((await s.exec(select(Workspace))).all()) == 1


async def test_deal_events_unique_per_source_and_event_id(db: Database, clock: ManualClock) -> None:
    await ensure_workspace(db, "T1", clock)

    def event(source: str) -> DealEvent:
        return DealEvent(
            workspace_id="T1",
            source=source,
            event_id="crm-1",
            deal_id="D-1",
            change="won",
            occurred_at=clock.now(),
            received_at=clock.now(),
        )

    async with db.session() as s:
        s.add(event("webhook"))
        s.add(event("hubspot"))
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(event("webhook"))


async def test_response_changes_in_place_not_twice(db: Database, clock: ManualClock) -> None:
    await ensure_workspace(db, "T1", clock)
    async with db.session() as s:
        team = Team(workspace_id="T1", name="sales", channel_id="C1", created_at=clock.now())
        s.add(team)
    assert team.id is not None
    row = {
        "workspace_id": "T1",
        "team_id": team.id,
        "period_start": date(2026, 11, 23),
        "context": "round:1",
        "pseudonym": "p" * 64,
        "prompt_id": "goal.trust_or_else",
        "dimension": "goal",
        "value": "trust",
        "answered_at": clock.now(),
    }
    async with db.session() as s:
        s.add(Response(**row))
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(Response(**row))


async def test_foreign_keys_are_enforced(db: Database, clock: ManualClock) -> None:
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(Team(workspace_id="T-missing", name="x", channel_id="C1", created_at=clock.now()))


async def test_event_seen_once_even_across_restart(database_url: str, clock: ManualClock) -> None:
    first = Database(database_url)
    assert await first_sighting(first, "Ev1", clock) is True
    assert await first_sighting(first, "Ev1", clock) is False
    await first.dispose()
    restarted = Database(database_url)  # a new process would build a new engine
    assert await first_sighting(restarted, "Ev1", clock) is False
    assert await first_sighting(restarted, "Ev2", clock) is True
    clock.advance(timedelta(days=4))
    assert await forget_old_events(restarted, clock) == 2
    await restarted.dispose()


async def test_ping(db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert await db.ping() is True
    gone = Database("postgresql://nobody@127.0.0.1:1/none")
    assert await gone.ping() is False
    await gone.dispose()


def test_naive_datetimes_are_refused(sqlite_url: str) -> None:
    from bot.storage.models import UTCDateTime

    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)
    assert UTCDateTime().process_result_value(datetime(2026, 1, 1), None) == datetime(
        2026, 1, 1, tzinfo=UTC
    )
