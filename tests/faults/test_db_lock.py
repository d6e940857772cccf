"""The SQLite database locked by another writer during a fan-out, a deal webhook and a
``/trust`` command.

A separate ``sqlite3`` connection holds ``BEGIN EXCLUSIVE`` (WAL: readers go on, every writer
waits) while the running app (HTTP, the outbox worker) is busy. The app's writers wait up to
its busy timeout (``bot/storage/db.py``, 10 s). Two cases:

- the real thing: a 10 s lock against the real 10 s timeout. The webhook and the command,
  sent a second into the lock, wait and succeed; the fan-out's writes wait, or fail once
  and are settled by the outbox's history lookup;
- the same with the timeout scaled down to 1 s and a 3 s lock (no fan-out: a lock of more
  than twice the timeout leaves a row whose outcome could not be recorded to the lease,
  about a minute): the webhook answers ``503`` with a clear message and stores nothing, the
  command answers that the database is busy and changes nothing, and after the lock both
  succeed when sent again.

Either way nothing is lost or doubled, every request gets a clear answer (never a 500 or
silence), and whatever failed is in the log with its reason ("database is locked").
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import col

from bot.runtime.clock import SystemClock
from bot.slack.sender import EVENT_TYPE
from bot.storage import Database, db
from bot.storage.migrate import upgrade
from bot.storage.models import DealEvent, Delivery, Team
from tests.faults._app import WS, command, slack
from tests.support.db import in_db, rows
from tests.support.deals import deal, signed_headers
from tests.support.outbox import seed
from tests.support.stack import Stack, start_app, trust
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

REPS = 120
LOCKED = "database is locked"
BUSY_ANSWER = "database is busy"


class ExclusiveLock:
    """Another process's write transaction on the app's SQLite file (WAL: readers go on)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.conn.execute("BEGIN EXCLUSIVE")
        self.since = time.monotonic()

    def release(self) -> float:
        """Commit; how long the lock was held."""
        self.conn.execute("COMMIT")
        self.conn.close()
        return time.monotonic() - self.since


def post_webhook(stack: Stack, event_id: str) -> httpx.Response:
    body = json.dumps(deal(event_id, {"slack_user_id": "U0REP1"}, deal_id=event_id)).encode()
    with httpx.Client(base_url=stack.server.url, timeout=60) as client:
        return client.post("/webhooks/deals", content=body, headers=signed_headers(body))


def assert_clear_webhook_answer(reply: httpx.Response) -> None:
    """202 accepted, or 503 naming the database: never a 500, never a traceback."""
    assert reply.status_code in (202, 503), (reply.status_code, reply.text)
    body = reply.json()
    if reply.status_code == 503:
        assert body == {"error": "database unavailable, try again later"}, body
    else:
        assert body["accepted"] is True, body
    assert "Traceback" not in reply.text


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    url = f"sqlite:///{tmp_path / 'trustbot.db'}"
    upgrade(url)
    with slack() as emu:
        s = Stack(emu, start_app(emu, url, "http"), "http", url)
        assert "created" in trust(s, "team create sales <#C0SALES|sales-managers>")
        assert "Added" in trust(s, "team add sales <@U0REP1>")
        yield s
        s.server.stop()


def db_path(stack: Stack) -> Path:
    return Path(stack.database_url.removeprefix("sqlite:///"))


def test_a_10s_lock_during_a_fan_out_a_webhook_and_a_command(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The app's real busy timeout (10 s) against a 10 s lock."""
    caplog.set_level("INFO")
    emu = stack.emulator
    users = [f"U1{i:04d}" for i in range(REPS)]
    for user in users:
        emu.add_user(user)
    # 0.1 s a post: the fan-out (8 at a time) lasts about 1.5 s, and the lock lands inside it
    emu.inject_failure("chat.postMessage", kind="delay", delay=0.1)

    async def plan(database: Database) -> None:
        await seed(database, SystemClock(), users, workspace=WS)

    in_db(stack.database_url, plan)
    wait_for(lambda: len(emu.calls_to("chat.postMessage")) >= 20, "the fan-out started", timeout=15)
    lock = ExclusiveLock(db_path(stack))
    posts_at_lock = len(emu.calls_to("chat.postMessage"))
    with ThreadPoolExecutor(2) as pool:
        time.sleep(1.0)
        webhook = pool.submit(post_webhook, stack, "lock-1")
        created = pool.submit(command, stack, "team create locked <#C0SALES|sales-managers>", 30)
        time.sleep(9.0)
        held = lock.release()
        reply = webhook.result(timeout=30)
        ack, answer = created.result(timeout=35)
    context = (held, posts_at_lock, reply.status_code, answer)

    # the command: acked at once, answered after the lock (done, or refused clearly)
    assert ack.ok, (context, ack)
    assert answer is not None, context
    teams = [t.name for t in rows(stack.database_url, Team, col(Team.name) == "locked")]
    if "created" in answer:
        assert teams == ["locked"], context
    else:
        assert BUSY_ANSWER in answer and teams == [], context
    # the webhook: accepted after waiting, or a clear 503 that stored nothing; sent again
    # (as a sender does after a 503 or a timeout), it is stored exactly once
    assert_clear_webhook_answer(reply)
    again = post_webhook(stack, "lock-1")
    assert again.status_code == (200 if reply.status_code == 202 else 202), again.text
    events = rows(stack.database_url, DealEvent, col(DealEvent.event_id) == "lock-1")
    assert len(events) == 1, context
    # the fan-out: the worker carried on after the lock, and every rep has exactly one DM
    wait_for(lambda: fanned_out(stack.database_url), "the fan-out finished", timeout=30)
    assert len(emu.calls_to("chat.postMessage")) > posts_at_lock, context
    checkins = rows(stack.database_url, Delivery, col(Delivery.kind) == "checkin")
    deliveries = {d.user_id: d for d in checkins}
    for user in users:
        messages = emu.dm_messages(user)
        assert len(messages) == 1, (context, user, len(messages))
        assert deliveries[user].status == "sent", (context, deliveries[user])
        assert deliveries[user].message_ts == messages[0]["ts"], context
        assert messages[0]["metadata"]["event_type"] == EVENT_TYPE
    # whatever failed says why: a write that gave up is retried (and looked up in Slack
    # before any second post), and logged with the database's error
    failed = [d for d in deliveries.values() if d.attempts]
    for row in failed:
        assert f"delivery {row.id}: unconfirmed: worker_error: OperationalError" in caplog.text
    if failed or reply.status_code == 503 or "created" not in answer:
        assert LOCKED in caplog.text, (context, [d.last_error for d in failed])
    print(f"lock {held:.1f}s: webhook {reply.status_code}, {len(failed)} writes retried")


def fanned_out(url: str) -> bool:
    """No check-in left pending or sending (the webhook's nudge waits for working hours)."""
    checkins = rows(url, Delivery, col(Delivery.kind) == "checkin")
    return all(d.status not in ("pending", "sending") for d in checkins)


def test_a_lock_past_the_busy_timeout_gets_clear_refusals_and_stores_nothing(
    stack: Stack, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The busy timeout scaled down to 1 s (a new app process reads it) and a 3 s lock."""
    caplog.set_level("INFO")
    stack.server.stop()
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 1000)
    stack.server = start_app(stack.emulator, stack.database_url, "http")

    lock = ExclusiveLock(db_path(stack))
    with ThreadPoolExecutor(2) as pool:
        time.sleep(0.1)
        webhook = pool.submit(post_webhook, stack, "lock-2")
        created = pool.submit(command, stack, "team create locked <#C0SALES|sales-managers>", 10)
        reply = webhook.result(timeout=10)
        ack, answer = created.result(timeout=15)
        stored_during = rows(stack.database_url, DealEvent)  # WAL: reads go on
        time.sleep(max(0.0, 3.0 - (time.monotonic() - lock.since)))
        held = lock.release()
    context = (held, reply.status_code, reply.text, answer)

    assert reply.status_code == 503, context
    assert_clear_webhook_answer(reply)
    assert stored_during == [], context
    assert ack.ok, (context, ack)
    assert answer is not None and BUSY_ANSWER in answer, context
    assert rows(stack.database_url, Team, col(Team.name) == "locked") == [], context
    assert LOCKED in caplog.text, context
    # after the lock, both go through, once
    assert post_webhook(stack, "lock-2").status_code == 202
    assert post_webhook(stack, "lock-2").status_code == 200
    assert "created" in trust(stack, "team create locked <#C0SALES|sales-managers>")
    assert len(rows(stack.database_url, DealEvent)) == 1
    assert len(rows(stack.database_url, Team, col(Team.name) == "locked")) == 1
