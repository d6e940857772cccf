"""Deal updates whose rep is unknown, for ``/trust status``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    func,
)
from sqlmodel import col, select

from bot.core.deals.model import UNKNOWN_REP
from bot.core.untrusted import mark
from bot.runtime import Runtime
from bot.storage.models import DealEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnknownRep:
    """A deal event kept because its rep could not be matched to a team's rep."""

    id: int
    source: str
    deal_name: str
    change: str
    rep_user_id: str | None
    rep_email: str | None
    received_at: datetime

    @property
    def label(self) -> str:
        """e.g. ``Acme renewal (ana@example.com)`` / ``(<@U123>, not a rep of any team)``; the
        CRM's deal name and e-mail marked as outside text."""
        if self.rep_user_id:
            who = f"<@{mark(self.rep_user_id)}>, not a rep of any team"
        elif self.rep_email:
            who = f"{mark(self.rep_email)}, no such Slack user"
        else:
            who = "no rep given"
        return f"{mark(self.deal_name)} ({who})"


@dataclass(frozen=True)
class UnknownReps:
    total: int
    recent: list[UnknownRep]


async def unknown_reps(runtime: Runtime, workspace_id: str, limit: int = 5) -> UnknownReps:
    """Deal events whose rep is unknown, newest first (for ``/trust status``)."""
    async with runtime.db.session() as session:
        where = (DealEvent.workspace_id == workspace_id, DealEvent.status == UNKNOWN_REP)
        total = (
            await session.exec(select(func.count()).select_from(DealEvent).where(*where))
        ).one()
        rows = (
            await session.exec(
                select(DealEvent)
                .where(*where)
                .order_by(col(DealEvent.received_at).desc(), col(DealEvent.id).desc())
                .limit(limit)
            )
        ).all()
    return UnknownReps(
        int(total),
        [
            UnknownRep(
                id=r.id or 0,
                source=r.source,
                deal_name=r.deal_name,
                change=r.change,
                rep_user_id=r.rep_user_id,
                rep_email=r.rep_email,
                received_at=r.received_at,
            )
            for r in rows
        ],
    )
