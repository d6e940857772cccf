"""Rate limits (Slack's tiers, chat.postMessage's per-channel rule) and failure injection."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

FailureKind = Literal["status", "drop", "delay"]

TIER_LIMITS_PER_MIN: dict[int, int] = {1: 1, 2: 20, 3: 50, 4: 100}

# Tiers from each method's page on docs.slack.dev ("Rate limits" fact).
METHOD_TIERS: dict[str, int] = {
    "api.test": 4,
    "auth.test": 4,
    "apps.connections.open": 1,
    "chat.delete": 3,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "conversations.info": 3,
    "conversations.open": 3,
    "files.completeUploadExternal": 4,
    "files.getUploadURLExternal": 4,
    "team.info": 3,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "views.open": 4,
    "views.publish": 4,
    "views.push": 4,
    "views.update": 4,
}
DEFAULT_TIER = 3


def default_tier_limits() -> dict[str, int]:
    """Per-minute limit of every method we know, from its tier."""
    return {method: TIER_LIMITS_PER_MIN[tier] for method, tier in METHOD_TIERS.items()}


@dataclass
class TokenBucket:
    """``rate`` tokens a second, holding at most ``capacity``."""

    rate: float
    capacity: float
    tokens: float = -1.0
    last: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def _refill(self, now: float) -> None:
        if now > self.last:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when available now)."""
        self._refill(now)
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class RateLimiter:
    """Decides whether a call is over its limit. Off until ``configure(enabled=True)``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.enabled = False
        self.per_channel_per_s = 1.0
        self.workspace_cap_per_s = 50.0
        self.tier_per_min = default_tier_limits()
        self.default_per_min = TIER_LIMITS_PER_MIN[DEFAULT_TIER]
        self._buckets: dict[str, TokenBucket] = {}

    def configure(
        self,
        *,
        enabled: bool = True,
        per_channel_per_s: float = 1.0,
        workspace_cap_per_s: float = 50.0,
        tier_per_min: dict[str, int] | None = None,
    ) -> None:
        with self._lock:
            self.enabled = enabled
            self.per_channel_per_s = per_channel_per_s
            self.workspace_cap_per_s = workspace_cap_per_s
            self.tier_per_min = default_tier_limits()
            self.tier_per_min.update(tier_per_min or {})
            self._buckets.clear()

    def _bucket(self, key: str, rate: float, capacity: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate=rate, capacity=max(1.0, capacity))
            self._buckets[key] = bucket
        return bucket

    def check(self, method: str, args: dict[str, Any]) -> int | None:
        """Count the call; returns Retry-After seconds when it must be refused."""
        if not self.enabled:
            return None
        now = time.monotonic()
        with self._lock:
            if method == "chat.postMessage":
                channel = str(args.get("channel", ""))
                buckets = [
                    self._bucket(f"chan:{channel}", self.per_channel_per_s, self.per_channel_per_s),
                    self._bucket("workspace", self.workspace_cap_per_s, self.workspace_cap_per_s),
                ]
            else:
                per_min = self.tier_per_min.get(method, self.default_per_min)
                buckets = [self._bucket(f"method:{method}", per_min / 60.0, per_min)]
            wait = max(b.wait_time(now) for b in buckets)
            if wait > 0:
                return max(1, math.ceil(wait))
            for bucket in buckets:
                bucket.take()
        return None


@dataclass
class Failure:
    """One injected failure rule."""

    method: str | None
    kind: FailureKind
    status: int = 503
    delay: float = 0.0
    times: int | None = None
    until: float | None = None
    rate: float = 1.0
    fired: int = 0

    def live(self, now: float) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return self.until is None or now < self.until


class FailureInjector:
    """Holds failure rules; ``pick`` returns the rule that fires for a call, if any."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Failure] = []
        self._random = random.Random()

    def add(
        self,
        *,
        method: str | None,
        kind: FailureKind,
        status: int = 503,
        delay: float = 0.0,
        times: int | None = None,
        duration: float | None = None,
        rate: float = 1.0,
    ) -> Failure:
        if kind not in ("status", "drop", "delay"):
            raise ValueError(f"unknown failure kind: {kind}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        until = time.monotonic() + duration if duration is not None else None
        rule = Failure(
            method=method,
            kind=kind,
            status=status,
            delay=delay,
            times=times,
            until=until,
            rate=rate,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def seed(self, seed: int) -> None:
        """Make ``rate`` rules deterministic."""
        self._random.seed(seed)

    def pick(self, method: str) -> Failure | None:
        now = time.monotonic()
        with self._lock:
            for rule in self._rules:
                if rule.method not in (None, method) or not rule.live(now):
                    continue
                if rule.rate < 1.0 and self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                return rule
        return None
