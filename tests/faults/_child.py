"""The process the kill tests kill: ``python -m tests.faults._child outbox|digest``.

Configured by environment variables (``FAULT_*``). It prints ``ready`` once its imports and
connections are done, works until there is nothing left to do, then prints its figures as
one JSON line. Logs go to stderr, so the parent can check that every recovery says why.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Any

from bot.runtime import Runtime
from bot.runtime.clock import ManualClock, SystemClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import Delivery

# each mode imports only what it runs: a child's start-up is most of a kill test's time


async def compose(row: Delivery) -> dict[str, Any]:
    text = f"Time for your weekly check-in ({row.id})"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def runtime_from_env() -> Runtime:
    env = os.environ
    settings = load_settings(
        SLACK_BOT_TOKEN=env["FAULT_TOKEN"],
        SLACK_API_URL=env["FAULT_API_URL"],
        TRUSTBOT_DATABASE_URL=env["FAULT_DATABASE_URL"],
        TRUSTBOT_PSEUDONYM_KEY=env.get("FAULT_PSEUDONYM_KEY", "fault-test-pseudonym-key"),
        TRUSTBOT_HISTORY_PER_MINUTE=50,  # as an internal app (Tier 3)
    )
    now = env.get("FAULT_NOW")
    clock = ManualClock(datetime.fromisoformat(now)) if now else SystemClock()
    return Runtime(settings=settings, db=Database(settings.TRUSTBOT_DATABASE_URL), clock=clock)


async def run_outbox(runtime: Runtime, workspace: str) -> dict[str, Any]:
    """One outbox worker until no row is pending or sending."""
    from bot.core import outbox
    from bot.core.outbox import RetryPolicy
    from bot.slack.sender import OutboxWorker, make_outbox_client

    worker = OutboxWorker(
        runtime,
        make_outbox_client(runtime.settings),
        compose,
        worker_id=f"child-{os.getpid()}",
        lease_seconds=float(os.environ.get("FAULT_LEASE", "1")),
        policy=RetryPolicy(base=0.05, cap=0.5),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop, idle_seconds=0.05))
    print("ready", flush=True)
    try:
        while True:
            counts = await outbox.counts(runtime.db, workspace)
            if counts["pending"] == counts["sending"] == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    return asdict(worker.stats)


async def run_digests(runtime: Runtime) -> dict[str, Any]:
    """The weekly job's tick, once."""
    from bot.slack.client import make_client
    from bot.slack.digest_post import post_due_digests

    client = make_client(runtime.settings)
    await runtime.db.ping()  # connected before "ready"
    print("ready", flush=True)
    results = await post_due_digests(runtime, client)
    return {"posted": [r.team_id for r in results if r.posted]}


async def main(mode: str) -> None:
    runtime = runtime_from_env()
    try:
        if mode == "outbox":
            figures = await run_outbox(runtime, os.environ["FAULT_WORKSPACE"])
        else:
            figures = await run_digests(runtime)
    finally:
        await runtime.db.dispose()
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    asyncio.run(main(sys.argv[1]))
