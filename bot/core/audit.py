"""The admin audit log: who changed what, and when."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.runtime.clock import Clock
from bot.storage.models import AuditLog


def record(
    session: AsyncSession, workspace_id: str, actor: str, action: str, clock: Clock, **detail: Any
) -> None:
    """Add an audit row to ``session`` (it commits with the change it describes)."""
    session.add(
        AuditLog(
            workspace_id=workspace_id, actor=actor, action=action, detail=detail, at=clock.now()
        )
    )


async def recent(session: AsyncSession, workspace_id: str, limit: int = 10) -> list[AuditLog]:
    rows = await session.exec(
        select(AuditLog)
        .where(AuditLog.workspace_id == workspace_id)
        .order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())
        .limit(limit)
    )
    return list(rows.all())
