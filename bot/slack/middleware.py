"""Global Bolt middleware: the workspace row and event de-duplication."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

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

    @app.middleware
    async def once_per_event(
        body: dict[str, Any], next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not await first_sighting(
            runtime.db, event_id, runtime.clock
        ):
            log.info("event %s already handled; acknowledging the retry", event_id)
            return BoltResponse(status=200, body="")
        await next_()
        return None
