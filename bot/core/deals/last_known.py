"""The last state a CRM told us for each deal, for CRMs that send only current values
(Salesforce's Outbound Messages): a change is the difference from it.

Kept per ``(workspace, source, deal)`` in :class:`~bot.storage.models.DealState`, without
the deal's owner (no rep identity here).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Final

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.storage import Database
from bot.storage.models import DealState

KEEP_SEEN: Final = 50
"""Notification ids remembered per deal: a redelivery (Salesforce retries for 24 hours, out of
order) of any of them is recognised."""


@dataclass(frozen=True, kw_only=True)
class DealFields:
    """The values of a deal the CRM tells us (``None``: never told, or told empty)."""

    stage: str | None = None
    close_date: str | None = None
    amount: str | None = None
    discount: str | None = None
    is_closed: bool | None = None
    is_won: bool | None = None
    deal_type: str | None = None
    modified_at: datetime | None = None  # when the CRM last changed the deal


@dataclass(frozen=True, kw_only=True)
class LastKnown(DealFields):
    """A deal's last known values, and the notifications that told them."""

    seen: tuple[str, ...] = ()  # the latest notification ids, oldest first

    def remember(self, notification_id: str) -> LastKnown:
        """This state with ``notification_id`` among the ones seen."""
        return replace(self, seen=(*self.seen, notification_id)[-KEEP_SEEN:])


VALUES: Final = tuple(f.name for f in fields(DealFields))


def _state(row: DealState) -> LastKnown:
    return LastKnown(
        **{name: getattr(row, name) for name in VALUES}, seen=tuple(str(s) for s in row.seen)
    )


def _rows(workspace_id: str, source: str, deal_ids: Collection[str]) -> SelectOfScalar[DealState]:
    """The query for the stored state rows of ``deal_ids``."""
    return select(DealState).where(
        DealState.workspace_id == workspace_id,
        DealState.source == source,
        col(DealState.deal_id).in_(list(deal_ids)),
    )


async def load(
    db: Database, workspace_id: str, source: str, deal_ids: Collection[str]
) -> dict[str, LastKnown]:
    """The last known state of each of ``deal_ids`` that has one."""
    if not deal_ids:
        return {}
    async with db.session() as session:
        rows = await session.exec(_rows(workspace_id, source, deal_ids))
        return {row.deal_id: _state(row) for row in rows.all()}


async def save(
    db: Database, workspace_id: str, source: str, states: Mapping[str, LastKnown], now: datetime
) -> None:
    """Store ``states`` (by deal id) as the deals' last known state, in one transaction.

    Two processes saving a deal's first state at once: one of them raises
    :class:`sqlalchemy.exc.IntegrityError` (the deal is unique per workspace and source); its
    caller answers "try again" and the retry finds the state the other one saved."""
    if not states:
        return
    async with db.session() as session:
        rows = await session.exec(_rows(workspace_id, source, states))
        existing = {row.deal_id: row for row in rows.all()}
        for deal_id, state in states.items():
            row = existing.get(deal_id) or DealState(
                workspace_id=workspace_id, source=source, deal_id=deal_id, updated_at=now
            )
            for name in VALUES:
                setattr(row, name, getattr(state, name))
            row.seen = list(state.seen)
            row.updated_at = now
            session.add(row)
