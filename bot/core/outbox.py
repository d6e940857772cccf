"""The delivery outbox: every planned DM is a :class:`Delivery` row, delivered exactly once.

The life of a row::

    pending --claim_due--> sending --mark_sent------> sent
                              |------mark_retry-----> pending  (attempts + 1, backoff)
                              |------mark_deferred--> pending  (rate limited: no attempt counted)
                              |------mark_failed----> failed   (permanent, or attempts used up)
                              '------mark_skipped---> skipped  (the composer said so)

A worker that dies leaves its rows in ``sending``. :func:`stale_sending` finds them once their
lease is over and :func:`take_over` hands each to exactly one live worker, which must look in
Slack for the message before sending it again. A send whose outcome is unknown (a dropped
connection, a timeout) goes back to ``pending`` with an :data:`UNCONFIRMED` error, which tells
the next worker to look before sending too.

Plain Python over the storage layer: nothing here talks to Slack.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, true, update
from sqlmodel import col, select

from bot.runtime.clock import Clock
from bot.storage import Database
from bot.storage.models import Delivery, DeliveryStatus

PENDING, SENDING, SENT = DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SENT
FAILED, EXPIRED, SKIPPED = DeliveryStatus.FAILED, DeliveryStatus.EXPIRED, DeliveryStatus.SKIPPED
SUPERSEDED = DeliveryStatus.SUPERSEDED
STATUSES = (PENDING, SENDING, SENT, FAILED, EXPIRED, SKIPPED, SUPERSEDED)

UNCONFIRMED = "unconfirmed: "
"""Prefix of ``last_error`` after a send whose outcome is unknown: look in Slack first."""

SEARCH_MARGIN = timedelta(seconds=5)
MAX_ERROR = 200  # Delivery.last_error's length


@dataclass(frozen=True)
class Skip:
    """What a composer returns instead of a message: do not send, and say why (``status``:
    :data:`SKIPPED`, or :data:`SUPERSEDED` for a nudge a newer deal update made obsolete)."""

    reason: str
    status: DeliveryStatus = DeliveryStatus.SKIPPED


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: about 2, 4, 8 ... seconds, capped; then give up."""

    base: float = 2.0
    cap: float = 300.0
    max_attempts: int = 8
    jitter: float = 0.2  # each delay is scaled by a random factor in [1 - jitter, 1 + jitter]

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (1 for the first)."""
        raw = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return min(self.cap, raw * (1 - self.jitter + 2 * self.jitter * rand()))

    def exhausted(self, attempts: int) -> bool:
        """True when ``attempts`` failed attempts are all a row gets."""
        return attempts >= self.max_attempts


def clip(error: str) -> str:
    return error[:MAX_ERROR]


def unconfirmed(error: str) -> str:
    """The ``last_error`` of a send that may or may not have reached Slack."""
    return clip(UNCONFIRMED + error)


def is_unconfirmed(row: Delivery) -> bool:
    return bool(row.last_error and row.last_error.startswith(UNCONFIRMED))


def search_from(row: Delivery, lost_claim_at: datetime | None = None) -> datetime:
    """Where to start looking in Slack for a message this row may already have posted.

    A lost claim (the worker died) posted, if at all, after it was claimed; an unconfirmed
    earlier attempt, after the claim of the earliest attempt in doubt (``unsure_since``;
    rows from before it was recorded: after the row was created).
    """
    start = row.created_at
    if is_unconfirmed(row):
        start = max(start, row.unsure_since or start)
    elif lost_claim_at is not None:
        start = max(start, lost_claim_at)
    return start - SEARCH_MARGIN


# -- claiming -----------------------------------------------------------------


async def claim_due(
    db: Database, clock: Clock, worker_id: str, limit: int, kinds: Sequence[str] | None = None
) -> list[Delivery]:
    """Move up to ``limit`` due pending rows to ``sending`` for ``worker_id``, oldest first.

    One statement: ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING``. PostgreSQL locks
    the chosen rows with ``FOR UPDATE SKIP LOCKED`` so concurrent claimers take disjoint rows;
    SQLite serialises writers, so the statement is atomic there as it stands. ``kinds``
    limits the claim to those kinds of delivery (rows of other kinds wait, untouched).
    """
    if limit <= 0:
        return []
    now = clock.now()
    due = (
        select(Delivery.id)
        .where(Delivery.status == PENDING, Delivery.next_attempt_at <= now)
        .where(col(Delivery.kind).in_(kinds) if kinds is not None else true())
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit)
    )
    if db.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    table = Delivery.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(status=SENDING, claimed_by=worker_id, claimed_at=now)
        .returning(*table.c)
    )
    async with db.engine.begin() as conn:  # Core, not the ORM: one claim per few messages
        found = (await conn.execute(stmt)).mappings().all()
    rows = [Delivery(**row) for row in found]
    return sorted(rows, key=lambda r: (r.next_attempt_at, r.id or 0))


async def renew(
    db: Database, delivery_id: int, worker_id: str, claimed_at: datetime, clock: Clock
) -> datetime | None:
    """Extend a claim still held as (``worker_id``, ``claimed_at``); the new claim time, or None
    when the row was taken over or finished meanwhile."""
    now = clock.now()
    changed = await _update(
        db,
        delivery_id,
        {"claimed_at": now},
        Delivery.status == SENDING,
        Delivery.claimed_by == worker_id,
        Delivery.claimed_at == claimed_at,
    )
    return now if changed else None


async def stale_sending(
    db: Database, clock: Clock, lease_seconds: float, *, limit: int | None = None
) -> list[Delivery]:
    """Rows left in ``sending`` longer than the lease (their worker died or hung), oldest first."""
    cutoff = clock.now() - timedelta(seconds=lease_seconds)
    query = (
        select(Delivery)
        .where(Delivery.status == SENDING, col(Delivery.claimed_at) < cutoff)
        .order_by(col(Delivery.claimed_at), col(Delivery.id))
    )
    if limit is not None:
        query = query.limit(limit)
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def take_over(db: Database, row: Delivery, worker_id: str, clock: Clock) -> Delivery | None:
    """Claim a stale row found by :func:`stale_sending` for ``worker_id``; None if another
    worker got there first (or the old one finished after all)."""
    assert row.id is not None
    now = clock.now()
    changed = await _update(
        db,
        row.id,
        {"claimed_by": worker_id, "claimed_at": now},
        Delivery.status == SENDING,
        Delivery.claimed_at == row.claimed_at,
    )
    if not changed:
        return None
    async with db.session() as session:
        return await session.get(Delivery, row.id)


# -- outcomes -----------------------------------------------------------------


def _owned(worker_id: str | None, *also: Any) -> tuple[Any, ...]:
    if worker_id is None:
        return also
    return (Delivery.status == SENDING, Delivery.claimed_by == worker_id, *also)


async def _update(db: Database, delivery_id: int, values: dict[str, Any], *where: Any) -> bool:
    """One conditional UPDATE of one row in its own transaction; True when it matched."""
    stmt = update(Delivery).where(col(Delivery.id) == delivery_id, *where).values(**values)
    async with db.engine.begin() as conn:
        result = await conn.execute(stmt)
        return bool(result.rowcount)


async def mark_sent(db: Database, delivery_id: int, channel_id: str, ts: str, clock: Clock) -> bool:
    """Record the posted message. Whoever holds the row: a message in Slack is the truth."""
    return await _update(
        db,
        delivery_id,
        {
            "status": SENT,
            "channel_id": channel_id,
            "message_ts": ts,
            "sent_at": clock.now(),
            "unsure_since": None,
        },
        Delivery.status != SENT,
    )


async def mark_retry(
    db: Database,
    delivery_id: int,
    clock: Clock,
    delay_seconds: float,
    error: str,
    *,
    worker_id: str | None = None,
    unsure_since: datetime | None = None,
) -> bool:
    """Back to ``pending`` after a failed attempt: attempts + 1, due again after the delay.
    ``unsure_since``: the attempt may have posted; it began then (kept if an earlier one is
    already in doubt)."""
    return await _update(
        db,
        delivery_id,
        {
            "status": PENDING,
            "attempts": Delivery.attempts + 1,
            "next_attempt_at": clock.now() + timedelta(seconds=delay_seconds),
            "last_error": clip(error),
            **_doubt(unsure_since),
        },
        *_owned(worker_id, Delivery.status == SENDING),
    )


def _doubt(since: datetime | None) -> dict[str, Any]:
    if since is None:
        return {}
    return {"unsure_since": func.coalesce(Delivery.unsure_since, since)}


async def mark_deferred(
    db: Database,
    delivery_id: int,
    clock: Clock,
    delay_seconds: float,
    error: str | None,
    *,
    worker_id: str | None = None,
    unsure_since: datetime | None = None,
) -> bool:
    """Back to ``pending`` without counting an attempt (rate limited, or nothing was sent);
    ``unsure_since`` as for :func:`mark_retry`."""
    return await _update(
        db,
        delivery_id,
        {
            "status": PENDING,
            "next_attempt_at": clock.now() + timedelta(seconds=delay_seconds),
            "last_error": clip(error) if error else None,
            **_doubt(unsure_since),
        },
        *_owned(worker_id, Delivery.status == SENDING),
    )


async def mark_failed(
    db: Database, delivery_id: int, error: str, *, worker_id: str | None = None
) -> bool:
    """Give up on a row for good (a permanent Slack error, or every attempt used)."""
    return await _update(
        db,
        delivery_id,
        {"status": FAILED, "attempts": Delivery.attempts + 1, "last_error": clip(error)},
        *_owned(worker_id, col(Delivery.status).in_((PENDING, SENDING))),
    )


async def mark_skipped(
    db: Database,
    delivery_id: int,
    reason: str,
    *,
    worker_id: str | None = None,
    status: DeliveryStatus = SKIPPED,
) -> bool:
    """Do not send this row (e.g. the rep is snoozed); ``reason`` goes to ``last_error``."""
    return await _update(
        db,
        delivery_id,
        {"status": status, "last_error": clip(reason)},
        *_owned(worker_id, col(Delivery.status).in_((PENDING, SENDING))),
    )


# -- reading ------------------------------------------------------------------


async def counts(db: Database, workspace_id: str) -> dict[str, int]:
    """How many of the workspace's deliveries are in each status (every status listed)."""
    query = (
        select(Delivery.status, func.count())
        .where(Delivery.workspace_id == workspace_id)
        .group_by(col(Delivery.status))
    )
    async with db.session() as session:
        found = {status: int(n) for status, n in (await session.exec(query)).all()}
    return {status: found.get(status, 0) for status in (*STATUSES, *sorted(found))}


async def recent_failures(db: Database, workspace_id: str, limit: int = 5) -> list[Delivery]:
    """The workspace's failed deliveries, latest attempt first."""
    query = (
        select(Delivery)
        .where(Delivery.workspace_id == workspace_id, Delivery.status == FAILED)
        .order_by(col(Delivery.claimed_at).desc(), col(Delivery.id).desc())
        .limit(limit)
    )
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def known_dm_channel(db: Database, workspace_id: str, user_id: str) -> str | None:
    """The app's DM channel with a user, as an earlier delivery recorded it."""
    query = (
        select(Delivery.channel_id)
        .where(
            Delivery.workspace_id == workspace_id,
            Delivery.user_id == user_id,
            col(Delivery.channel_id).is_not(None),
        )
        .order_by(col(Delivery.sent_at).desc())
        .limit(1)
    )
    async with db.session() as session:
        return (await session.exec(query)).first()


async def forget_recipients(db: Database, delivery_ids: Sequence[int]) -> int:
    """Closed DMs forget their person: user, channel, message, deal event and every instant.

    Once a check-in or nudge has closed nothing at rest may tie a user to when, or about
    which deal moment, they answered; the row keeps its kind, status and round, which the
    counts need. Returns how many rows were cleared. Also clears any expired row a crash left
    uncleared."""
    forgotten = {
        "user_id": None,
        "channel_id": None,
        "message_ts": None,
        "deal_event_id": None,
        "planned_at": None,
        "unsure_since": None,
        "sent_at": None,
        "remind_at": None,
        "reminded_at": None,
        "expires_at": None,
        "claimed_by": None,
        "claimed_at": None,
        "last_error": None,
        "anchor": None,
    }
    async with db.session() as session:
        targets = [
            col(Delivery.id).in_(list(delivery_ids)),
            and_(col(Delivery.status) == EXPIRED, col(Delivery.user_id).is_not(None)),
        ]
        rows = (await session.exec(select(Delivery).where(or_(*targets)))).all()
        for row in rows:
            week = week_of(row.created_at)
            for name, value in forgotten.items():
                setattr(row, name, value)
            row.created_at = row.next_attempt_at = week  # only the week it was planned in
            session.add(row)
    return len(rows)


def week_of(at: datetime) -> datetime:
    """Midnight UTC of the Monday of ``at``'s week."""
    day = at.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
