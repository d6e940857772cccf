"""Real ``trustbot serve --role worker`` processes against the local Slack emulator: several
workers share one outbox safely, a SIGKILL loses and doubles nothing, and a SIGTERM lets the
posts in flight finish and hands the rest back."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col

from bot.core import outbox
from bot.runtime.clock import SystemClock
from bot.slack.sender import OutboxWorker
from bot.storage import Database
from bot.storage.models import Delivery
from slack_emulator import SlackEmulator
from tests.support.outbox import (
    WS,
    add_users,
    all_rows,
    assert_exactly_once,
    outbox_emulator,
    posts,
    seed,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-processes"
LEASE = timedelta(seconds=inspect.signature(OutboxWorker).parameters["lease_seconds"].default)
REPS = 5_000
KILL_AFTER = 1_500


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with outbox_emulator(BOT_TOKEN) as e:
        yield e


def worker(emu: SlackEmulator, url: str, workdir: Path, name: str) -> subprocess.Popen[bytes]:
    """``trustbot serve --role worker`` as its own OS process, its log in ``workdir``."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "processes-signing-secret",
        "SLACK_API_URL": emu.api_url,
        "TRUSTBOT_DATABASE_URL": url,
        "TRUSTBOT_PSEUDONYM_KEY": "processes-pseudonym-key-0123",
        "TRUSTBOT_WEBHOOK_SECRET": "processes-webhook-secret",
        "TRUSTBOT_HISTORY_PER_MINUTE": "50",  # as an internal app (Tier 3)
    }
    env.pop("SLACK_APP_TOKEN", None)
    command = [sys.executable, "-m", "bot.app.cli", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--log-level", "warning", "--role", "worker"]
    with open(workdir / f"{name}.log", "wb") as log:
        return subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)


def log_of(workdir: Path, name: str) -> str:
    return (workdir / f"{name}.log").read_text(errors="replace")


def stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def counts(db: Database) -> dict[str, int]:
    return await outbox.counts(db, WS)


# PostgreSQL only, where claims take FOR UPDATE SKIP LOCKED; about 80 s on two cores (three
# workers at about 75 DMs/s together), too slow to run a second time on SQLite.
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_three_worker_processes_one_killed_deliver_5000_dms_exactly_once(
    emu: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    users = add_users(emu, REPS)
    db = Database(database_url)
    await seed(db, SystemClock(), users)
    workers = [worker(emu, database_url, tmp_path, f"w{n}") for n in range(3)]
    try:
        started = time.monotonic()
        wait_for(lambda: len(posts(emu, 200)) >= KILL_AFTER, f"{KILL_AFTER} DMs", timeout=150)
        victim = workers[1]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        assert victim.returncode == -signal.SIGKILL
        killed_at = time.monotonic() - started
        at_kill = await counts(db)
        assert 0 < at_kill["sent"] < REPS, at_kill

        # The dead worker's claims wait for their lease (60 s) to run out before a live worker
        # takes them over; move them back by the lease rather than wait it out.
        mine = f":{victim.pid}:"  # worker ids are host:pid:random
        stranded = [
            r for r in await all_rows(db) if r.status == outbox.SENDING and mine in r.claimed_by
        ]
        async with db.engine.begin() as conn:
            for row in stranded:
                assert row.claimed_at is not None
                await conn.execute(
                    update(Delivery)
                    .where(col(Delivery.id) == row.id)
                    .values(claimed_at=row.claimed_at - LEASE)
                )

        async def drained() -> bool:
            now = await counts(db)
            return now["pending"] == now["sending"] == 0

        deadline = time.monotonic() + 240  # a guard, not a goal
        while not await drained():
            assert time.monotonic() < deadline, await counts(db)
            assert all(w.poll() is None for w in (workers[0], workers[2])), "a worker died"
            await asyncio.sleep(0.2)
    finally:
        stop_all(workers)

    print(f"killed at {killed_at:.1f}s, drained at {time.monotonic() - started:.1f}s")
    done = await counts(db)
    assert done["sent"] == REPS, done
    await assert_exactly_once(emu, db, users)
    assert len({str(c.args["channel"]) for c in posts(emu, 200)}) == REPS
    assert len(posts(emu, 200)) == REPS  # not one post more than DMs: nothing sent twice
    claimers = {r.claimed_by for r in await all_rows(db)}
    assert len(claimers) >= 3, claimers  # the rows really were shared out
    print(f"stranded by the kill: {len(stranded)}; sent before it: {at_kill['sent']}")
    for name in ("w0", "w2"):
        assert "Traceback" not in log_of(tmp_path, name), log_of(tmp_path, name)
    await db.dispose()


async def test_sigterm_lets_posts_in_flight_finish_and_leaves_the_rest_pending(
    emu: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    users = add_users(emu, 200)
    db = Database(database_url)
    await seed(db, SystemClock(), users)
    emu.inject_failure("chat.postMessage", kind="delay", delay=1.5)  # every post takes 1.5 s
    process = worker(emu, database_url, tmp_path, "graceful")
    try:
        deadline = time.monotonic() + 30
        while True:  # the first DMs are through and the next ones are on their way
            at_signal = await counts(db)
            if at_signal["sent"] > 0 and at_signal["sending"] > 0:
                break
            assert time.monotonic() < deadline, at_signal
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # well inside the posts' 1.5 s
        process.wait(timeout=30)  # each post in flight ends within its 15 s request timeout
    finally:
        stop_all([process])
    assert process.returncode == 0, log_of(tmp_path, "graceful")

    after = await counts(db)
    assert after["sending"] == 0, after  # nothing stuck claimed
    assert after["sent"] + after["pending"] == len(users), after
    assert after["sent"] >= at_signal["sent"] + at_signal["sending"]  # in flight: finished
    assert after["pending"] > 0  # the rest wait for the next worker
    rows = {r.user_id: r for r in await all_rows(db)}
    for user_id in users:
        expected = 1 if rows[user_id].status == outbox.SENT else 0
        assert len(emu.dm_messages(user_id)) == expected, (user_id, rows[user_id].status)
    assert "Traceback" not in log_of(tmp_path, "graceful"), log_of(tmp_path, "graceful")
    await db.dispose()
