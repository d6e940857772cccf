"""Rate limits (Slack's tiers, chat.postMessage's per-channel rule, the non-Marketplace
conversations.history rule), failure injection, and the clock they run on.

``Retry-After``, as Slack sends it with a 429, is a whole number of seconds ("a Retry-After
header containing the number of seconds until you can retry", docs.slack.dev/apis/web-api/
rate-limits, the older api.slack.com/docs/rate-limits text). Slack publishes no per-method
values; its own example is ``Retry-After: 30``. We answer the seconds until the call would
be accepted, rounded up, and never less than 1: slack_sdk's ``RateLimitErrorRetryHandler``
sleeps ``int(Retry-After) + random()`` seconds (slack_sdk/http_retry/builtin_handlers.py), so a
value rounded down would send the retry before the budget is back, and a 0 would make a client
that trusts the header alone retry at once.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from typing import Any, Literal

from slack_emulator.clock import EmulatorClock

FailureKind = Literal["status", "drop", "delay"]


def retry_after(wait: float) -> int:
    """The ``Retry-After`` value for a call that may be retried in ``wait`` seconds: whole
    seconds, rounded up, at least 1 (see the module docstring)."""
    return max(1, math.ceil(wait))


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
    last: float = 0.0

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
    """Decides whether a call is over its limit. Off until ``configure(enabled=True)``.

    Budgets are kept per workspace, as Slack counts them "per API method per workspace/team
    per app" (docs.slack.dev/apis/web-api/rate-limits).
    """

    def __init__(self, clock: EmulatorClock | None = None) -> None:
        self.clock = clock or EmulatorClock()
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

    def _bucket(self, key: str, rate: float, capacity: float, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate=rate, capacity=max(1.0, capacity), last=now)
            self._buckets[key] = bucket
        return bucket

    def check(self, method: str, args: dict[str, Any], team_id: str = "") -> int | None:
        """Count the call; returns Retry-After seconds when it must be refused."""
        if not self.enabled:
            return None
        now = self.clock.now()
        with self._lock:
            if method == "chat.postMessage":
                channel = str(args.get("channel", ""))
                per_channel, cap = self.per_channel_per_s, self.workspace_cap_per_s
                buckets = [
                    self._bucket(f"{team_id}:chan:{channel}", per_channel, per_channel, now),
                    self._bucket(f"{team_id}:workspace", cap, cap, now),
                ]
            else:
                per_min = self.tier_per_min.get(method, self.default_per_min)
                buckets = [self._bucket(f"{team_id}:method:{method}", per_min / 60.0, per_min, now)]
            wait = max(b.wait_time(now) for b in buckets)
            if wait > 0:
                return retry_after(wait)
            for bucket in buckets:
                bucket.take()
        return None


NON_MARKETPLACE_PAGE = 15
NON_MARKETPLACE_WINDOW = 60.0


class NonMarketplaceHistory:
    """conversations.history as Slack serves apps distributed outside the Marketplace.

    docs.slack.dev/reference/methods/conversations.history: "As of May 29, 2025, for new
    applications and installation commercially distributed outside of the Marketplace, this
    method is rate limited to 1 request per minute. The maximum and default values for the
    limit parameter have both been reduced to 15 objects. [...] Beginning March 3, 2026,
    existing installations [...] will also be subject to the new posted limits." (changelog
    2025-05-29, "Rate limit changes for non-Marketplace apps"; the same words for
    conversations.replies, which the emulator does not serve). Internal (customer-built) and
    Marketplace apps keep Tier 3, so this is off unless ``enabled``.

    The minute is counted per method per workspace, like every Slack rate limit; a call refused
    with 429 does not restart it. What Slack answers to ``limit`` above 15 is not documented:
    third parties report a silently shorter page, which is what ``page_size`` gives.
    """

    METHODS = frozenset({"conversations.history", "conversations.replies"})

    def __init__(self, clock: EmulatorClock) -> None:
        self.clock = clock
        self.enabled = False
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def configure(self, enabled: bool) -> None:
        with self._lock:
            self.enabled = enabled
            self._last.clear()

    def check(self, method: str, team_id: str) -> int | None:
        """Count the call; returns Retry-After seconds when it comes within the minute."""
        if not self.enabled or method not in self.METHODS:
            return None
        now = self.clock.now()
        with self._lock:
            last = self._last.get((team_id, method))
            if last is not None and now - last < NON_MARKETPLACE_WINDOW:
                return retry_after(NON_MARKETPLACE_WINDOW - (now - last))
            self._last[(team_id, method)] = now
        return None

    def page_size(self, asked: int | None, default: int, maximum: int) -> int:
        """How many messages a page holds when ``limit=asked`` (None or < 1: not given)."""
        if self.enabled:
            default = maximum = NON_MARKETPLACE_PAGE
        if asked is None or asked < 1:
            return default
        return min(asked, maximum)


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
    retry_after: int = 1
    """``Retry-After`` seconds sent with an injected 429 (Slack reports about 1 s for
    chat.postMessage's per-second rule; its docs' example is 30)."""

    def live(self, now: float) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return self.until is None or now < self.until


class FailureInjector:
    """Holds failure rules; ``pick`` returns the rule that fires for a call, if any."""

    def __init__(self, clock: EmulatorClock | None = None) -> None:
        self.clock = clock or EmulatorClock()
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
        retry_after: int = 1,
    ) -> Failure:
        if kind not in ("status", "drop", "delay"):
            raise ValueError(f"unknown failure kind: {kind}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if retry_after < 1:
            raise ValueError("Retry-After is at least 1 second")
        until = self.clock.now() + duration if duration is not None else None
        rule = Failure(
            method=method,
            kind=kind,
            status=status,
            delay=delay,
            times=times,
            until=until,
            rate=rate,
            retry_after=retry_after,
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
        now = self.clock.now()
        with self._lock:
            for rule in self._rules:
                if rule.method not in (None, method) or not rule.live(now):
                    continue
                if rule.rate < 1.0 and self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                return rule
        return None
