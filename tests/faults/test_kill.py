"""A real ``kill -9`` at random points of a check-in fan-out and of a digest post.

Each case runs the work in a child process (``tests/faults/_child.py``), kills it with
SIGKILL at a point picked by a seeded random source (the seed is printed; ``FAULT_SEED=n``
replays it), restarts it, and checks that nothing was lost, nothing doubled, and that the
restarted process logged why it settled what the dead one left.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.core import outbox
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock, SystemClock
from bot.runtime.settings import load_settings
from bot.slack import digest_post
from bot.slack.sender import EVENT_TYPE
from bot.storage import Database
from bot.storage.migrate import upgrade
from bot.storage.models import Digest
from slack_emulator import SlackEmulator
from tests.faults.conftest import Chaos
from tests.support.outbox import WS as OUTBOX_WS
from tests.support.outbox import all_rows, seed
from tests.support.slack_app import APP_SCOPES
from tests.support.teams import KEY, W3, WS, checkin_week, make_team, same

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-faults"
MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # W3's digest is due
CHILD_TIMEOUT = 30.0
ROUNDS = 2  # kills per test: a child's start-up (imports) is most of the time


class Child:
    """``python -m tests.faults._child MODE`` with its stdout and stderr captured."""

    def __init__(self, mode: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._stderr = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults._child", mode],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # bounded: the child prints it or dies
        assert line.strip() == "ready", (line, self.log.read_text())

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL; nothing if it has already exited (and been reaped)
        self.proc.wait(timeout=10)
        self._stderr.close()

    def finish(self) -> dict[str, Any]:
        out, _ = self.proc.communicate(timeout=CHILD_TIMEOUT)
        self._stderr.close()
        assert self.proc.returncode == 0, self.log.read_text()[-3000:]
        return dict(json.loads(out.strip().splitlines()[-1]))

    @property
    def logged(self) -> str:
        return self.log.read_text()


def child_env(emu: SlackEmulator, url: str, **extra: str) -> dict[str, str]:
    return {
        "FAULT_TOKEN": TOKEN,
        "FAULT_API_URL": emu.api_url,
        "FAULT_DATABASE_URL": url,
        **extra,
    }


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(scopes=APP_SCOPES, bot_token=TOKEN, team_id=OUTBOX_WS) as e:
        yield e


# -- the check-in fan-out -----------------------------------------------------------------


async def test_kill_9_at_random_points_of_a_fan_out(
    chaos: Chaos, tmp_path: Path, emu: SlackEmulator
) -> None:
    """Kills at random moments of a 120-DM fan-out. A quarter of the posts are slowed
    down by 0.3 s, so a kill often lands while a post is in flight: the emulator still
    completes it, and only the restarted worker's look into the DM history can tell."""
    emu.set_rate_limits(enabled=True, workspace_cap_per_s=120)
    for round_no in range(ROUNDS):
        # new reps each round: each round's database numbers its deliveries from 1 again, and
        # a DM history holding an earlier round's message with the same delivery id would
        # rightly count as that row's post
        users = [f"U{round_no}{i:04d}" for i in range(120)]
        for user in users:
            emu.add_user(user)
        url = f"sqlite:///{tmp_path / f'fanout-{round_no}.db'}"
        upgrade(url)
        db = Database(url)
        await seed(db, SystemClock(), users)
        emu.reset_calls()
        emu.clear_failures()
        emu.failures.seed(chaos.seed + round_no)
        emu.inject_failure("chat.postMessage", kind="delay", delay=0.3, rate=0.25)
        env = child_env(emu, url, FAULT_WORKSPACE=OUTBOX_WS, FAULT_LEASE="2")
        before = {u: len(emu.dm_messages(u)) for u in users}

        first = Child("outbox", env, tmp_path / f"first-{round_no}.log")
        first.wait_ready()
        kill_after = chaos.random.randrange(len(users))  # posts answered before the kill
        deadline = time.monotonic() + CHILD_TIMEOUT
        while len(emu.calls_to("chat.postMessage")) < kill_after and first.proc.poll() is None:
            assert time.monotonic() < deadline, f"the first worker stalled ({chaos})"
            await asyncio.sleep(0.005)
        await asyncio.sleep(chaos.random.uniform(0, 0.05))
        first.kill()
        left = await outbox.counts(db, OUTBOX_WS)
        await asyncio.sleep(1.0)  # every post the dead worker had in flight (0.3 s) has landed

        second = Child("outbox", env, tmp_path / f"second-{round_no}.log")
        stats = await asyncio.to_thread(second.finish)

        context = f"{chaos}, round {round_no}, killed after {kill_after} posts, left {left}"
        rows = {r.user_id: r for r in await all_rows(db)}
        for user in users:
            messages = emu.dm_messages(user)[before[user] :]
            assert len(messages) == 1, (context, user, len(messages))
            row = rows[user]
            assert (row.status, row.message_ts) == ("sent", messages[0]["ts"]), context
            assert messages[0]["metadata"]["event_type"] == EVENT_TYPE
        counts = await outbox.counts(db, OUTBOX_WS)
        assert counts["sent"] == len(users) and counts["pending"] == counts["sending"] == 0
        # every row the dead worker held was settled by looking in Slack, and said so
        assert stats["recovered_sent"] + stats["recovered_pending"] == left["sending"], context
        if left["sending"]:
            assert "took over" in second.logged, (context, second.logged[-2000:])
        await db.dispose()


# -- the digest post ----------------------------------------------------------------------


async def digest_world(url: str, teams: int) -> tuple[Runtime, list[int]]:
    upgrade(url)
    settings = load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY)
    rt = Runtime(settings=settings, db=Database(url), clock=ManualClock(MONDAY))
    ids = []
    for n in range(teams):
        team, reps = await make_team(rt, f"team{n}", 5, channel="C0DIGEST")
        await checkin_week(rt, team, W3, same(reps, care__interests_first=str(2 + n % 4)))
        assert team.id is not None
        ids.append(team.id)
    return rt, ids


async def stored_digests(rt: Runtime) -> dict[int, Digest]:
    async with rt.db.session() as s:
        return {d.team_id: d for d in (await s.exec(select(Digest))).all()}


async def test_kill_9_at_random_points_of_a_digest_post(chaos: Chaos, tmp_path: Path) -> None:
    """Four teams' digests posted by one tick; the tick is killed at a random moment (before
    the claim, between the claim and the message, between the message and its record,
    during the chart). Half the posts and uploads are slowed, to widen those windows. After
    a restart past the claim's lease: exactly one message per team and week, carrying the
    figures frozen before the kill, and the settled claims are logged."""
    kills_in_flight = 0
    for round_no in range(ROUNDS):
        with SlackEmulator(scopes=APP_SCOPES, bot_token=TOKEN, team_id=WS) as emu:
            emu.add_channel("C0DIGEST", name="sales-managers")
            url = f"sqlite:///{tmp_path / f'digest-{round_no}.db'}"
            rt, team_ids = await digest_world(url, teams=4)
            emu.failures.seed(chaos.seed + round_no)
            emu.inject_failure("chat.postMessage", kind="delay", delay=0.4, rate=0.5)
            emu.inject_failure("upload", kind="delay", delay=0.3, rate=0.5)

            first = Child(
                "digest",
                child_env(emu, url, FAULT_NOW=MONDAY.isoformat()),
                tmp_path / f"digest-first-{round_no}.log",
            )
            first.wait_ready()
            at = chaos.random.uniform(0, 2.5)
            await asyncio.sleep(at)
            finished = first.proc.poll() is not None
            first.kill()
            frozen = {
                team_id: digest.figures for team_id, digest in (await stored_digests(rt)).items()
            }
            unsettled = [d for d in (await stored_digests(rt)).values() if d.message_ts is None]
            kills_in_flight += sum(1 for d in unsettled if d.channel_id is not None)
            await asyncio.sleep(1.5)  # a post the dead process had in flight (0.4 s) has landed

            later = MONDAY + digest_post.CLAIM_TTL + timedelta(minutes=1)
            second = Child(
                "digest",
                child_env(emu, url, FAULT_NOW=later.isoformat()),
                tmp_path / f"digest-second-{round_no}.log",
            )
            await asyncio.to_thread(second.finish)

            context = f"{chaos}, round {round_no}, killed at {at:.2f}s (done: {finished})"
            messages = [m for m in emu.messages("C0DIGEST") if m.get("blocks")]
            by_digest: dict[int, list[dict[str, Any]]] = {}
            for message in messages:
                payload = message["metadata"]["event_payload"]
                by_digest.setdefault(int(payload["digest_id"]), []).append(message)
            stored = await stored_digests(rt)
            assert sorted(stored) == sorted(team_ids), context
            for team_id, digest in stored.items():
                assert digest.id is not None
                posted = by_digest.get(digest.id, [])
                assert len(posted) == 1, (context, team_id, len(posted))
                assert digest.message_ts == posted[0]["ts"], context
                if team_id in frozen:
                    assert digest.figures == frozen[team_id], context
            if any(d.channel_id is not None for d in unsettled):
                assert "a crashed post" in second.logged, (context, second.logged[-2000:])
            await rt.db.dispose()
    print(f"claims left unsettled by a kill and recovered: {kills_in_flight}")
