"""A lease in the database that exactly one process holds at a time: the scheduler's.

The holder renews it well before it expires; if the holder dies, the lease runs out and a
waiting process takes it over. Works the same on SQLite and PostgreSQL (one conditional
UPDATE, or the INSERT of a missing row, decides)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.runtime.clock import Clock
from bot.storage import Database
from bot.storage.models import Lease

SCHEDULER = "scheduler"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


async def acquire(db: Database, name: str, holder: str, ttl: timedelta, clock: Clock) -> bool:
    """Take or renew the lease ``name`` for ``holder``; True while ``holder`` has it."""
    now = clock.now()
    async with db.session() as session:
        result = await session.exec(
            update(Lease)
            .where(
                col(Lease.name) == name,
                (col(Lease.holder) == holder) | (col(Lease.expires_at) <= now),
            )
            .values(holder=holder, expires_at=now + ttl)
        )
        if result.rowcount:
            return True
        if await session.get(Lease, name) is not None:
            return False  # someone else holds it
    try:
        async with db.session() as session:
            session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False  # another process created it first
    return True


async def release(db: Database, name: str, holder: str) -> None:
    """Give the lease up at once (a clean shutdown), so a standby need not wait it out."""
    async with db.session() as session:
        await session.exec(
            update(Lease)
            .where(col(Lease.name) == name, col(Lease.holder) == holder)
            .values(expires_at=LONG_AGO)
        )


async def drop(db: Database, name: str, holder: str) -> None:
    """Delete a one-off lease ``holder`` holds (a digest's posting claim): nothing is left."""
    async with db.session() as session:
        await session.exec(
            delete(Lease).where(col(Lease.name) == name, col(Lease.holder) == holder)
        )


async def holder(db: Database, name: str) -> str | None:
    async with db.session() as session:
        lease = await session.get(Lease, name)
        return lease.holder if lease else None
