"""De-duplication of Slack's Events API deliveries, in storage so it survives a restart."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.runtime.clock import Clock
from bot.storage import Database
from bot.storage.models import SlackEventSeen

KEEP_SEEN = timedelta(days=3)  # Slack retries within minutes; keep well beyond that


async def first_sighting(db: Database, event_id: str, clock: Clock) -> bool:
    """Record ``event_id``; True only the first time it is ever seen."""
    try:
        async with db.session() as session:
            session.add(SlackEventSeen(event_id=event_id, received_at=clock.now()))
    except IntegrityError:
        return False
    return True


async def forget_old_events(db: Database, clock: Clock) -> int:
    """Drop sightings older than :data:`KEEP_SEEN`; returns how many went."""
    async with db.session() as session:
        cutoff = clock.now() - KEEP_SEEN
        stale = delete(SlackEventSeen).where(SlackEventSeen.received_at < cutoff)  # type: ignore[arg-type]
        result = await session.exec(stale)
        return int(result.rowcount or 0)
