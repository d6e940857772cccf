"""Who a deal update is about: e-mail lookups behind a cache, and the workspace of a
single-workspace install."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.core.deals.model import ResolveEmail, WorkspaceResolver
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import Clock
from bot.storage.models import Workspace

log = logging.getLogger(__name__)


class EmailCache:
    """Remembers e-mail lookups (hits for ``ttl``, misses for ``miss_ttl``) per workspace."""

    def __init__(
        self,
        clock: Clock,
        ttl: timedelta = timedelta(hours=1),
        miss_ttl: timedelta = timedelta(minutes=5),
        max_entries: int = 10_000,
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self.miss_ttl = miss_ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[datetime, str | None]] = {}

    async def resolve(self, workspace_id: str, email: str, lookup: ResolveEmail) -> str | None:
        key = (workspace_id, email.strip().lower())
        now = self.clock.now()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        user_id = await lookup(workspace_id, email)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now + (self.ttl if user_id else self.miss_ttl), user_id)
        return user_id

    def resolver(self, lookup: ResolveEmail) -> ResolveEmail:
        """``lookup`` behind this cache."""

        async def resolve(workspace_id: str, email: str) -> str | None:
            return await self.resolve(workspace_id, email, lookup)

        return resolve


def email_cache(runtime: Runtime) -> EmailCache:
    """The runtime's one :class:`EmailCache`, shared by the webhooks, the events and the jobs."""
    return runtime.service(EmailCache, lambda: EmailCache(runtime.clock))


def single_workspace(
    runtime: Runtime, auth_test: Callable[[], Awaitable[Mapping[str, Any]]] | None = None
) -> WorkspaceResolver:
    """The workspace of a single-workspace install, for webhooks (which name none).

    ``auth_test`` (e.g. the bot client's ``auth_test``) is asked once; its ``team_id`` is
    recorded as a :class:`~bot.storage.models.Workspace` and remembered. Without it, or
    while Slack cannot be reached, the only active workspace row is used (and, without
    ``auth_test``, remembered); with none or several, ``None`` (the webhook answers 503 and
    stores nothing).
    """
    known: list[str] = []

    async def resolve() -> str | None:
        if known:
            return known[0]
        if auth_test is not None:
            try:
                answer = await auth_test()
                team_id = str(answer["team_id"])
                await ensure_workspace(
                    runtime.db, team_id, runtime.clock, str(answer.get("team", ""))
                )
            except Exception:
                log.warning("auth.test failed; falling back to the workspace table", exc_info=True)
            else:
                known.append(team_id)
                return team_id
        async with runtime.db.session() as session:
            rows = (
                await session.exec(select(Workspace.id).where(col(Workspace.active).is_(True)))
            ).all()
        if len(rows) != 1:
            return None
        if auth_test is None:
            known.append(rows[0])  # with auth_test, ask Slack again next time
        return rows[0]

    return resolve
