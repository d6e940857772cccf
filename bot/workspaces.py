"""Workspaces: every row of our data belongs to one."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.storage import Database
from bot.storage.models import Workspace


async def ensure_workspace(db: Database, team_id: str, clock: Clock, name: str = "") -> None:
    """Create the workspace row if it is not there yet (idempotent, race-safe)."""
    async with db.session() as session:
        if await session.get(Workspace, team_id) is not None:
            return
    try:
        async with db.session() as session:
            session.add(Workspace(id=team_id, name=name, installed_at=clock.now()))
    except IntegrityError:
        pass  # another request created it first
