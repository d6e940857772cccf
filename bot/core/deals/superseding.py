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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, and_, bindparam, exists, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.core.deals.model import DEFERRED, NUDGED
from bot.runtime import Runtime
from bot.storage.deal_writer import DEAL_EVENTS
from bot.storage.id_lists import in_ids, in_texts
from bot.storage.models import DealEvent, Delivery, DeliveryKind, DeliveryStatus

SUPERSEDED: Final = "superseded"
"""A deal event whose nudge was cancelled, or never planned, because a newer update about the
same deal came first."""

_DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]


def reason(change: str) -> str:
    """The ``last_error`` of a cancelled nudge: which newer change made it obsolete."""
    return f"superseded: the deal changed again ({change}) before this nudge went out"


@dataclass(frozen=True)
class Superseded:
    """What :func:`supersede` did: the updates that a newer one of their deal made stale, and
    the nudges cancelled."""

    stale: frozenset[int]  # deal event ids
    cancelled: tuple[int, ...]  # delivery ids

    def is_stale(self, event_id: int) -> bool:
        """Whether a newer update of the same deal is stored than the event ``event_id``."""
        return event_id in self.stale


def _statements() -> tuple[Any, Any, Any]:
    """The reads of :func:`supersede`, built once: each update given (``ids``) that a newer
    one of its deal makes stale; the pending nudges of the deals given (``ws``, ``deals``)
    that a newer update makes stale; the newest update of each of a few deals."""
    events, newer = DEAL_EVENTS.alias("e"), DEAL_EVENTS.alias("n")
    a_newer = exists().where(
        newer.c.workspace_id == events.c.workspace_id,
        newer.c.deal_id == events.c.deal_id,
        or_(
            newer.c.occurred_at > events.c.occurred_at,
            and_(newer.c.occurred_at == events.c.occurred_at, newer.c.id > events.c.id),
        ),
    )
    stale = sa_select(events.c.id).where(in_ids(events.c.id, "ids"), a_newer)
    of_deals = (
        events.c.workspace_id == bindparam("ws"),
        in_texts(events.c.deal_id, "deals"),
    )
    pending = (
        sa_select(_DELIVERIES.c.id, events.c.deal_id)
        .select_from(events.join(_DELIVERIES, _DELIVERIES.c.deal_event_id == events.c.id))
        .where(
            *of_deals,
            _DELIVERIES.c.kind == DeliveryKind.NUDGE.value,
            _DELIVERIES.c.status == DeliveryStatus.PENDING.value,
            a_newer,
        )
    )
    newest_first = (events.c.occurred_at.desc(), events.c.id.desc())
    ranked = (
        sa_select(
            events.c.deal_id,
            events.c.change,
            func.row_number().over(partition_by=events.c.deal_id, order_by=newest_first).label("n"),
        )
        .where(*of_deals)
        .subquery()
    )
    newest = sa_select(ranked.c.deal_id, ranked.c.change).where(ranked.c.n == 1)
    return stale, pending, newest


_STALE, _PENDING, _NEWEST = _statements()


def supersede(connection: Connection, workspace_id: str, events: Mapping[int, str]) -> Superseded:
    """Cancel the pending nudges of the deals of ``events`` (deal event id -> deal id) whose
    update is not the deal's newest, in the caller's transaction, and mark their deal events
    :data:`SUPERSEDED`; and say which of ``events`` are stale themselves.

    Each question is answered in the database, for the few rows it concerns (reading every
    update of the batch's deals was a tenth of the webhook server's time, measured with
    bench/webhook; ranking them all, a third of the planner's)."""
    if not events:
        return Superseded(frozenset(), ())
    stale = frozenset(
        event_id for (event_id,) in connection.execute(_STALE, {"ids": sorted(events)})
    )
    deals = sorted(set(events.values()))
    pending = connection.execute(_PENDING, {"ws": workspace_id, "deals": deals}).all()
    if not pending:
        return Superseded(stale, ())
    changed = sorted({deal_id for _, deal_id in pending})
    newest = dict(connection.execute(_NEWEST, {"ws": workspace_id, "deals": changed}).all())
    by_change: dict[str, list[int]] = {}
    for delivery_id, deal_id in pending:
        by_change.setdefault(newest[deal_id], []).append(delivery_id)
    cancelled: list[tuple[int, int]] = []
    for change, delivery_ids in sorted(by_change.items()):
        cancelled += connection.execute(
            update(_DELIVERIES)
            .where(
                _DELIVERIES.c.id.in_(sorted(delivery_ids)),
                _DELIVERIES.c.status == DeliveryStatus.PENDING.value,
            )
            .values(status=DeliveryStatus.SUPERSEDED.value, last_error=reason(change))
            .returning(_DELIVERIES.c.id, _DELIVERIES.c.deal_event_id)
        ).all()
    if cancelled:
        connection.execute(
            update(DEAL_EVENTS)
            .where(
                DEAL_EVENTS.c.id.in_(sorted({event_id for _, event_id in cancelled})),
                DEAL_EVENTS.c.status.in_((NUDGED, DEFERRED)),
            )
            .values(status=SUPERSEDED)
        )
    return Superseded(stale, tuple(sorted(delivery_id for delivery_id, _ in cancelled)))


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
