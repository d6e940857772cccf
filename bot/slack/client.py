"""The Web API client: ``SLACK_API_URL`` plus slack_sdk's retry handlers, and the client of
each workspace for background work (:class:`WorkspaceClients`).

Requests from Slack carry their workspace's client (Bolt's ``client`` argument). Work the
app starts itself (the outbox, reminders, digests, time zones, e-mail lookups) asks
:func:`client_for` for the workspace's client: with one bot token (``SLACK_BOT_TOKEN``) that
token, with OAuth installs the workspace's own bot token from the installation store; None
for a workspace that uninstalled the app, whose work is then skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import workspaces
from bot.runtime import Runtime
from bot.runtime.settings import Settings

log = logging.getLogger(__name__)

TOKEN_TTL = 10.0
"""Seconds a workspace's token (or its absence) is remembered."""

BotTokenLookup = Callable[[str], Awaitable[str | None]]
"""A workspace ID -> the bot token of its latest installation, if any."""


def retry_handlers() -> list[AsyncRetryHandler]:
    """Connection errors, 429 (honouring Retry-After) and 5xx are retried with backoff."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
        AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        AsyncServerErrorRetryHandler(max_retry_count=3),
    ]


def make_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(
        token=token or settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        timeout=10,
        retry_handlers=retry_handlers(),
    )


class WorkspaceClients:
    """The bot token and Web API client of each workspace, remembered for ``ttl`` seconds.

    ``installations`` looks up a workspace's bot token (OAuth mode); without it every
    workspace uses ``SLACK_BOT_TOKEN``. Either way a workspace marked uninstalled
    (:func:`bot.workspaces.mark_uninstalled`) has none.
    """

    def __init__(
        self,
        runtime: Runtime,
        installations: BotTokenLookup | None = None,
        *,
        ttl: float = TOKEN_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.installations = installations
        self.ttl = ttl
        self._now = monotonic
        self._tokens: dict[str, tuple[float, str | None]] = {}
        self._clients: dict[str, AsyncWebClient] = {}

    async def token(self, workspace_id: str) -> str | None:
        """The workspace's bot token; None when the app is not installed there."""
        hit = self._tokens.get(workspace_id)
        if hit is not None and hit[0] > self._now():
            return hit[1]
        token: str | None = None
        if not await workspaces.is_installed(self.runtime.db, workspace_id):
            reason = "it uninstalled the app"
        elif self.installations is not None:
            token = await self.installations(workspace_id)
            reason = "no installation is stored for it"
        else:
            token = self.runtime.settings.SLACK_BOT_TOKEN
            reason = "SLACK_BOT_TOKEN is not set"
        if token is None and (hit is None or hit[1] is not None):
            log.info("workspace %s: its Slack work is skipped: %s", workspace_id, reason)
        self._tokens[workspace_id] = (self._now() + self.ttl, token)
        return token

    async def client(self, workspace_id: str) -> AsyncWebClient | None:
        """A client (with the retry handlers) holding the workspace's token, or None."""
        token = await self.token(workspace_id)
        if token is None:
            return None
        client = self._clients.get(token)
        if client is None:
            if len(self._clients) > 1000:
                self._clients.clear()
            client = self._clients[token] = make_client(self.runtime.settings, token)
        return client

    def forget(self, workspace_id: str | None = None) -> None:
        """Look the workspace (None: every workspace) up again on next use."""
        if workspace_id is None:
            self._tokens.clear()
        else:
            self._tokens.pop(workspace_id, None)


ClientSource = AsyncWebClient | WorkspaceClients
"""One client for every workspace (single-workspace code and tests), or one per workspace."""


async def client_for(source: ClientSource, workspace_id: str) -> AsyncWebClient | None:
    """The client to use for ``workspace_id``'s background work; None: skip that work."""
    if isinstance(source, WorkspaceClients):
        return await source.client(workspace_id)
    return source
