"""Who is an admin: ``TRUSTBOT_ADMINS``, workspace admins and owners, and ``/trust admin add``."""

from __future__ import annotations

from sqlmodel import select

from bot.core import audit
from bot.runtime.clock import Clock
from bot.storage import Database
from bot.storage.models import Admin


class AdminError(ValueError):
    """An admin change that cannot be made; the message says why."""


async def has_rights(
    db: Database,
    workspace_id: str,
    user_id: str,
    *,
    configured: tuple[str, ...],
    workspace_admin: bool,
) -> bool:
    """Whether the user may run admin commands: ``TRUSTBOT_ADMINS`` (``configured``), a
    workspace admin or owner in Slack (``workspace_admin``), or granted by `/trust admin add`."""
    if workspace_admin or user_id in configured:
        return True
    async with db.session() as session:
        return await session.get(Admin, (workspace_id, user_id)) is not None


async def add(db: Database, workspace_id: str, actor: str, user_id: str, clock: Clock) -> bool:
    """Make ``user_id`` an admin; False when they already were one by this command."""
    async with db.session() as session:
        if await session.get(Admin, (workspace_id, user_id)) is not None:
            return False
        session.add(
            Admin(workspace_id=workspace_id, user_id=user_id, added_by=actor, added_at=clock.now())
        )
        audit.record(session, workspace_id, actor, "admin.add", clock, user=user_id)
    return True


async def remove(
    db: Database,
    workspace_id: str,
    actor: str,
    user_id: str,
    clock: Clock,
    configured: tuple[str, ...],
) -> None:
    if user_id in configured:
        raise AdminError(f"<@{user_id}> is an admin through TRUSTBOT_ADMINS; change it there.")
    async with db.session() as session:
        row = await session.get(Admin, (workspace_id, user_id))
        if row is None:
            raise AdminError(f"<@{user_id}> was not made admin with `/trust admin add`.")
        await session.delete(row)
        audit.record(session, workspace_id, actor, "admin.remove", clock, user=user_id)


async def listed(db: Database, workspace_id: str) -> list[str]:
    async with db.session() as session:
        rows = await session.exec(select(Admin.user_id).where(Admin.workspace_id == workspace_id))
        return sorted(rows.all())
