"""Fan-out: check-in DMs to 10,000 reps through the outbox worker, against a 50 msgs/s cap.

The emulator (in this process) enforces Slack's limits: a workspace cap on chat.postMessage,
429 with ``Retry-After`` beyond it; the worker has to find and hold the cap by itself. Prints
the delivered rate, the cap (the baseline), their ratio (target at least 0.9), lost and
duplicated DMs (both must be 0) and the process's peak memory, and returns
``{name, value, unit, baseline, ratio, target, met, details}``. Takes about reps / cap seconds.

    python -m bench fanout [--reps 10000] [--cap 50]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench._common import emulator
from bot.core import outbox
from bot.runtime import Runtime
from bot.runtime.clock import SystemClock
from bot.runtime.settings import load_settings
from bot.slack.sender import OutboxWorker, make_outbox_client
from bot.storage import Database
from bot.storage.migrate import upgrade
from bot.storage.models import Delivery
from tests.support.outbox import seed  # run from the repository root, as `python -m bench`

REPS = 10_000
CAP = 50.0  # chat.postMessage per second, workspace-wide
TARGET = 0.9
WORKSPACE = "T0BENCH"
TOKEN = "xoxb-bench"  # the emulator's


def run(reps: int = REPS, cap: float = CAP) -> dict[str, Any]:
    """Run the benchmark and print one figure per line; returns the result record."""
    with tempfile.TemporaryDirectory(prefix="trustbot-bench-") as tmp:
        return asyncio.run(_run(reps, cap, Path(tmp) / "bench.db"))


async def _compose(row: Delivery) -> dict[str, Any]:
    text = "Time for your weekly check-in: three questions, a few clicks."
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def _line(label: str, value: str) -> None:
    print(f"{label:<22}{value}", flush=True)


async def _run(reps: int, cap: float, path: Path) -> dict[str, Any]:
    url = f"sqlite:///{path}"
    upgrade(url)
    with emulator(TOKEN, "bench-signing-secret", team_id=WORKSPACE) as emu:
        settings = load_settings(
            SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=emu.api_url, TRUSTBOT_DATABASE_URL=url
        )
        runtime = Runtime(settings=settings, db=Database(url), clock=SystemClock())
        users = [f"U{i:07d}" for i in range(reps)]
        await seed(runtime.db, runtime.clock, users, workspace=WORKSPACE)
        for user in users:
            emu.add_user(user)
        emu.set_rate_limits(enabled=True, workspace_cap_per_s=cap)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            client = make_outbox_client(settings, session=session)
            worker = OutboxWorker(runtime, client, _compose, worker_id="bench")
            stop = asyncio.Event()
            started = time.monotonic()
            task = asyncio.create_task(worker.run_forever(stop, idle_seconds=0.05))
            while True:
                counts = await outbox.counts(runtime.db, WORKSPACE)
                if counts["pending"] == counts["sending"] == 0 or task.done():
                    break
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
            stop.set()
            await task
        dms = [len(emu.dm_messages(user)) for user in users]
        await runtime.db.dispose()

    delivered = sum(1 for n in dms if n >= 1)
    lost = reps - delivered
    duplicates = sum(n - 1 for n in dms if n > 1)
    rate = delivered / elapsed
    ratio = rate / cap
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    peak_mb = peak_kb / (1024 * 1024) if sys.platform == "darwin" else peak_kb / 1024
    _line("reps", f"{reps}")
    _line("elapsed", f"{elapsed:.1f} s")
    _line("delivered rate", f"{rate:.2f} msgs/s")
    _line("cap (baseline)", f"{cap:.2f} msgs/s")
    _line("ratio", f"{ratio:.3f} (target >= {TARGET})")
    _line("lost", f"{lost}")
    _line("duplicates", f"{duplicates}")
    _line("429 answers", f"{worker.stats.rate_limited} ({worker.throttle.limited} pauses)")
    _line("peak memory (RSS)", f"{peak_mb:.1f} MB (emulator included)")
    met = ratio >= TARGET and lost == 0 and duplicates == 0
    return {
        "name": "fanout",
        "value": round(rate, 2),
        "unit": "msgs/s",
        "baseline": cap,
        "ratio": round(ratio, 3),
        "target": TARGET,
        "met": met,
        "details": {
            "reps": reps,
            "elapsed_s": round(elapsed, 1),
            "lost": lost,
            "duplicates": duplicates,
            "rate_limited": worker.stats.rate_limited,
            "pauses": worker.throttle.limited,
            "peak_rss_mb": round(peak_mb, 1),
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench fanout", description=__doc__)
    parser.add_argument("--reps", type=int, default=REPS, help="reps to DM")
    parser.add_argument("--cap", type=float, default=CAP, help="chat.postMessage per second")
    args = parser.parse_args(argv)
    return run(reps=args.reps, cap=args.cap)


if __name__ == "__main__":
    sys.exit(0 if main()["met"] else 1)
