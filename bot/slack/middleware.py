"""Global Bolt middleware (request ids, the workspace row) and event de-duplication.

De-duplication is not a middleware: Bolt runs middleware before its ack, and an Events API
request must be answered before any database work (a retry is Slack's answer to a slow ack).
:func:`once_per_event` wraps each event listener instead, which Bolt runs after the ack.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import logs
from bot.events import first_sighting
from bot.runtime import Runtime
from bot.workspaces import ensure_workspace

log = logging.getLogger(__name__)


def install(app: AsyncApp, runtime: Runtime) -> None:
    """Add the middleware to ``app``, in order."""
    known: set[str] = set()

    @app.middleware
    async def request_ids(body: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> None:
        logs.request_id.set(
            str(body.get("event_id") or body.get("trigger_id") or uuid.uuid4().hex[:12])
        )
        await next_()

    @app.middleware
    async def workspace_row(context: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> None:
        team_id = context.get("team_id")
        if team_id and team_id not in known:
            await ensure_workspace(runtime.db, team_id, runtime.clock)
            known.add(team_id)
        await next_()


Listener = Callable[..., Awaitable[None]]


def once_per_event(runtime: Runtime) -> Callable[[Listener], Listener]:
    """Decorate an event listener (which takes ``body``) so that a retried delivery of an
    event already handled, even before a restart, does nothing. Bolt acks first."""

    def wrap(listener: Listener) -> Listener:
        if "body" not in inspect.signature(listener).parameters:
            raise TypeError(f"{listener.__name__} must take `body` to be de-duplicated")

        @functools.wraps(listener)
        async def run(*args: Any, **kwargs: Any) -> None:
            event_id = kwargs["body"].get("event_id")
            if isinstance(event_id, str) and not await first_sighting(
                runtime.db, event_id, runtime.clock
            ):
                log.info("event %s already handled; ignoring the retry", event_id)
                return
            await listener(*args, **kwargs)

        return run

    return wrap
