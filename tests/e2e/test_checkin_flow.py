"""Weekly check-ins from plan to DM to reminder to close, against the emulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

import pytest
from sqlmodel import select

from bot.core import checkins, teams
from bot.core.prompts import default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.slack.client import make_client
from bot.slack.outbox_messages import compose
from bot.slack.sender import OutboxWorker, make_outbox_client
from bot.slack.sweep import sweep
from bot.storage import Database
from bot.storage.models import Delivery, Person
from slack_emulator import SlackEmulator
from tests.support.slack_app import APP_SCOPES
from tests.support.stack import BOT_TOKEN, PSEUDONYM_KEY, Stack, trust
from tests.support.waiting import wait_for

TEAM = "T0001"  # the emulator's default workspace
ZONES = {"U0NY": "America/New_York", "U0BER": "Europe/Berlin", "U0TOK": "Asia/Tokyo"}


def test_checkin_now_reaches_every_rep_once(http_stack: Stack) -> None:
    emu = http_stack.emulator
    trust(http_stack, "team create east <#C0SALES>")
    trust(http_stack, "team add east <@U0REP1> <@U0REP2> <@U0MGR>")
    trust(http_stack, "snooze 5", user="U0MGR")
    assert "to the 3 reps of `east` now" in trust(http_stack, "checkin east now")
    wait_for(lambda: emu.dm_messages("U0REP1") and emu.dm_messages("U0REP2"), "both DMs")
    time.sleep(1.5)  # the worker's next rounds must add nothing
    asked = []
    for user in ("U0REP1", "U0REP2"):
        (dm,) = emu.dm_messages(user)
        rows_ = [b["block_id"] for b in dm["blocks"] if b.get("block_id", "").startswith("a|")]
        assert 1 <= len(rows_) <= 5 and "checkin.note" in str(dm["blocks"])
        asked.append(rows_)
    assert asked[0] == asked[1]  # the week's rotation: the same questions for everyone
    assert emu.dm_messages("U0MGR") == []
    assert emu.validation_failures == []


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[Runtime, SlackEmulator, OutboxWorker]]:
    with SlackEmulator(scopes=APP_SCOPES, bot_token=BOT_TOKEN, team_id=TEAM) as emu:
        for user, tz in ZONES.items():
            emu.add_user(user, name=user.lower(), tz=tz)
        clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))  # Sunday before US DST week
        settings = load_settings(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=emu.api_url,
            TRUSTBOT_PSEUDONYM_KEY=PSEUDONYM_KEY,
        )
        db = Database(database_url)
        rt = Runtime(settings=settings, db=db, clock=clock)
        await ensure_workspace(db, TEAM, clock)
        await teams.create(db, TEAM, "UADMIN", "global", "C1", clock)
        await teams.add_people(db, TEAM, "UADMIN", "global", list(ZONES), teams.REP, clock)
        await teams.update(
            db, TEAM, "UADMIN", "global", clock, checkin_weekday=0, checkin_time="09:00"
        )
        async with db.session() as s:
            for user, tz in ZONES.items():
                s.add(Person(workspace_id=TEAM, user_id=user, tz=tz, tz_checked_at=clock.now()))
        worker = OutboxWorker(
            rt, make_outbox_client(settings), lambda row: compose(rt, row), worker_id="w1"
        )
        yield rt, emu, worker
        await db.dispose()


async def test_three_time_zones_get_their_local_nine_am_across_dst(world) -> None:  # type: ignore[no-untyped-def]
    rt, emu, worker = world
    clock = rt.clock
    bank = default_bank()
    expected = [
        # week before the US change: Tokyo 00:00 UTC, Berlin 08:00, New York 14:00 (EST)
        (datetime(2026, 3, 2, 0, 0, tzinfo=UTC), {"U0TOK"}),
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), {"U0TOK", "U0BER"}),
        (datetime(2026, 3, 2, 13, 59, tzinfo=UTC), {"U0TOK", "U0BER"}),
        (datetime(2026, 3, 2, 14, 0, tzinfo=UTC), {"U0TOK", "U0BER", "U0NY"}),
    ]
    for instant, got_dm in expected:
        clock.set(instant)
        await checkins.plan_due(rt, bank)
        await worker.run_once()
        assert {u for u in ZONES if emu.dm_messages(u)} == got_dm, instant
    # the week of the change (DST from Sunday 8 March): New York is now at 13:00 UTC
    clock.set(datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    await checkins.plan_due(rt, bank)
    for hour in (0, 8, 12):  # Tokyo and Berlin unchanged (Europe changes on 29 March)
        clock.set(datetime(2026, 3, 9, hour, 59, tzinfo=UTC))
        await worker.run_once()
    assert len(emu.dm_messages("U0NY")) == 1 and len(emu.dm_messages("U0BER")) == 2
    clock.set(datetime(2026, 3, 9, 13, 0, tzinfo=UTC))
    await worker.run_once()
    assert [len(emu.dm_messages(u)) for u in ZONES] == [2, 2, 2]


async def test_one_reminder_then_the_check_in_closes(world) -> None:  # type: ignore[no-untyped-def]
    rt, emu, worker = world
    clock = rt.clock
    client = make_client(rt.settings)
    await checkins.plan_due(rt, default_bank())
    for hour in (0, 8, 14):  # Monday 09:00 in Tokyo, Berlin and New York
        clock.set(datetime(2026, 3, 2, hour, 0, tzinfo=UTC))
        await worker.run_once()
    assert all(len(emu.dm_messages(u)) == 1 for u in ZONES)
    # Tokyo answers everything
    async with rt.db.session() as s:
        tok = (await s.exec(select(Delivery).where(Delivery.user_id == "U0TOK"))).one()
    from bot.core.answers import record_answer

    round_id = tok.round_id
    assert round_id is not None
    bank = default_bank()
    async with rt.db.session() as s:
        from bot.storage.models import CheckinRound

        rnd = await s.get(CheckinRound, round_id)
    assert rnd is not None
    for prompt_id in rnd.prompt_ids:
        prompt = bank.prompt(prompt_id)
        if prompt.kind != "text":
            await record_answer(
                rt, TEAM, "U0TOK", round_id, prompt_id, prompt.answer.choices()[0].value
            )
    assert await sweep(rt, client) == (0, 0)  # too early
    clock.set(datetime(2026, 3, 3, 14, 1, tzinfo=UTC))  # 24 working hours later
    assert await sweep(rt, client) == (2, 0)
    assert await sweep(rt, client) == (0, 0)  # one reminder only
    assert len(emu.dm_messages("U0NY")) == 2 and len(emu.dm_messages("U0TOK")) == 1
    assert "still open" in emu.dm_messages("U0NY")[-1]["text"]
    clock.set(datetime(2026, 3, 5, 14, 1, tzinfo=UTC))  # 3 working days after the slot
    assert await sweep(rt, client) == (0, 3)
    first = emu.dm_messages("U0BER")[0]
    assert "has closed" in str(first["blocks"]) and "checkin.answer" not in str(first["blocks"])
    async with rt.db.session() as s:
        closed = (await s.exec(select(Delivery))).all()
    assert {d.status for d in closed} == {"expired"}
    # closed, each row forgets whom, where and when it was sent: only kind, status, round
    # and the week it was planned in remain (issue #15)
    for row in closed:
        kept = {k: v for k, v in row.model_dump().items() if v is not None}
        assert set(kept) <= {
            "id",
            "workspace_id",
            "kind",
            "round_id",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
        }, kept
        assert (row.created_at.weekday(), row.created_at.time()) == (0, clock_time(0))  # Monday
    assert "still open" in emu.dm_messages("U0NY")[-1]["text"]  # Slack keeps the rep's DMs
    assert emu.validation_failures == []


async def test_a_slot_missed_while_down_is_sent_late_or_skipped(world) -> None:  # type: ignore[no-untyped-def]
    rt, emu, worker = world
    clock = rt.clock
    await checkins.plan_due(rt, default_bank())  # planned on Sunday, then the app goes down
    clock.set(datetime(2026, 3, 2, 19, 0, tzinfo=UTC))  # back: NY's slot 5 h ago, Tokyo's 19 h
    await worker.run_once()
    assert emu.dm_messages("U0NY") and not emu.dm_messages("U0TOK") and not emu.dm_messages("U0BER")
    async with rt.db.session() as s:
        rows = {d.user_id: d for d in (await s.exec(select(Delivery))).all()}
    assert rows["U0TOK"].status == "skipped" and "missed slot" in (rows["U0TOK"].last_error or "")
    await worker.run_once()
    assert len(emu.dm_messages("U0NY")) == 1  # never doubled


def test_a_rep_who_left_is_marked_failed_and_shown_in_status(http_stack: Stack) -> None:
    emu = http_stack.emulator
    emu.add_user("U0GONE", name="gone", tz="UTC", deleted=True)
    trust(http_stack, "team create east <#C0SALES>")
    trust(http_stack, "team add east <@U0REP1> <@U0GONE>")
    trust(http_stack, "checkin east now")
    deadline = time.monotonic() + 15
    status = ""
    while time.monotonic() < deadline:
        status = trust(http_stack, "status")
        if "failed: DM to <@U0GONE>" in status and "1 sent" in status:
            break
        time.sleep(0.2)
    assert "failed: DM to <@U0GONE> (checkin): user_disabled" in status
    assert "1 sent" in status and "1 failed" in status
    assert len(emu.dm_messages("U0REP1")) == 1


async def test_a_database_dump_cannot_tell_who_answered_what(world) -> None:  # type: ignore[no-untyped-def]
    """No row holds both a Slack user ID and an answer or a pseudonym; pseudonyms are keyed."""
    import hashlib

    from sqlalchemy import text as sql
    from sqlmodel import SQLModel

    from bot.core.answers import record_answer, record_note

    rt, _emu, worker = world
    await checkins.plan_due(rt, default_bank())
    for hour in (0, 8, 14):
        rt.clock.set(datetime(2026, 3, 2, hour, 0, tzinfo=UTC))
        await worker.run_once()
    async with rt.db.session() as s:
        round_id = (await s.exec(select(Delivery))).first().round_id  # type: ignore[union-attr]
    for user, value in zip(ZONES, ("trust_and_value", "quota", "commission"), strict=True):
        await record_answer(rt, TEAM, user, round_id, "goal.trust_or_else", value)
        await record_note(rt, TEAM, user, round_id, f"a note from {user.lower()}", shared=False)
    rows: list[tuple[str, str]] = []
    async with rt.db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await conn.execute(sql(f'SELECT * FROM "{table.name}"'))).all():
                rows.append((table.name, " ".join(map(str, row))))
        pseudonyms = {str(p) for (p,) in await conn.execute(sql("SELECT pseudonym FROM response"))}

    assert len(pseudonyms) == 3
    unkeyed = {
        hashlib.sha256(f"{salt}{u}".encode()).hexdigest()
        for u in ZONES
        for salt in ("", f"{TEAM}:", f"answers:{TEAM}:")
    }
    assert not pseudonyms & unkeyed
    for table, line in rows:
        names_a_user = any(u in line for u in ZONES)
        holds_an_answer = any(p in line for p in pseudonyms) or any(
            v in line for v in ("trust_and_value", "quota", "commission", "a note from")
        )
        assert not (names_a_user and holds_an_answer), (table, line)


async def test_stale_time_zones_are_refreshed_from_slack(world) -> None:  # type: ignore[no-untyped-def]
    from bot.slack import timezones

    rt, emu, _worker = world
    emu.set_user("U0NY", tz="America/Los_Angeles")  # the rep moved
    client = make_client(rt.settings)
    assert await timezones.refresh_stale(rt, client) == 0  # checked on setup: still fresh
    rt.clock.advance(timedelta(days=8))
    assert await timezones.refresh_stale(rt, client) == 3
    async with rt.db.session() as s:
        person = await s.get(Person, (TEAM, "U0NY"))
    assert person is not None and person.tz == "America/Los_Angeles"
