"""One scheduler at a time: the lease is exclusive, renewable, and taken over when it lapses."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core import lease
from bot.runtime.clock import ManualClock
from bot.storage import Database

TTL = timedelta(seconds=30)


async def test_exclusive_renewable_and_taken_over(db: Database, clock: ManualClock) -> None:
    assert await lease.acquire(db, "scheduler", "a", TTL, clock)
    assert not await lease.acquire(db, "scheduler", "b", TTL, clock)  # b waits
    clock.advance(20)
    assert await lease.acquire(db, "scheduler", "a", TTL, clock)  # a renews
    clock.advance(20)
    assert not await lease.acquire(db, "scheduler", "b", TTL, clock)  # renewed: still a's
    clock.advance(31)  # a died and stopped renewing
    assert await lease.acquire(db, "scheduler", "b", TTL, clock)
    assert not await lease.acquire(db, "scheduler", "a", TTL, clock)  # a is back: it waits
    assert await lease.holder(db, "scheduler") == "b"


async def test_release_hands_over_at_once(db: Database, clock: ManualClock) -> None:
    assert await lease.acquire(db, "scheduler", "a", TTL, clock)
    await lease.release(db, "scheduler", "a")
    assert await lease.acquire(db, "scheduler", "b", TTL, clock)


async def test_racing_first_acquirers_get_one_winner(database_url: str, clock: ManualClock) -> None:
    dbs = [Database(database_url) for _ in range(4)]
    won = await asyncio.gather(
        *(lease.acquire(d, "scheduler", f"p{i}", TTL, clock) for i, d in enumerate(dbs))
    )
    assert sum(won) == 1
    for d in dbs:
        await d.dispose()
