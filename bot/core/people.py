"""A person's own settings: snooze, opt-out and opt-in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.runtime.clock import Clock
from bot.runtime.pseudonyms import Pseudonyms, Purpose
from bot.storage import Database
from bot.storage.models import Member, OptOut, Person


async def _ensure(db: Database, workspace_id: str, user_ids: Iterable[str]) -> None:
    """Create the missing Person rows; safe when another request creates one at the same time."""
    for user_id in user_ids:
        try:
            async with db.session() as session:
                if await session.get(Person, (workspace_id, user_id)) is None:
                    session.add(Person(workspace_id=workspace_id, user_id=user_id))
        except IntegrityError:
            pass  # created concurrently: it exists now, which is all we need


async def _person(session: AsyncSession, workspace_id: str, user_id: str) -> Person:
    person = await session.get(Person, (workspace_id, user_id))
    assert person is not None, "call _ensure first"
    return person


async def snooze(
    db: Database, workspace_id: str, user_id: str, days: int, clock: Clock
) -> datetime:
    """No check-ins or nudges until the returned instant."""
    until = clock.now() + timedelta(days=days)
    await _ensure(db, workspace_id, [user_id])
    async with db.session() as session:
        person = await _person(session, workspace_id, user_id)
        person.snoozed_until = until
        session.add(person)
    return until


async def set_opted_out(
    db: Database, pseudonyms: Pseudonyms, workspace_id: str, user_id: str, out: bool
) -> None:
    """Opt out (or back in). The opt-out is also kept as a keyed hash that outlives forget-me
    (read by :mod:`bot.core.recipients`)."""
    user_hash = pseudonyms.of(workspace_id, user_id, Purpose.OPTOUT)
    await _ensure(db, workspace_id, [user_id])

    async def write() -> None:
        async with db.session() as session:
            person = await _person(session, workspace_id, user_id)
            person.opted_out = out
            session.add(person)
            memory = await session.get(OptOut, (workspace_id, user_hash))
            if out and memory is None:
                session.add(OptOut(workspace_id=workspace_id, user_hash=user_hash))
            elif not out and memory is not None:
                await session.delete(memory)

    try:
        await write()
    except IntegrityError:  # a concurrent opt-out stored the hash first: now it is there
        await write()


TZ_MAX_AGE = timedelta(days=7)


async def set_timezones(
    db: Database, workspace_id: str, zones: dict[str, str | None], clock: Clock
) -> None:
    """Remember each user's IANA time zone as Slack reports it (None keeps the team's)."""
    await _ensure(db, workspace_id, zones)
    async with db.session() as session:
        for user_id, tz in zones.items():
            person = await _person(session, workspace_id, user_id)
            person.tz = tz
            person.tz_checked_at = clock.now()
            session.add(person)


async def timezone_of(db: Database, workspace_id: str, user_id: str) -> str | None:
    """The user's time zone as Slack last reported it, if known."""
    async with db.session() as session:
        person = await session.get(Person, (workspace_id, user_id))
        return person.tz if person else None


async def stale_timezones(db: Database, clock: Clock, limit: int = 50) -> list[tuple[str, str]]:
    """(workspace, user) of reps whose time zone is unknown or older than a week."""
    cutoff = clock.now() - TZ_MAX_AGE
    async with db.session() as session:
        rows = await session.exec(
            select(Member.workspace_id, Member.user_id)
            .outerjoin(
                Person,
                (col(Person.workspace_id) == col(Member.workspace_id))
                & (col(Person.user_id) == col(Member.user_id)),
            )
            .where(
                Member.role == "rep",
                or_(col(Person.tz_checked_at).is_(None), col(Person.tz_checked_at) < cutoff),
            )
            .distinct()
            .limit(limit)
        )
        return [(w, u) for w, u in rows.all()]
