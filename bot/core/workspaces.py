"""Workspaces: every row of our data belongs to one.

A workspace is *installed* until Slack says the app was uninstalled (``app_uninstalled``, or
``tokens_revoked`` for the bot): :func:`mark_uninstalled` then stops its schedules (planning,
digests and nudges skip it) and skips its pending deliveries. Installing again
(:func:`mark_installed`) clears the mark; the data stays.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.runtime.clock import Clock
from bot.storage import Database
from bot.storage.models import Delivery, DeliveryStatus, Workspace

UNINSTALLED = "app_uninstalled"
"""``last_error`` of the deliveries skipped because their workspace uninstalled the app."""


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


async def note_enterprise(db: Database, team_id: str, enterprise_id: str | None) -> None:
    """Remember the Enterprise Grid org a workspace's requests carry (None: not on Grid), so
    background work can use the org's org-wide install there. Reads first: it runs before
    the ack, and a write there would wait on a busy database (a read does not, in WAL)."""
    async with db.session() as session:
        known = (
            await session.exec(select(Workspace.enterprise_id).where(Workspace.id == team_id))
        ).first()
    if known == enterprise_id:
        return
    async with db.session() as session:
        await session.exec(
            update(Workspace)
            .where(col(Workspace.id) == team_id)
            .where(col(Workspace.enterprise_id).is_distinct_from(enterprise_id))
            .values(enterprise_id=enterprise_id)
        )


async def enterprise_of(db: Database, team_id: str) -> str | None:
    """The Grid org the workspace was last seen in; None when not on Grid or never seen."""
    async with db.session() as session:
        return (
            await session.exec(select(Workspace.enterprise_id).where(Workspace.id == team_id))
        ).first()


async def mark_installed(db: Database, team_id: str, clock: Clock, name: str = "") -> bool:
    """The app was (re)installed in ``team_id``: create the row or clear its uninstalled mark
    (and keep the name up to date). True when the workspace was marked uninstalled before."""
    await ensure_workspace(db, team_id, clock, name)
    async with db.session() as session:
        workspace = await session.get(Workspace, team_id, with_for_update=True)
        assert workspace is not None
        again = not workspace.active or workspace.uninstalled_at is not None
        if again:
            workspace.active = True
            workspace.uninstalled_at = None
            workspace.installed_at = clock.now()
        if name and workspace.name != name:
            workspace.name = name
        session.add(workspace)
    return again


async def mark_uninstalled(db: Database, team_id: str, clock: Clock) -> int:
    """The app was uninstalled from ``team_id``: mark it so schedules skip it, and skip its
    pending deliveries (``last_error`` :data:`UNINSTALLED`). Returns how many were skipped.
    Idempotent; the workspace's data stays until it is deleted on purpose."""
    await ensure_workspace(db, team_id, clock)
    async with db.session() as session:
        workspace = await session.get(Workspace, team_id, with_for_update=True)
        assert workspace is not None
        if workspace.active or workspace.uninstalled_at is None:
            workspace.active = False
            workspace.uninstalled_at = clock.now()
            session.add(workspace)
        skipped = await session.exec(
            update(Delivery)
            .where(
                col(Delivery.workspace_id) == team_id,
                col(Delivery.status) == DeliveryStatus.PENDING,
            )
            .values(status=DeliveryStatus.SKIPPED, last_error=UNINSTALLED)
        )
        return int(skipped.rowcount or 0)


async def is_installed(db: Database, team_id: str) -> bool:
    """False only for a workspace marked uninstalled (an unknown one counts as installed:
    its first request creates the row)."""
    async with db.session() as session:
        active = (
            await session.exec(select(Workspace.active).where(Workspace.id == team_id))
        ).first()
    return active is not False


async def uninstalled_ids(db: Database) -> set[str]:
    """The workspaces marked uninstalled."""
    async with db.session() as session:
        rows = await session.exec(select(Workspace.id).where(col(Workspace.active).is_(False)))
        return set(rows.all())


async def only_installed(db: Database) -> str | None:
    """The one workspace the app is installed in; None when there are none or several
    (for deal webhooks, which name no workspace)."""
    async with db.session() as session:
        rows = (
            await session.exec(select(Workspace.id).where(col(Workspace.active).is_(True)).limit(2))
        ).all()
    return rows[0] if len(rows) == 1 else None
