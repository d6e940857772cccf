"""The outbox worker: posts due :class:`~bot.storage.models.Delivery` rows as DMs, each once.

::

    client = make_outbox_client(settings, session=aiohttp.ClientSession())
    worker = OutboxWorker(runtime, client, compose, worker_id=default_worker_id())
    await worker.run_forever(stop)

Every post carries ``metadata={"event_type": "trustbot_delivery", "event_payload":
{"delivery_id": id}}``, so a message whose fate is unknown (the worker died between the post and
``mark_sent``, or the connection dropped mid-request) is looked up in the DM's history before it
is sent again. A 429 pauses every send of this worker until ``Retry-After`` (a shared gate) and
lowers the pace; the pace creeps back up while Slack accepts it (:class:`Throttle`).

With ``tokens`` (a workspace ID -> bot token lookup, see
:class:`bot.slack.client.WorkspaceClients`), every call carries the token of the row's
workspace; a workspace with no token (uninstalled) has its rows skipped as
:data:`NOT_INSTALLED`, never retried.

The client must not retry by itself: slack_sdk's rate-limit handler would sleep in one task
while the others keep hitting the limit, and its connection-error handler re-posts after a
dropped connection, which can duplicate a message. :func:`make_outbox_client` builds one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import outbox
from bot.core.outbox import RetryPolicy, Skip
from bot.runtime import Runtime, logs
from bot.runtime.settings import Settings
from bot.slack.failures import Outcome, classify
from bot.slack.history import HistoryBusy, HistoryPacer, HistoryTooLong, find_by_metadata, pacer_of
from bot.slack.throttle import Throttle
from bot.storage.models import Delivery

log = logging.getLogger(__name__)

EVENT_TYPE = "trustbot_delivery"

NOT_INSTALLED = "app_not_installed"
"""``last_error`` of a row skipped because its workspace has no installation (uninstalled)."""

TokenLookup = Callable[[str], Awaitable[str | None]]
"""A workspace ID -> its bot token, or None when the app is not installed there."""

Composed = dict[str, Any] | Skip | None
Composer = Callable[[Delivery], Awaitable[Composed]]
"""Builds a row's chat.postMessage arguments (``text``, ``blocks``); ``Skip``/None: don't send."""


def default_worker_id() -> str:
    """Unique per process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def make_outbox_client(
    settings: Settings,
    token: str | None = None,
    *,
    session: aiohttp.ClientSession | None = None,
    timeout: int = 10,
) -> AsyncWebClient:
    """A Web API client without retry handlers, for :class:`OutboxWorker` only.

    Pass a ``session`` (created on the running loop, closed by the caller) to reuse
    connections; without one slack_sdk opens a connection per call.
    """
    return AsyncWebClient(
        token=token or settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        timeout=timeout,
        session=session,
        retry_handlers=[],
    )


# -- the worker ---------------------------------------------------------------


@dataclass
class WorkerStats:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    recovered_sent: int = 0
    recovered_pending: int = 0
    lost_claims: int = 0


class _Unverifiable(Exception):
    """The DM's history is too long to look through."""


class _NotInstalled(Exception):
    """The row's workspace has no bot token: the app was uninstalled there."""


class OutboxWorker:
    """Claims due deliveries and posts them with bounded concurrency. One per process."""

    def __init__(
        self,
        runtime: Runtime,
        client: AsyncWebClient,
        compose: Composer,
        *,
        worker_id: str,
        concurrency: int = 8,
        batch: int = 100,
        lease_seconds: float = 60.0,
        policy: RetryPolicy | None = None,
        throttle: Throttle | None = None,
        request_timeout: float | None = None,
        recover_every: float | None = None,
        kinds: Sequence[str] | None = None,
        tokens: TokenLookup | None = None,
        history: HistoryPacer | None = None,
    ) -> None:
        if any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers):
            raise ValueError("the outbox client must not retry 429s itself: make_outbox_client")
        if concurrency < 1 or batch < 1 or lease_seconds <= 0:
            raise ValueError("concurrency, batch and lease_seconds must be positive")
        self.runtime = runtime
        self.kinds = kinds  # None: every kind of delivery
        self.client = client
        self.tokens = tokens  # None: the client's own token for every row
        self.compose = compose
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.policy = policy or RetryPolicy()
        self.throttle = throttle or Throttle()
        # a request must end well inside the lease, or a live post could race a recovery
        self.request_timeout = request_timeout or min(15.0, lease_seconds / 3)
        self.recover_every = recover_every or max(1.0, lease_seconds / 2)
        self.stats = WorkerStats()
        self._free = concurrency  # senders not busy with a row
        self._freed = asyncio.Event()
        self._inflight: set[int] = set()
        self._dm_channels: dict[tuple[str, str], str] = {}
        self._stop: asyncio.Event | None = None
        self.history = history or pacer_of(runtime)  # conversations.history, per workspace

    # -- running ------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """Send until ``stop`` is set (then finish what is in flight), recovering stale rows at
        start and every ``recover_every`` seconds."""
        self._stop = stop
        loop = asyncio.get_running_loop()
        next_recovery = loop.time()
        while not stop.is_set():
            if loop.time() >= next_recovery:
                try:
                    await self.recover()
                except Exception:
                    log.exception("outbox recovery failed")
                next_recovery = loop.time() + self.recover_every
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox batch failed")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)

    async def run_once(self) -> int:
        """Claim up to ``batch`` due rows, a few at a time as senders free up, and send them.
        Returns how many rows were claimed (and are now handled)."""
        handled = 0
        tasks: list[asyncio.Task[None]] = []
        try:
            while handled < self.batch and not (self._stop and self._stop.is_set()):
                if not await self.throttle.wait_open(self._stop):  # claim nothing while paused
                    break
                free = await self._take_senders(min(self.concurrency, self.batch - handled))
                try:
                    rows = await outbox.claim_due(
                        self.runtime.db, self.runtime.clock, self.worker_id, free, self.kinds
                    )
                except BaseException:
                    self._release(free)
                    raise
                self._release(free - len(rows))
                if not rows:
                    break
                self.stats.claimed += len(rows)
                for row in rows:
                    assert row.id is not None
                    self._inflight.add(row.id)
                    tasks.append(asyncio.create_task(self._deliver(row)))
                handled += len(rows)
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        return handled

    async def _take_senders(self, wanted: int) -> int:
        """Wait until half the senders (or ``wanted``) are free, then take up to ``wanted``:
        claiming a few rows per transaction, not one row per freed sender."""
        enough = max(1, min(wanted, self.concurrency // 2))
        while self._free < enough:
            self._freed.clear()
            await self._freed.wait()
        taken = min(self._free, wanted)
        self._free -= taken
        return taken

    def _release(self, senders: int) -> None:
        if senders > 0:
            self._free += senders
            self._freed.set()

    async def _deliver(self, row: Delivery) -> None:
        assert row.id is not None
        logs.delivery_id.set(row.id)  # this task's log lines carry the row's id
        try:
            await self._send(row)
        except _NotInstalled:
            await self._not_installed(row)
        except Exception as exc:  # the database or a bug: never lose the row, never resend blindly
            log.exception("delivery %s: unexpected error", row.id)
            try:
                await self._retry(row, Outcome("uncertain", f"worker_error: {type(exc).__name__}"))
            except Exception:
                log.exception("delivery %s: could not record the error; recovery will", row.id)
        finally:
            self._inflight.discard(row.id)
            self._release(1)

    # -- one row ------------------------------------------------------------

    async def _auth(self, row: Delivery) -> dict[str, str]:
        """``{"token": ...}`` for the row's workspace ({} without ``tokens``); raises
        :class:`_NotInstalled` when the workspace has none."""
        if self.tokens is None:
            return {}
        token = await self.tokens(row.workspace_id)
        if token is None:
            raise _NotInstalled(row.workspace_id)
        return {"token": token}

    async def _not_installed(self, row: Delivery) -> None:
        assert row.id is not None
        log.info("delivery %s skipped: the app is not installed in %s", row.id, row.workspace_id)
        if await outbox.mark_skipped(
            self.runtime.db, row.id, NOT_INSTALLED, worker_id=self.worker_id
        ):
            self.stats.skipped += 1

    async def _send(self, row: Delivery) -> None:
        assert row.id is not None and row.claimed_at is not None
        db, clock = self.runtime.db, self.runtime.clock
        auth = await self._auth(row)
        doubt = outbox.is_unconfirmed(row)
        if doubt:
            if await self._settle(row, outbox.search_from(row), doubt=True, auth=auth):
                return
            doubt = False
        try:
            composed = await self.compose(row)
        except Exception as exc:
            log.exception("delivery %s: compose failed", row.id)
            await self._retry(row, Outcome("retry", f"compose_error: {type(exc).__name__}"))
            return
        if composed is None or isinstance(composed, Skip):
            skip = composed if isinstance(composed, Skip) else Skip("skipped")
            reason = skip.reason
            marked = await outbox.mark_skipped(
                db, row.id, reason, worker_id=self.worker_id, status=skip.status
            )
            if marked:
                self.stats.skipped += 1
                log.info("delivery %s skipped: %s", row.id, reason)
            return
        granted = await self.throttle.acquire(self._stop)
        if granted is None:  # shutting down: hand the row back untouched
            await outbox.mark_deferred(
                db, row.id, clock, 0, row.last_error, worker_id=self.worker_id
            )
            return
        claimed_at = row.claimed_at
        if clock.now() - claimed_at > timedelta(seconds=self.lease_seconds / 3):
            renewed = await outbox.renew(db, row.id, self.worker_id, claimed_at, clock)
            if renewed is None:
                self.stats.lost_claims += 1
                return
            row.claimed_at = renewed
        arguments = {
            **composed,
            **auth,
            "channel": row.user_id,
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": row.id}},
        }
        try:
            async with asyncio.timeout(self.request_timeout):
                response = await self.client.chat_postMessage(**arguments)
        except Exception as exc:
            outcome = classify(exc)
            if outcome.kind == "rate_limited":
                self.throttle.rate_limited(outcome.retry_after, granted)
            await self._retry(row, outcome, doubt=doubt)
            return
        self.throttle.success()
        channel = str(response["channel"])
        self._dm_channels[row.workspace_id, row.recipient] = channel
        await outbox.mark_sent(db, row.id, channel, str(response["ts"]), clock)
        self.stats.sent += 1
        log.debug("%s delivery sent", row.kind)  # the line carries the delivery id

    async def _retry(
        self,
        row: Delivery,
        outcome: Outcome,
        *,
        doubt: bool = False,
        since: datetime | None = None,
    ) -> None:
        """Record a failed call: defer, retry with backoff, or fail the row. A row left in
        doubt records when its doubt began (``since``, default this attempt's claim)."""
        assert row.id is not None
        db, clock, me = self.runtime.db, self.runtime.clock, self.worker_id
        uncertain = doubt or outcome.kind == "uncertain"
        error = outbox.unconfirmed(outcome.error) if uncertain else outcome.error
        unsure = (since or row.claimed_at) if uncertain else None
        if outcome.kind == "rate_limited":
            self.stats.rate_limited += 1
            log.info("delivery %s: %s, again in %.1fs", row.id, error, outcome.retry_after)
            await outbox.mark_deferred(
                db, row.id, clock, outcome.retry_after, error, worker_id=me, unsure_since=unsure
            )
        elif outcome.kind == "permanent":
            self.stats.failed += 1
            log.warning("delivery %s failed for good: %s", row.id, outcome.error)
            await outbox.mark_failed(db, row.id, outcome.error, worker_id=me)
        elif self.policy.exhausted(row.attempts + 1):
            self.stats.failed += 1
            log.warning("delivery %s failed after %d attempts: %s", row.id, row.attempts + 1, error)
            await outbox.mark_failed(db, row.id, error, worker_id=me)
        else:
            self.stats.retried += 1
            delay = self.policy.delay(row.attempts + 1)
            log.info(
                "delivery %s: %s, attempt %d, again in %.1fs",
                row.id,
                error,
                row.attempts + 1,
                delay,
            )
            await outbox.mark_retry(
                db, row.id, clock, delay, error, worker_id=me, unsure_since=unsure
            )

    # -- looking in Slack -------------------------------------------------------

    async def _settle(
        self, row: Delivery, since: datetime, *, doubt: bool, auth: Mapping[str, str]
    ) -> bool:
        """Look for the row's message in Slack. True when that settled the row (found and
        marked sent, or the lookup failed and the row was put back); False: not posted."""
        assert row.id is not None
        try:
            async with asyncio.timeout(self.request_timeout * 2):
                found = await self.find_posted(row, since, token=auth.get("token"))
        except _Unverifiable:
            self.stats.failed += 1
            await outbox.mark_failed(
                self.runtime.db,
                row.id,
                "unverifiable: DM history too long",
                worker_id=self.worker_id,
            )
            return True
        except HistoryBusy as busy:  # the workspace's history calls are spent: look later
            outcome = Outcome("rate_limited", "history_paced", busy.retry_after)
            await self._retry(row, outcome, doubt=doubt, since=since)
            return True
        except Exception as exc:
            await self._retry(row, classify(exc), doubt=doubt, since=since)
            return True
        if found is None:
            return False
        channel, ts = found
        await outbox.mark_sent(self.runtime.db, row.id, channel, ts, self.runtime.clock)
        self.stats.recovered_sent += 1
        return True

    async def dm_channel(self, row: Delivery, token: str | None = None) -> str:
        """The app's DM channel with the row's user (remembered, recorded, or opened);
        ``token``: the workspace's bot token (default: the client's)."""
        key = (row.workspace_id, row.recipient)
        channel = self._dm_channels.get(key) or await outbox.known_dm_channel(
            self.runtime.db, row.workspace_id, row.recipient
        )
        if channel is None:
            auth: dict[str, Any] = {"token": token} if token else {}
            response = await self.client.conversations_open(users=row.user_id, **auth)
            channel = str(response["channel"]["id"])
        self._dm_channels[key] = channel
        return channel

    async def find_posted(
        self, row: Delivery, since: datetime, *, token: str | None = None
    ) -> tuple[str, str] | None:
        """(channel, ts) of the message this row posted at or after ``since``, if any."""
        channel = await self.dm_channel(row, token)
        try:
            ts = await find_by_metadata(
                self.client,
                channel,
                since=since,
                event_type=EVENT_TYPE,
                key="delivery_id",
                value=row.id,
                pacer=self.history,
                workspace_id=row.workspace_id,
                token=token,
            )
        except HistoryTooLong:
            raise _Unverifiable(row.id) from None
        return None if ts is None else (channel, ts)

    # -- recovery ---------------------------------------------------------------

    async def recover(self) -> int:
        """Settle rows left in ``sending`` past their lease: a message found in Slack marks the
        row sent, otherwise it goes back to pending. Returns how many rows were taken over."""
        db, clock = self.runtime.db, self.runtime.clock
        stale = await outbox.stale_sending(db, clock, self.lease_seconds, limit=self.batch)
        taken = 0
        for row in stale:
            if row.id is None or row.id in self._inflight:
                continue
            mine = await outbox.take_over(db, row, self.worker_id, clock)
            if mine is None:
                continue
            taken += 1
            self._inflight.add(row.id)
            in_logs = logs.delivery_id.set(row.id)
            try:
                try:
                    auth = await self._auth(mine)
                except _NotInstalled:
                    await self._not_installed(mine)
                    continue
                since = outbox.search_from(mine, row.claimed_at)
                if await self._settle(mine, since, doubt=True, auth=auth):
                    continue
                if await outbox.mark_deferred(
                    db, row.id, clock, 0, "lease expired: not posted", worker_id=self.worker_id
                ):
                    self.stats.recovered_pending += 1
            finally:
                self._inflight.discard(row.id)
                logs.delivery_id.reset(in_logs)
        if taken:
            log.info("outbox: took over %d stale deliveries", taken)
        return taken
