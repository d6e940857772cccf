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


def _answers_at_0008(url: str, key: str) -> None:
    """A database as 0008 left it: a team, two reps, answers under the old stable pseudonyms
    in two rounds of one week (the rep in two teams), a note, a closed delivery, a planned
    deal event that still names its rep."""
    from bot.runtime.pseudonyms import pseudonym

    engine = create_engine(sync_url(url))
    now = "2026-11-20 10:00:00"
    with engine.begin() as conn:
        run = conn.execute
        run(
            text("INSERT INTO workspace (id, name, active, installed_at) VALUES ('T1', '', 1, :n)"),
            {"n": now},
        ) if url.startswith("sqlite") else run(
            text(
                "INSERT INTO workspace (id, name, active, installed_at) VALUES ('T1', '', true, :n)"
            ),
            {"n": now},
        )
        for team_id, name in ((1, "a"), (2, "b")):
            run(
                text(
                    "INSERT INTO team (id, workspace_id, name, channel_id, checkin_weekday,"
                    " checkin_time, digest_weekday, digest_time, timezone, k, notes_k,"
                    " reminder_after_hours, expire_after_days, nudges_per_day, nudge_gap_hours,"
                    " work_start, work_end, paused, created_at) VALUES (:i, 'T1', :n, 'C1', 4,"
                    " '16:00', 0, '09:00', 'UTC', 5, 5, 24, 3, 3, 24, '09:00', '18:00', :f, :t)"
                ),
                {"i": team_id, "n": name, "f": False, "t": now},
            )
            run(
                text(
                    "INSERT INTO checkinround (id, workspace_id, team_id, period_start, period_end,"
                    " prompt_ids, status, created_at) VALUES (:i, 'T1', :i, '2026-11-16',"
                    " '2026-11-22', '[]', 'planned', :t)"
                ),
                {"i": team_id, "t": now},
            )
        for team_id, user in ((1, "U0ANA"), (1, "U0BEN"), (2, "U0ANA")):
            run(
                text(
                    "INSERT INTO member (workspace_id, team_id, user_id, role, added_at)"
                    " VALUES ('T1', :t, :u, 'rep', :n)"
                ),
                {"t": team_id, "u": user, "n": now},
            )
        for n, (team_id, user, value) in enumerate(
            ((1, "U0ANA", 4), (2, "U0ANA", 2), (1, "U0BEN", 5), (1, "U0GONE", 1))
        ):
            run(
                text(
                    "INSERT INTO response (id, workspace_id, team_id, period_start, context,"
                    " pseudonym, prompt_id, dimension, value, score, answered_at) VALUES (:i,"
                    " 'T1', :t, '2026-11-16', :c, :p, 'care.interests_first', 'care', :v, :s, :n)"
                ),
                {
                    "i": n + 1,
                    "t": team_id,
                    "c": f"round:{team_id}",
                    "p": pseudonym(key, "T1", user),
                    "v": str(value),
                    "s": value,
                    "n": now,
                },
            )
        run(
            text(
                "INSERT INTO note (workspace_id, team_id, period_start, context, pseudonym, text,"
                " shared, written_at) VALUES ('T1', 1, '2026-11-16', 'round:1', :p, 'hi', :s, :n)"
            ),
            {"p": pseudonym(key, "T1", "U0BEN"), "s": True, "n": now},
        )
        run(
            text(
                "INSERT INTO delivery (workspace_id, kind, round_id, user_id, status, attempts,"
                " next_attempt_at, channel_id, message_ts, sent_at, expires_at, created_at)"
                " VALUES ('T1', 'checkin', 1, 'U0BEN', 'expired', 1, :n, 'D0BEN', '1.2', :n, :n,"
                " :n)"
            ),
            {"n": now},
        )
        run(
            text(
                "INSERT INTO dealevent (workspace_id, source, event_id, deal_id, deal_name, change,"
                " rep_user_id, rep_email, status, occurred_at, received_at) VALUES ('T1',"
                " 'webhook', 'e1', 'D-1', 'Acme', 'won', 'U0ANA', 'ana@x.io', 'nudged', :n, :n)"
            ),
            {"n": now},
        )
    engine.dispose()


def test_0009_re_keys_answers_to_weekly_pseudonyms_and_forgets_what_links_them(
    empty_database_url: str,
) -> None:
    """Issue #15's migration, on a database with answers: every answer moves to its person's
    pseudonym of the week (the rep in two teams keeps one answer a week), check-in contexts
    stop naming the round, closed deliveries and planned deal events forget their person, and
    without the key nothing is changed."""
    from bot.runtime.pseudonyms import Pseudonyms

    key = "migration-test-key-0123456789"
    upgrade(empty_database_url, "0008")
    _answers_at_0008(empty_database_url, key)
    with pytest.raises(RuntimeError, match="TRUSTBOT_PSEUDONYM_KEY"):
        upgrade(empty_database_url)
    assert pending(empty_database_url)[0] == "0008"  # refused: nothing changed
    upgrade(empty_database_url, pseudonym_key=key)
    weekly = Pseudonyms(key).weekly
    week = date(2026, 11, 16)
    engine = create_engine(sync_url(empty_database_url))
    with engine.connect() as conn:
        answers = conn.execute(
            text("SELECT context, pseudonym, value FROM response ORDER BY pseudonym")
        ).all()
        note = conn.execute(text("SELECT context, pseudonym FROM note")).one()
        delivery = conn.execute(
            text("SELECT user_id, channel_id, message_ts, sent_at FROM delivery")
        ).one()
        event = conn.execute(text("SELECT rep_user_id, rep_email FROM dealevent")).one()
        rounds = dict(conn.execute(text("SELECT id, reps FROM checkinround")).all())
    engine.dispose()
    expected = sorted(
        [
            ("checkin:2026-11-16", weekly("T1", "U0ANA", week), "2"),  # the later of her two
            ("checkin:2026-11-16", weekly("T1", "U0BEN", week), "5"),
        ],
        key=lambda row: row[1],
    )
    assert [tuple(row) for row in answers] == expected  # U0GONE's: nobody to re-key it to
    assert tuple(note) == ("checkin:2026-11-16", weekly("T1", "U0BEN", week))
    assert tuple(delivery) == (None, None, None, None)
    assert tuple(event) == (None, None)
    assert "U0ANA" in str(rounds[1]) and "U0BEN" in str(rounds[1])
