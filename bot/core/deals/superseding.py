"""A newer update about a deal supersedes a nudge about it that has not gone out yet.

A nudge waits in the outbox when the rep is outside their working hours (a close date moved
on Friday evening goes out on Monday morning). If the deal changes again meanwhile (it is
lost over the weekend), the waiting nudge asks about a state the deal has left: it is
cancelled, status :attr:`~bot.storage.models.DeliveryStatus.SUPERSEDED` with the reason in
``last_error``, and the newer update is planned in its place (the cancelled row no longer
counts toward the rep's guardrails). Its deal event becomes :data:`SUPERSEDED` too, so
"was this deal already asked seed 000's questions?" sees that it was not.

"Newer" is by when the CRM says the change happened (``occurred_at``), then by arrival: an
update that arrives late about an older state gets no nudge at all. Two checks hold it:

- :func:`supersede` in the planner's transaction, for the deals of the events it plans;
- :func:`superseded_by` when the outbox is about to send, for a newer update that arrived
  while the row was being claimed (or that is not planned yet).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, and_, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.core.deals.model import DEFERRED, NUDGED
from bot.runtime import Runtime
from bot.storage.deal_writer import DEAL_EVENTS
from bot.storage.models import DealEvent, Delivery, DeliveryKind, DeliveryStatus

SUPERSEDED: Final = "superseded"
"""A deal event whose nudge was cancelled, or never planned, because a newer update about the
same deal came first."""

_DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]


def reason(change: str) -> str:
    """The ``last_error`` of a cancelled nudge: which newer change made it obsolete."""
    return f"superseded: the deal changed again ({change}) before this nudge went out"


@dataclass(frozen=True, order=True)
class Stamp:
    """An update's place in its deal's history: when it happened, then when it arrived."""

    occurred_at: datetime
    id: int


@dataclass(frozen=True)
class Superseded:
    """What :func:`supersede` did: the latest update of each deal, and the nudges cancelled."""

    latest: Mapping[str, tuple[Stamp, str]]  # deal id -> (its newest update, that change)
    cancelled: tuple[int, ...]  # delivery ids

    def is_stale(self, deal_id: str, stamp: Stamp) -> bool:
        """Whether an update of ``deal_id`` at ``stamp`` is older than the deal's latest."""
        latest = self.latest.get(deal_id)
        return latest is not None and stamp < latest[0]


def supersede(connection: Connection, workspace_id: str, deal_ids: Collection[str]) -> Superseded:
    """Cancel the pending nudges of ``deal_ids`` whose update is not the deal's newest, in the
    caller's transaction, and mark their deal events :data:`SUPERSEDED`."""
    if not deal_ids:
        return Superseded({}, ())
    events = DEAL_EVENTS
    found = connection.execute(
        sa_select(events.c.deal_id, events.c.occurred_at, events.c.id, events.c.change).where(
            events.c.workspace_id == workspace_id, events.c.deal_id.in_(sorted(deal_ids))
        )
    ).all()
    latest: dict[str, tuple[Stamp, str]] = {}
    for deal_id, occurred_at, event_id, change in found:
        stamp = Stamp(occurred_at, event_id)
        if deal_id not in latest or latest[deal_id][0] < stamp:
            latest[deal_id] = (stamp, change)
    older = {
        event_id: latest[deal_id][1]
        for deal_id, occurred_at, event_id, _ in found
        if Stamp(occurred_at, event_id) < latest[deal_id][0]
    }
    if not older:
        return Superseded(latest, ())
    cancelled: list[tuple[int, int]] = []
    by_change: dict[str, list[int]] = {}
    for event_id, change in older.items():
        by_change.setdefault(change, []).append(event_id)
    for change, event_ids in sorted(by_change.items()):
        cancelled += connection.execute(
            update(_DELIVERIES)
            .where(
                _DELIVERIES.c.workspace_id == workspace_id,
                _DELIVERIES.c.kind == DeliveryKind.NUDGE.value,
                _DELIVERIES.c.status == DeliveryStatus.PENDING.value,
                _DELIVERIES.c.deal_event_id.in_(event_ids),
            )
            .values(status=DeliveryStatus.SUPERSEDED.value, last_error=reason(change))
            .returning(_DELIVERIES.c.id, _DELIVERIES.c.deal_event_id)
        ).all()
    if cancelled:
        connection.execute(
            update(events)
            .where(
                events.c.id.in_(sorted({event_id for _, event_id in cancelled})),
                events.c.status.in_((NUDGED, DEFERRED)),
            )
            .values(status=SUPERSEDED)
        )
    return Superseded(latest, tuple(sorted(delivery_id for delivery_id, _ in cancelled)))


async def superseded_by(runtime: Runtime, delivery: Delivery) -> str | None:
    """The reason a nudge about to be sent is obsolete (a newer update about its deal is
    stored), or ``None``."""
    if delivery.kind != DeliveryKind.NUDGE or delivery.deal_event_id is None:
        return None
    async with runtime.db.session() as session:
        event = await session.get(DealEvent, delivery.deal_event_id)
        if event is None or event.id is None:
            return None
        newer = (
            await session.exec(
                select(DealEvent.change)
                .where(
                    DealEvent.workspace_id == event.workspace_id,
                    DealEvent.deal_id == event.deal_id,
                    col(DealEvent.id) != event.id,
                    or_(
                        col(DealEvent.occurred_at) > event.occurred_at,
                        and_(
                            col(DealEvent.occurred_at) == event.occurred_at,
                            col(DealEvent.id) > event.id,
                        ),
                    ),
                )
                .order_by(col(DealEvent.occurred_at).desc(), col(DealEvent.id).desc())
                .limit(1)
            )
        ).first()
    return None if newer is None else reason(newer)
