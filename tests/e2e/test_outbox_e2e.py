"""The outbox worker against the local Slack emulator: every planned DM arrives exactly once,
through rate limits, 5xx bursts, dropped connections, permanent errors and a kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import update
from sqlmodel import col

from bot.core import outbox
from bot.core.outbox import RetryPolicy, Skip
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock, SystemClock
from bot.runtime.settings import load_settings
from bot.slack.sender import EVENT_TYPE, OutboxWorker, make_outbox_client
from bot.slack.throttle import Throttle
from bot.storage import Database
from bot.storage.models import Delivery
from slack_emulator import SlackEmulator
from tests.support.outbox import (
    BOT_TOKEN,
    WS,
    add_users,
    all_rows,
    assert_exactly_once,
    compose,
    outbox_emulator,
    outbox_runtime,
    posts,
    run_until_done,
    seed,
    worker_for,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with outbox_emulator() as e:
        yield e


# -- throughput and failures ------------------------------------------------------------


async def _seeded(emu: SlackEmulator, sqlite_url: str, n: int) -> tuple[Runtime, list[str]]:
    """A runtime whose outbox holds one pending DM for each of ``n`` new Slack users."""
    users = add_users(emu, n)
    runtime = outbox_runtime(sqlite_url, emu)
    await seed(runtime.db, SystemClock(), users)
    return runtime, users


async def test_a_thousand_dms_through_rate_limits_and_a_429_storm(
    emu: SlackEmulator, database_url: str, aiohttp_session: aiohttp.ClientSession
) -> None:
    """Two workers (own engines, so on PostgreSQL they really race) share an 80/s cap; a
    second into the fan-out, 30 % of posts answer 429 for one and a half seconds."""
    users = add_users(emu, 1000)
    runtimes = [outbox_runtime(database_url, emu) for _ in range(2)]
    db = runtimes[0].db
    await seed(db, SystemClock(), users)
    emu.set_rate_limits(enabled=True, workspace_cap_per_s=80)

    async def storm() -> None:
        await asyncio.sleep(1.0)
        emu.inject_failure("chat.postMessage", kind="status", status=429, rate=0.3, duration=1.5)

    workers = [worker_for(rt, f"w{i}", aiohttp_session) for i, rt in enumerate(runtimes)]
    storming = asyncio.create_task(storm())
    try:
        await run_until_done(workers, db, timeout=45)  # about 15 s on an idle machine
        await assert_exactly_once(emu, db, users)
    finally:
        await storming
        for rt in runtimes:
            await rt.db.dispose()
    assert len(posts(emu, 200)) == 1000
    assert len(posts(emu, 429)) == sum(w.stats.rate_limited for w in workers) > 0
    assert all(w.stats.claimed > 0 for w in workers)
    assert sum(w.stats.sent for w in workers) == 1000


async def test_5xx_bursts_and_dropped_connections_lose_nothing(
    emu: SlackEmulator, sqlite_url: str, aiohttp_session: aiohttp.ClientSession
) -> None:
    runtime, users = await _seeded(emu, sqlite_url, 300)
    emu.failures.seed(7)
    emu.inject_failure("chat.postMessage", kind="status", status=503, times=40, rate=0.2)
    emu.inject_failure("chat.postMessage", kind="drop", times=15, rate=0.2)
    emu.inject_failure("chat.postMessage", kind="status", status=500, times=10, rate=0.2)
    worker = worker_for(runtime, "w", aiohttp_session)
    await run_until_done([worker], runtime.db, timeout=25)
    await assert_exactly_once(emu, runtime.db, users)
    rows = await all_rows(runtime.db)
    assert sum(r.attempts for r in rows) == worker.stats.retried == 65
    # a drop or a 500 may have posted: those rows were looked up before the next send
    assert len(emu.calls_to("conversations.history")) == 25
    assert worker.stats.recovered_sent == 0
    await runtime.db.dispose()


async def test_permanent_errors_fail_the_row_at_once(emu: SlackEmulator, sqlite_url: str) -> None:
    emu.add_user("U0FINE")
    emu.add_user("U0GONE", deleted=True)
    emu.add_user("U0ROBOT", is_bot=True)
    emu.add_user("U0LONG")
    runtime = outbox_runtime(sqlite_url, emu)
    await seed(runtime.db, SystemClock(), ["U0FINE", "U0GONE", "U0ROBOT", "U0NOBODY", "U0LONG"])

    async def odd_compose(row: Delivery) -> dict[str, Any]:
        if row.user_id == "U0LONG":
            return {"text": "x" * 40_001}
        return await compose(row)

    worker = worker_for(runtime, "w", compose=odd_compose)
    await run_until_done([worker], runtime.db, timeout=10)
    rows = {r.user_id: r for r in await all_rows(runtime.db)}
    assert {u: (r.status, r.last_error, r.attempts) for u, r in rows.items()} == {
        "U0FINE": ("sent", None, 0),
        "U0GONE": ("failed", "user_disabled", 1),
        "U0ROBOT": ("failed", "cannot_dm_bot", 1),
        "U0NOBODY": ("failed", "channel_not_found", 1),
        "U0LONG": ("failed", "msg_too_long", 1),
    }
    assert len(posts(emu)) == 5  # no retries
    assert [f.user_id for f in await outbox.recent_failures(runtime.db, WS, limit=10)]
    await runtime.db.dispose()


async def test_a_composer_can_skip(emu: SlackEmulator, sqlite_url: str) -> None:
    runtime, users = await _seeded(emu, sqlite_url, 3)

    async def snoozy(row: Delivery) -> dict[str, Any] | Skip | None:
        if row.user_id == users[1]:
            return Skip("snoozed until 2026-12-01")
        if row.user_id == users[2]:
            return None
        return await compose(row)

    await run_until_done([worker_for(runtime, "w", compose=snoozy)], runtime.db, timeout=10)
    rows = [(r.user_id, r.status, r.last_error) for r in await all_rows(runtime.db)]
    assert rows == [
        (users[0], "sent", None),
        (users[1], "skipped", "snoozed until 2026-12-01"),
        (users[2], "skipped", "skipped"),
    ]
    assert [len(emu.dm_messages(u)) for u in users] == [1, 0, 0]
    await runtime.db.dispose()


async def test_a_composer_error_is_retried_without_a_lookup(
    emu: SlackEmulator, sqlite_url: str
) -> None:
    runtime, users = await _seeded(emu, sqlite_url, 2)
    failed_once: set[str] = set()

    async def flaky(row: Delivery) -> dict[str, Any]:
        if row.user_id == users[0] and row.user_id not in failed_once:
            failed_once.add(row.user_id)
            raise RuntimeError("the prompt bank is reloading")
        return await compose(row)

    await run_until_done([worker_for(runtime, "w", compose=flaky)], runtime.db, timeout=10)
    await assert_exactly_once(emu, runtime.db, users)
    rows = await all_rows(runtime.db)
    assert [(r.attempts, r.last_error) for r in rows] == [
        (1, "compose_error: RuntimeError"),
        (0, None),
    ]
    assert emu.calls_to("conversations.history") == []
    await runtime.db.dispose()


async def test_stopping_hands_back_rows_still_waiting_for_their_turn(
    emu: SlackEmulator, sqlite_url: str
) -> None:
    runtime, _ = await _seeded(emu, sqlite_url, 8)
    worker = worker_for(runtime, "w", throttle=Throttle(rate=0.5))  # one post per 2 s
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop))
    while worker.stats.sent < 1:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, timeout=5)
    counts = await outbox.counts(runtime.db, WS)
    assert (counts["sent"], counts["sending"], counts["pending"]) == (1, 0, 7)
    await runtime.db.dispose()


# -- crashes ---------------------------------------------------------------------------


async def test_a_crash_between_post_and_mark_sent_is_recovered_without_a_second_post(
    emu: SlackEmulator, sqlite_url: str
) -> None:
    """Rows a dead worker left in ``sending``, and rows whose send had an unknown outcome:
    the ones whose message is in Slack are marked sent with its ts; the others are sent."""
    users = add_users(emu, 4)
    runtime = outbox_runtime(sqlite_url, emu)
    db = runtime.db
    planned = ManualClock(SystemClock().now() - timedelta(minutes=10))
    posted_lost, unposted_lost, posted_doubt, unposted_doubt = await seed(db, planned, users)
    dead_claim = SystemClock().now() - timedelta(minutes=2)
    async with db.session() as s:
        await s.exec(
            update(Delivery)
            .where(col(Delivery.id).in_([posted_lost, unposted_lost]))
            .values(status="sending", claimed_by="dead", claimed_at=dead_claim)
        )
        await s.exec(
            update(Delivery)
            .where(col(Delivery.id).in_([posted_doubt, unposted_doubt]))
            .values(attempts=1, last_error=outbox.unconfirmed("ServerDisconnectedError"))
        )
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    earlier: dict[int, str] = {}
    for delivery_id, user_id in [(posted_lost, users[0]), (posted_doubt, users[2])]:
        response = await client.chat_postMessage(
            channel=user_id,
            text="Time for your weekly check-in",
            metadata={"event_type": EVENT_TYPE, "event_payload": {"delivery_id": delivery_id}},
        )
        earlier[delivery_id] = response["ts"]
    emu.reset_calls()

    worker = worker_for(runtime, "w", lease_seconds=60)
    await run_until_done([worker], db, timeout=10)

    await assert_exactly_once(emu, db, users)
    rows = {r.id: r for r in await all_rows(db)}
    assert rows[posted_lost].message_ts == earlier[posted_lost]
    assert rows[posted_doubt].message_ts == earlier[posted_doubt]
    assert sorted(str(c.args["channel"]) for c in posts(emu)) == [users[1], users[3]]
    assert worker.stats.recovered_sent == 2
    assert worker.stats.recovered_pending == 1
    assert worker.stats.sent == 2
    await db.dispose()


def _child() -> None:
    """A worker process for the kill -9 test, configured by environment variables; it runs
    until nothing is pending or sending, then prints its stats as JSON."""
    asyncio.run(_child_main())


async def _child_main() -> None:
    env = os.environ
    settings = load_settings(
        SLACK_BOT_TOKEN=env["OUTBOX_TEST_TOKEN"],
        SLACK_API_URL=env["OUTBOX_TEST_API_URL"],
        TRUSTBOT_DATABASE_URL=env["OUTBOX_TEST_DATABASE_URL"],
        TRUSTBOT_HISTORY_PER_MINUTE=50,  # as an internal app (Tier 3)
    )
    runtime = Runtime(settings=settings, db=Database(settings.TRUSTBOT_DATABASE_URL))
    worker = OutboxWorker(
        runtime,
        make_outbox_client(settings),
        compose,
        worker_id=env["OUTBOX_TEST_WORKER"],
        lease_seconds=float(env["OUTBOX_TEST_LEASE"]),
        policy=RetryPolicy(base=0.05, cap=0.5),
    )
    await run_until_done([worker], runtime.db, timeout=60)
    print(json.dumps(asdict(worker.stats)), flush=True)
    await runtime.db.dispose()


def _spawn(emu: SlackEmulator, url: str, name: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OUTBOX_TEST_TOKEN": BOT_TOKEN,
        "OUTBOX_TEST_API_URL": emu.api_url,
        "OUTBOX_TEST_DATABASE_URL": url,
        "OUTBOX_TEST_WORKER": name,
        "OUTBOX_TEST_LEASE": "2",
    }
    code = "from tests.e2e.test_outbox_e2e import _child; _child()"
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


async def test_kill_9_mid_fan_out_then_a_new_worker_finishes_exactly_once(
    emu: SlackEmulator, sqlite_url: str
) -> None:
    users = add_users(emu, 400)
    db = Database(sqlite_url)
    await seed(db, SystemClock(), users)
    emu.set_rate_limits(enabled=True, workspace_cap_per_s=50)

    first = _spawn(emu, sqlite_url, "first")
    deadline = time.monotonic() + 20
    while len(posts(emu, 200)) < 100:
        assert first.poll() is None, "the first worker ended early"
        assert time.monotonic() < deadline, "the first worker sent too little"
        await asyncio.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    counts = await outbox.counts(db, WS)
    assert counts["sent"] + counts["sending"] + counts["pending"] == 400
    assert 0 < counts["sent"] < 400

    second = _spawn(emu, sqlite_url, "second")
    out, _ = await asyncio.to_thread(second.communicate, timeout=25)
    assert second.returncode == 0
    stats = json.loads(out.strip().splitlines()[-1])
    # the rows the dead worker held were settled by looking in Slack, not by resending
    assert stats["recovered_sent"] + stats["recovered_pending"] == counts["sending"]
    await assert_exactly_once(emu, db, users)
    assert len(posts(emu, 200)) == 400
    await db.dispose()
