"""A person's own settings: snooze, opt-out and opt-in."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.pseudonym import pseudonym
from bot.storage import Database
from bot.storage.models import OptOut, Person


async def _person(session: AsyncSession, workspace_id: str, user_id: str) -> Person:
    person = await session.get(Person, (workspace_id, user_id))
    return person or Person(workspace_id=workspace_id, user_id=user_id)


async def snooze(
    db: Database, workspace_id: str, user_id: str, days: int, clock: Clock
) -> datetime:
    """No check-ins or nudges until the returned instant."""
    until = clock.now() + timedelta(days=days)
    async with db.session() as session:
        person = await _person(session, workspace_id, user_id)
        person.snoozed_until = until
        session.add(person)
    return until


async def set_opted_out(db: Database, key: str, workspace_id: str, user_id: str, out: bool) -> None:
    """Opt out (or back in). The opt-out is also kept as a keyed hash that outlives forget-me."""
    user_hash = pseudonym(key, workspace_id, user_id, purpose="optout")
    async with db.session() as session:
        person = await _person(session, workspace_id, user_id)
        person.opted_out = out
        session.add(person)
        memory = await session.get(OptOut, (workspace_id, user_hash))
        if out and memory is None:
            session.add(OptOut(workspace_id=workspace_id, user_hash=user_hash))
        elif not out and memory is not None:
            await session.delete(memory)


async def state(
    db: Database, key: str, workspace_id: str, user_id: str, clock: Clock
) -> tuple[bool, datetime | None]:
    """(opted out, snoozed until) for the person; an expired snooze reads as None."""
    async with db.session() as session:
        person = await session.get(Person, (workspace_id, user_id))
        memory = await session.get(
            OptOut, (workspace_id, pseudonym(key, workspace_id, user_id, purpose="optout"))
        )
    opted_out = memory is not None or bool(person and person.opted_out)
    until = person.snoozed_until if person else None
    return opted_out, until if until and until > clock.now() else None
