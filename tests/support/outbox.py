"""Outbox rows made straight in the database, and the worker that sends them to the emulator."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy import insert
from sqlmodel import col, select

from bot.core import outbox
from bot.core.outbox import RetryPolicy
from bot.runtime import Runtime
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.settings import load_settings
from bot.slack.sender import EVENT_TYPE, OutboxWorker, make_outbox_client
from bot.storage import Database
from bot.storage.models import Delivery
from slack_emulator import SlackEmulator
from tests.support.checkins import add_round
from tests.support.slack_app import APP_SCOPES

WS = "T0OUTBOX"
BOT_TOKEN = "xoxb-outbox"
_teams = itertools.count(1)


def outbox_emulator(bot_token: str = BOT_TOKEN) -> SlackEmulator:
    """The Slack the outbox tests post to: their workspace, the app's scopes and
    ``bot_token`` (start it with ``with``)."""
    return SlackEmulator(scopes=APP_SCOPES, bot_token=bot_token, team_id=WS)


async def seed(
    db: Database,
    clock: Clock,
    users: Sequence[str],
    *,
    workspace: str = WS,
    due: datetime | None = None,
) -> list[int]:
    """A workspace, a team, a round and one pending check-in delivery per user; their ids."""
    now = clock.now()
    async with db.session() as s:
        rnd = await add_round(s, workspace, now, team=f"sales-{next(_teams)}")
        rows = [
            {
                "workspace_id": workspace,
                "kind": "checkin",
                "round_id": rnd.id,
                "user_id": user,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": due or now,
                "created_at": now,
            }
            for user in users
        ]
        await s.exec(insert(Delivery), params=rows)
        found = await s.exec(
            select(Delivery.id).where(Delivery.round_id == rnd.id).order_by(col(Delivery.id))
        )
        return [delivery_id for delivery_id in found.all() if delivery_id is not None]


async def all_rows(db: Database) -> list[Delivery]:
    """Every delivery, in the order they were planned."""
    async with db.session() as s:
        return list((await s.exec(select(Delivery).order_by(col(Delivery.id)))).all())


def add_users(emu: SlackEmulator, n: int, prefix: str = "U") -> list[str]:
    """``n`` users in the emulator's workspace; their ids."""
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    for user_id in ids:
        emu.add_user(user_id)
    return ids


def outbox_runtime(url: str, emu: SlackEmulator, *, history_per_minute: int = 50) -> Runtime:
    """A runtime whose outbox posts to ``emu`` with :data:`BOT_TOKEN`, looking in a DM's
    history ``history_per_minute`` times a minute per workspace (default: Tier 3, as an
    internal or Marketplace app may; Slack's 1 a minute for other apps is tested apart)."""
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=emu.api_url,
        TRUSTBOT_DATABASE_URL=url,
        TRUSTBOT_HISTORY_PER_MINUTE=history_per_minute,
    )
    return Runtime(settings=settings, db=Database(url), clock=SystemClock())


async def compose(row: Delivery) -> dict[str, Any]:
    """A check-in DM that names its row."""
    text = f"Time for your weekly check-in ({row.id})"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def worker_for(
    runtime: Runtime, name: str, session: aiohttp.ClientSession | None = None, **options: Any
) -> OutboxWorker:
    """An outbox worker with short retry delays; ``options`` go to :class:`OutboxWorker`."""
    client = make_outbox_client(runtime.settings, session=session)
    options.setdefault("policy", RetryPolicy(base=0.05, cap=0.5))
    return OutboxWorker(runtime, client, options.pop("compose", compose), worker_id=name, **options)


async def run_until_done(workers: Sequence[OutboxWorker], db: Database, timeout: float) -> None:
    """Run the workers until no row is pending or sending (or fail after ``timeout``)."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run_forever(stop, idle_seconds=0.05)) for w in workers]
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            counts = await outbox.counts(db, WS)
            if counts["pending"] == counts["sending"] == 0:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"outbox not drained in {timeout}s: {counts}")
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def assert_exactly_once(emu: SlackEmulator, db: Database, users: Sequence[str]) -> None:
    """Every user has exactly one DM, and it is the one its row recorded."""
    rows = {r.user_id: r for r in await all_rows(db)}
    for user_id in users:
        messages = emu.dm_messages(user_id)
        assert len(messages) == 1, (user_id, [m["text"] for m in messages])
        row = rows[user_id]
        assert row.status == "sent", (user_id, row.status, row.last_error)
        assert row.message_ts == messages[0]["ts"]
        assert row.channel_id == emu.dm_channel_id(user_id)
        metadata = messages[0]["metadata"]
        assert metadata == {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": row.id}}


def posts(emu: SlackEmulator, status: int | None = None) -> list[Any]:
    """The app's ``chat.postMessage`` calls (answered ``status``, if given)."""
    calls = emu.calls_to("chat.postMessage")
    return [c for c in calls if status is None or c.status == status]
