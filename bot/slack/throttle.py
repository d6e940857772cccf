"""Pacing one outbox worker's posts against Slack's rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


async def stopped(stop: asyncio.Event | None, delay: float) -> bool:
    """Sleep ``delay`` seconds; True (at once) if ``stop`` is set first."""
    if stop is None:
        await asyncio.sleep(delay)
        return False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
    return stop.is_set()


@dataclass(kw_only=True, eq=False)
class Throttle:
    """Paces one worker's posts: a shared pause after a 429, and an adaptive rate.

    Posts go unpaced (bounded only by the worker's concurrency) until the first 429. Every
    429 pauses all senders for its ``Retry-After``; at most once per ``min_gap`` seconds it
    also cuts the rate to ``backoff`` times what Slack let through since the previous cut (and
    never below half the old rate). While the pace is what holds sending back, the rate grows:
    fast (``fast`` per second) after a cut made on thin evidence or back towards 90 % of the
    rate before the last cut, slowly (``growth`` per second) past that, probing for more.
    Timing uses the monotonic clock: it measures real request rates, not domain time.
    """

    rate: float | None = None  # posts per second; None: unpaced
    min_rate: float = 1.0
    growth: float = 0.003
    fast: float = 0.5
    backoff: float = 0.95
    min_gap: float = 3.0
    window: float = 20.0
    monotonic: Callable[[], float] = time.monotonic
    # distinct 429 events (echoes of one pause not counted)
    limited: int = field(default=0, init=False)
    cuts: int = field(default=0, init=False)
    paused_until: float = field(default=0.0, init=False)
    _next: float = field(default=0.0, init=False)
    _bound: bool = field(default=False, init=False)  # the last grant waited for the pace
    _probing: bool = field(default=True, init=False)
    _recover_to: float | None = field(default=None, init=False)
    _first: float | None = field(default=None, init=False)
    _last_event: float | None = field(default=None, init=False)
    _last_cut: float | None = field(default=None, init=False)
    _successes: deque[float] = field(default_factory=deque, init=False)

    def paused_for(self) -> float:
        return max(0.0, self.paused_until - self.monotonic())

    async def wait_open(self, stop: asyncio.Event | None = None) -> bool:
        """Return once no pause is in force (True), or once ``stop`` is set (False)."""
        while (delay := self.paused_for()) > 0:
            if await stopped(stop, delay):
                return False
        return True

    async def acquire(self, stop: asyncio.Event | None = None) -> float | None:
        """Wait for this sender's turn; returns when it was granted (monotonic seconds), or
        None if ``stop`` was set meanwhile."""
        while True:
            if not await self.wait_open(stop):
                return None
            now = self.monotonic()
            if self.rate is None:
                return now
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
            self._bound = slot > now
            if slot > now:
                if await stopped(stop, slot - now):
                    return None
                if self.paused_for() > 0:  # a 429 arrived while this sender waited
                    continue
            return self.monotonic()

    def success(self) -> None:
        """A post went through."""
        now = self.monotonic()
        if self._first is None:
            self._first = now
        self._successes.append(now)
        while self._successes and self._successes[0] < now - self.window:
            self._successes.popleft()
        if self.rate is None or not self._bound:
            return  # the pace is not what holds sending back: no reason to raise it
        recovering = self._recover_to is not None and self.rate < self._recover_to
        if self._probing or recovering:
            self.rate += self.fast  # per post, so ``fast`` * rate per second
            return
        measured = sum(1 for t in self._successes if t >= now - 5.0) / 5.0
        if self.rate < 2.0 * measured + 1.0:  # and the rate is really being used
            self.rate += self.growth

    def rate_limited(self, seconds: float, granted_at: float | None = None) -> None:
        """A 429 with ``Retry-After: seconds`` for a post granted at ``granted_at``."""
        now = self.monotonic()
        self.paused_until = max(self.paused_until, now + seconds)
        self._next = max(self._next, self.paused_until)
        if self._last_event is not None and (granted_at or now) < self._last_event:
            return  # sent before the previous 429 was known: the same event
        self._last_event = now
        self.limited += 1
        if self._last_cut is not None and now - self._last_cut < self.min_gap:
            return
        anchor = self._last_cut if self._last_cut is not None else self._first
        since = max(anchor if anchor is not None else now, now - self.window)
        let_through = sum(1 for t in self._successes if t >= since)
        if let_through < 5:
            return  # nothing to measure: the pause is the answer
        span = now - since
        reliable = (
            self.rate is not None
            and self._last_cut is not None
            and span >= self.min_gap
            and let_through >= 20
        )
        estimate = let_through / span if reliable else let_through / (span + seconds)
        before = self.rate
        ceiling = estimate if before is None else min(before, estimate)
        floor = 0.5 * before if before is not None else 0.0
        self.rate = max(self.min_rate, self.backoff * ceiling, floor)
        self._recover_to = 0.9 * before if before is not None else None
        self._probing = not reliable
        self._last_cut = now
        self.cuts += 1
