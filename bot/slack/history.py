"""Finding a message the app posted, by its metadata, in a channel's recent history.

Every post that must happen once (a DM of the outbox, a team's digest) carries
``metadata={"event_type": ..., "event_payload": {key: id}}``; after a crash this is how the
app tells whether the post reached Slack before it posts again.

It reads only what it needs, within what Slack allows an app outside the Marketplace
(docs.slack.dev/reference/methods/conversations.history: since 29 May 2025, one call a
minute and 15 messages a page for such apps; Tier 3, 50+ a minute, for Marketplace and
internal apps): the messages since the attempt began (``oldest``), :data:`PAGE` at a time,
and at most ``TRUSTBOT_HISTORY_PER_MINUTE`` calls a minute per workspace
(:class:`HistoryPacer`). A lookup that would go over, or that Slack answers 429, raises
:class:`HistoryBusy` with the seconds to wait: the caller puts its work back for then,
never fails it. Nothing sleeps or retries here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack.failures import retry_after

PAGE = 15
"""Messages a page: what Slack serves apps outside the Marketplace."""
MAX_PAGES = 10


class HistoryTooLong(LookupError):
    """The channel's history since ``since`` is longer than the pages looked through."""


class HistoryBusy(Exception):
    """No history call for this workspace now: try again in ``retry_after`` seconds."""

    def __init__(self, workspace_id: str, retry_after: float) -> None:
        super().__init__(f"conversations.history for {workspace_id}: again in {retry_after:.0f}s")
        self.workspace_id = workspace_id
        self.retry_after = retry_after


class HistoryPacer:
    """At most ``per_minute`` conversations.history calls a minute per workspace (a bucket
    of ``per_minute`` calls refilled evenly over the minute: Slack's tiers allow bursts
    within the minute's count), and none while Slack's ``Retry-After`` for that workspace
    runs. One per process (a :meth:`bot.runtime.Runtime.service`); processes that share a
    workspace also learn it from Slack's 429."""

    def __init__(
        self, per_minute: int = 1, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.interval = 60.0 / per_minute  # seconds to earn one call back
        self._now = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # workspace -> (calls, as of)
        self._blocked: dict[str, float] = {}  # workspace -> Retry-After ends

    def _calls(self, workspace_id: str) -> float:
        calls, since = self._buckets.get(workspace_id, (self.capacity, self._now()))
        return min(self.capacity, calls + (self._now() - since) / self.interval)

    def wait(self, workspace_id: str) -> float:
        """Seconds until the workspace may make its next call (0: now)."""
        blocked = self._blocked.get(workspace_id, 0.0) - self._now()
        short = (1.0 - self._calls(workspace_id)) * self.interval
        return max(0.0, blocked, short)

    def take(self, workspace_id: str) -> None:
        """Use one of the workspace's calls now, or raise :class:`HistoryBusy`."""
        wait = self.wait(workspace_id)
        if wait > 0:
            raise HistoryBusy(workspace_id, wait)
        self._buckets[workspace_id] = (self._calls(workspace_id) - 1.0, self._now())

    def pause(self, workspace_id: str, seconds: float) -> None:
        """Slack said 429: no call for ``seconds``, and the minute's calls are spent."""
        self._blocked[workspace_id] = max(
            self._blocked.get(workspace_id, 0.0), self._now() + seconds
        )
        self._buckets[workspace_id] = (1.0, self._now() + seconds)  # one call, once over


def pacer_of(runtime: Runtime) -> HistoryPacer:
    """The process's pacer, at ``TRUSTBOT_HISTORY_PER_MINUTE``."""
    per_minute = runtime.settings.TRUSTBOT_HISTORY_PER_MINUTE
    return runtime.service(HistoryPacer, lambda: HistoryPacer(per_minute))


def _no_retries(client: AsyncWebClient) -> AsyncWebClient:
    """``client`` without retry handlers: a 429 is the pacer's to handle, not a sleep."""
    if not client.retry_handlers:
        return client
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        session=client.session,
        retry_handlers=[],
    )


async def find_by_metadata(
    client: AsyncWebClient,
    channel: str,
    *,
    since: datetime,
    event_type: str,
    key: str,
    value: object,
    pacer: HistoryPacer,
    workspace_id: str,
    page: int = PAGE,
    max_pages: int = MAX_PAGES,
    token: str | None = None,
) -> str | None:
    """The ts of the message in ``channel`` at or after ``since`` whose metadata is
    ``event_type`` with ``event_payload[key] == value``; None when there is none. Every page
    is a call the workspace's ``pacer`` allows, or :class:`HistoryBusy`. Raises
    :class:`HistoryTooLong` after ``max_pages`` pages of ``page`` messages."""
    auth: dict[str, Any] = {"token": token} if token else {}
    client = _no_retries(client)
    cursor: str | None = None
    for _ in range(max_pages):
        pacer.take(workspace_id)
        try:
            response = await client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp():.6f}",
                include_all_metadata=True,
                limit=page,
                cursor=cursor,
                **auth,
            )
        except SlackApiError as error:
            status = int(getattr(error.response, "status_code", 0) or 0)
            if status == 429 or error.response.get("error") == "ratelimited":
                seconds = retry_after(error.response.headers, default=pacer.interval)
                pacer.pause(workspace_id, seconds)
                raise HistoryBusy(workspace_id, pacer.wait(workspace_id)) from None
            raise
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and str(payload.get(key)) == str(value):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not response.get("has_more") or not cursor:
            return None
    raise HistoryTooLong(f"channel {channel}: history too long to look through")
