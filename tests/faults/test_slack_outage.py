"""Slack refusing or dropping a fifth of the posts for a minute, in the middle of a fan-out.

200 check-in DMs go out through one outbox worker while a seeded 20 % of the
``chat.postMessage`` calls (``FAULT_SEED=n`` replays the draws) are answered 500 or 503,
have their connection dropped, or are answered 429; after a minute Slack is well again.
The worker runs on a :class:`~bot.clock.ManualClock` that the test moves on by half a
second every 30 ms, so the minute and the backoff delays (2, 4, 8 ... s) pass in seconds;
the clock stands still while a 429 pauses the worker, since ``Retry-After`` is real time.
No row can use up its 8 attempts in that minute (less 20 % jitter, a row's seventh post
comes at least 100 s after its first), so every row must end ``sent``, every rep with
exactly one DM, and every failed post must have its reason in the log.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.core import outbox
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock, SystemClock
from bot.runtime.settings import load_settings
from bot.slack.sender import EVENT_TYPE, OutboxWorker, make_outbox_client
from bot.storage import Database
from slack_emulator import SlackEmulator
from slack_emulator.limits import Failure
from tests.faults.conftest import Chaos
from tests.support.outbox import WS, all_rows, compose, seed
from tests.support.slack_app import APP_SCOPES

pytestmark = pytest.mark.slow

TOKEN = "xoxb-faults-outage"
REPS = 200
OUTAGE = timedelta(minutes=1)
TICK = 0.03  # real seconds between two moves of the clock
STEP = timedelta(seconds=0.5)  # clock time per move: the minute lasts 3.6 s (plus 429 pauses)
TIMEOUT = 25.0  # real seconds for the whole fan-out
RETRY_LINE = re.compile(r"^delivery (\d+): (.+?), (?:attempt \d+, )?again in [\d.]+s$")


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(scopes=APP_SCOPES, bot_token=TOKEN, team_id=WS) as e:
        yield e


# (name, share of all posts, how it fails): a fifth in all; few 429s, as each one pauses
# the worker for its real ``Retry-After: 1`` second
WAYS: list[tuple[str, float, dict[str, Any]]] = [
    ("500", 0.06, {"kind": "status", "status": 500}),
    ("503", 0.06, {"kind": "status", "status": 503}),
    ("drop", 0.06, {"kind": "drop"}),
    ("429", 0.02, {"kind": "status", "status": 429}),
]


def outage(emu: SlackEmulator, seed: int) -> dict[str, Failure]:
    """Fail a seeded fifth of the posts, in the ways of :data:`WAYS`.

    The emulator tries its rules in order, each with its own rate, so a rule's rate is its
    share of the calls that the rules before it let through."""
    emu.failures.seed(seed)
    rules, taken = {}, 0.0
    for name, share, options in WAYS:
        rules[name] = emu.inject_failure("chat.postMessage", rate=share / (1 - taken), **options)
        taken += share
    return rules


async def test_a_fifth_of_the_posts_fail_for_a_minute_and_nothing_is_lost_or_doubled(
    chaos: Chaos,
    emu: SlackEmulator,
    database_url: str,
    aiohttp_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="bot.slack.sender")
    users = [f"U{i:05d}" for i in range(REPS)]
    for user in users:
        emu.add_user(user)
    # from the real now: a dropped post is looked for in the DM history (whose ts are real
    # time) from its row's creation on
    clock = ManualClock(SystemClock().now())
    settings = load_settings(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=emu.api_url,
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_HISTORY_PER_MINUTE=50,  # as an internal app (Tier 3)
    )
    rt = Runtime(settings=settings, db=Database(database_url), clock=clock)
    await seed(rt.db, clock, users)
    worker = OutboxWorker(
        rt, make_outbox_client(settings, session=aiohttp_session), compose, worker_id="w1"
    )

    rules = outage(emu, chaos.seed)
    ends = clock.now() + OUTAGE
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop, idle_seconds=TICK / 2))
    deadline = time.monotonic() + TIMEOUT
    after: dict[str, int] | None = None  # the outbox when Slack was well again
    try:
        while True:
            await asyncio.sleep(TICK)
            if worker.throttle.paused_for() > 0:
                continue  # a 429's Retry-After is real time: the clock waits with the worker
            clock.advance(STEP)
            counts = await outbox.counts(rt.db, WS)
            # the minute is over, and each way has struck once (with few posts in the
            # minute, on a loaded machine, a 6 % way could miss it: 0.94^46 is 6 %); at most
            # one more minute, far from a row's eighth attempt
            struck = all(rules[name].fired for name in ("500", "503", "drop"))
            if after is None and clock.now() >= ends + (OUTAGE if not struck else timedelta()):
                emu.clear_failures()
                after = counts
                posts_during = len(emu.calls_to("chat.postMessage"))
            elif after is not None and counts["pending"] == counts["sending"] == 0:
                break
            assert time.monotonic() < deadline, (str(chaos), counts)
    finally:
        stop.set()
        await running

    fired = {name: rule.fired for name, rule in rules.items()}
    context = (str(chaos), fired, worker.stats, after)
    print(f"{chaos}: {posts_during} posts during the outage, failed {fired}, then {after}")
    # the outage hit the fan-out: about a fifth of its posts, in (nearly) every way
    # a seeded 20 % of the posts: within four standard deviations of a binomial draw (a 0.3
    # bound failed one seed in fifteen with some 60 posts in the minute)
    share, spread = sum(fired.values()) / posts_during, 4 * math.sqrt(0.2 * 0.8 / posts_during)
    assert abs(share - 0.2) < spread, (context, posts_during)
    assert fired["500"] and fired["503"] and fired["drop"], context  # 429: 2 %, may be 0
    posts = emu.calls_to("chat.postMessage")
    assert len([c for c in posts if not c.ok]) == sum(fired.values()), context
    # nothing lost, nothing doubled
    rows = {r.user_id: r for r in await all_rows(rt.db)}
    for user in users:
        messages = emu.dm_messages(user)
        assert len(messages) == 1, (context, user, len(messages))
        row = rows[user]
        assert (row.status, row.message_ts) == ("sent", messages[0]["ts"]), (context, row)
        assert messages[0]["metadata"] == {
            "event_type": EVENT_TYPE,
            "event_payload": {"delivery_id": row.id},
        }
    counts = await outbox.counts(rt.db, WS)
    assert counts["sent"] == REPS == sum(counts.values()), (context, counts)
    assert len([c for c in posts if c.ok]) == REPS, context
    # every failed post said why: one "again in" line each, naming the error
    reasons = [m.group(2) for r in caplog.records if (m := RETRY_LINE.match(r.getMessage()))]
    assert len(reasons) == sum(fired.values()), (context, reasons)
    assert reasons.count("unconfirmed: internal_error") == fired["500"], (context, reasons)
    assert reasons.count("service_unavailable") == fired["503"], (context, reasons)
    assert reasons.count("ratelimited") == fired["429"], (context, reasons)
    dropped = [r for r in reasons if r.startswith("unconfirmed: ") and "internal_error" not in r]
    assert len(dropped) == fired["drop"], (context, sorted(set(dropped)))
    await rt.db.dispose()
