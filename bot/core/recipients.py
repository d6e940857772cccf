"""Who may receive a DM now: the one rule, used when a nudge is planned and again when any
outbox row (check-in or nudge) is about to be posted.

A person receives nothing while opted out (their ``Person`` row, or the keyed memory in
``OptOut`` that outlives forget-me) or snoozed; nothing goes to a paused team, and a nudge
only to a rep of some team. Plain Python over storage: the Slack side
(:mod:`bot.slack.outbox_messages`) turns a go-ahead into Block Kit.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlmodel import col
from sqlmodel import select as select_rows
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import checkins
from bot.runtime import Runtime
from bot.runtime.pseudonyms import Pseudonyms, Purpose
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryKind,
    Member,
    OptOut,
    Person,
    Team,
)

REP = "rep"


class Refusal(enum.StrEnum):
    """Why a person gets no DM now (the value reads as a reason)."""

    OPTED_OUT = "opted out"
    SNOOZED = "snoozed"
    TEAM_PAUSED = "team paused"
    NOT_A_REP = "not a rep"


@dataclass(frozen=True)
class Availability:
    """A person's own say in whether they get DMs: opted out, or snoozed until when."""

    opted_out: bool = False
    snoozed_until: datetime | None = None  # only a snooze still in force

    @classmethod
    def of(cls, person: Person | None, remembered: bool, now: datetime) -> Availability:
        """From the person's row and whether ``OptOut`` remembers an opt-out."""
        until = person.snoozed_until if person is not None else None
        return cls(
            opted_out=remembered or bool(person is not None and person.opted_out),
            snoozed_until=until if until is not None and until > now else None,
        )

    def refusal(self) -> Refusal | None:
        if self.opted_out:
            return Refusal.OPTED_OUT
        if self.snoozed_until is not None:
            return Refusal.SNOOZED
        return None


def remembered_opt_outs(
    connection: Connection, pseudonyms: Pseudonyms, workspace_id: str, user_ids: Iterable[str]
) -> set[str]:
    """The users among ``user_ids`` whose opt-out ``OptOut`` remembers (one query).

    Synchronous, for a planner inside its own transaction; without a pseudonym key nothing
    can be remembered, so nobody is."""
    users = sorted(set(user_ids))
    if not users or not pseudonyms.key:
        return set()
    hashes = {pseudonyms.of(workspace_id, u, Purpose.OPTOUT): u for u in users}
    found = connection.execute(
        select(col(OptOut.user_hash)).where(
            col(OptOut.workspace_id) == workspace_id, col(OptOut.user_hash).in_(list(hashes))
        )
    ).scalars()
    return {hashes[h] for h in found}


async def availability(runtime: Runtime, workspace_id: str, user_id: str) -> Availability:
    """The person's :class:`Availability` now."""
    async with runtime.db.session() as session:
        person = await session.get(Person, (workspace_id, user_id))
        connection = await session.connection()
        remembered = await connection.run_sync(
            remembered_opt_outs, runtime.pseudonyms, workspace_id, [user_id]
        )
    return Availability.of(person, bool(remembered), runtime.clock.now())


@dataclass(frozen=True)
class Go:
    """Send it: the round (for check-ins) it belongs to."""

    round: CheckinRound | None


@dataclass(frozen=True)
class Hold:
    reason: str


async def first_team(session: AsyncSession, workspace_id: str, user_id: str) -> Team | None:
    """The rep's first team (lowest id), whose settings apply to their nudges."""
    query = (
        select_rows(Team)
        .join(Member, col(Member.team_id) == col(Team.id))
        .where(Member.workspace_id == workspace_id, Member.user_id == user_id, Member.role == REP)
        .order_by(col(Team.id))
        .limit(1)
    )
    return (await session.exec(query)).first()


async def decide(runtime: Runtime, delivery: Delivery) -> Go | Hold:
    """Go, or the reason not to send now (opted out, snoozed, closed, paused team, no longer
    a rep, slot missed while Trustbot was down)."""
    now = runtime.clock.now()
    mine = await availability(runtime, delivery.workspace_id, delivery.recipient)
    if mine.opted_out:
        return Hold(Refusal.OPTED_OUT)
    if mine.snoozed_until is not None:
        return Hold(f"{Refusal.SNOOZED} until {mine.snoozed_until:%Y-%m-%d %H:%M} UTC")
    if delivery.expires_at is not None and delivery.expires_at <= now:
        return Hold("closed before it could be sent")
    if delivery.kind == DeliveryKind.NUDGE:
        async with runtime.db.session() as session:
            team = await first_team(session, delivery.workspace_id, delivery.recipient)
        if team is None:
            return Hold(Refusal.NOT_A_REP)
        if team.paused:
            return Hold(f"team {team.name} is paused")
        return Go(None)
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
