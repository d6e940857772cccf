"""Whether an outbox row should still go out, and if not, why. Plain Python: the Slack side
(:mod:`bot.slack.compose`) turns a go-ahead into Block Kit."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import checkins, people
from bot.runtime import Runtime
from bot.storage.models import CheckinRound, Delivery, Team


@dataclass(frozen=True)
class Go:
    """Send it: the round (for check-ins) it belongs to."""

    round: CheckinRound | None


@dataclass(frozen=True)
class Hold:
    reason: str


async def decide(runtime: Runtime, delivery: Delivery) -> Go | Hold:
    """Go, or the reason not to send (paused team, opted out, snoozed, slot missed, closed)."""
    now = runtime.clock.now()
    key = runtime.settings.TRUSTBOT_PSEUDONYM_KEY or ""
    opted_out, snoozed_until = await people.state(
        runtime.db, key, delivery.workspace_id, delivery.user_id, runtime.clock
    )
    if opted_out:
        return Hold("opted out")
    if snoozed_until is not None:
        return Hold(f"snoozed until {snoozed_until:%Y-%m-%d %H:%M} UTC")
    if delivery.expires_at is not None and delivery.expires_at <= now:
        return Hold("closed before it could be sent")
    rnd = None
    if delivery.kind == "checkin":
        async with runtime.db.session() as session:
            rnd = await session.get(CheckinRound, delivery.round_id)
            team = await session.get(Team, rnd.team_id) if rnd else None
        if rnd is None or team is None:
            return Hold("its team no longer exists")
        if team.paused:
            return Hold(f"team {team.name} is paused")
        if checkins.missed(delivery, now):
            planned = delivery.planned_at or delivery.next_attempt_at
            return Hold(f"{checkins.MISSED} {planned:%Y-%m-%d %H:%M} UTC (Trustbot was down)")
    return Go(rnd)
