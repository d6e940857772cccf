"""Publishing a week's digest: claim it for posting, record the post, give a failed claim
back, and which teams are due."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel import select as select_rows

from bot.core.digests.figures import Figures
from bot.core.digests.freezing import (
    STORED_COLUMNS,
    StoredDigest,
    prepare,
    stored_digest,
    stored_digests,
    with_data,
)
from bot.core.digests.periods import WEEK, digest_slot, latest_period
from bot.runtime import Runtime
from bot.storage.models import CheckinRound, Delivery, DeliveryStatus, Digest, Team

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SENT)
"""Deliveries whose check-in may still be answered (until ``expires_at``)."""


@dataclass(frozen=True)
class DigestResult:
    """A week's stored digest. ``claimed``: this caller may post it to the channel now."""

    team: Team
    digest: StoredDigest
    claimed: bool

    @property
    def figures(self) -> Figures:
        return self.digest.figures

    @property
    def posted(self) -> bool:
        return self.digest.message_ts is not None


async def digest_for(
    runtime: Runtime, team: Team, period_start: date, *, publish: bool
) -> DigestResult:
    """The team's digest for the week starting ``period_start`` (a Monday).

    The figures are computed and frozen the first time (preview or not); afterwards the
    stored ones are returned verbatim. ``publish=True`` also claims the digest for posting
    to ``team.channel_id`` (``claimed`` is false when it is posted or being posted already;
    a week that could not be posted to its channel, :func:`mark_unpostable`, is claimed
    again); call :func:`mark_posted` after posting, or :func:`release` if posting failed.
    Raises :class:`DigestError` for a week that is not over yet or not a Monday.
    """
    assert team.id is not None
    digest = (await prepare(runtime, [(team, period_start)]))[(team.id, period_start)]
    claimed = False
    if publish:
        async with runtime.db.engine.begin() as conn:
            claim = await conn.execute(
                update(Digest)
                .where(col(Digest.id) == digest.id, col(Digest.message_ts).is_(None))
                .where(or_(col(Digest.channel_id).is_(None), col(Digest.failed_error).is_not(None)))
                .values(
                    channel_id=team.channel_id, failed_error=None, claimed_at=runtime.clock.now()
                )
            )
            claimed = claim.rowcount == 1
            (digest,) = await stored_digests(conn, [team.id], period_start)
    return DigestResult(team=team, digest=digest, claimed=claimed)


async def mark_posted(runtime: Runtime, digest_id: int, channel_id: str, message_ts: str) -> None:
    """Record where the digest was posted: it is never posted by the schedule again."""
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            update(Digest)
            .where(col(Digest.id) == digest_id)
            .values(channel_id=channel_id, message_ts=message_ts)
        )


async def release(runtime: Runtime, digest_id: int) -> None:
    """Give back a claim whose post failed, so the next tick tries again."""
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            update(Digest)
            .where(col(Digest.id) == digest_id, col(Digest.message_ts).is_(None))
            .values(channel_id=None)
        )


CHANNEL_ERRORS: dict[str, str] = {
    # chat.postMessage's errors for a channel the app cannot post to (slack-api-ref
    # docs.slack.dev/methods/chat.postMessage.json): no retry fixes them, an admin does
    "is_archived": "its channel is archived: pick another channel for the team with "
    "`/trust setup` (or unarchive the channel); the digest then goes to the new channel",
    "not_in_channel": "Trustbot is not a member of its channel: invite it there "
    "(`/invite @trustbot`), then post the digest with `/trust digest {team} now`",
    "channel_not_found": "Slack cannot find its channel for Trustbot (deleted, or private "
    "without Trustbot in it): invite the app there (`/invite @trustbot`) or pick another "
    "channel with `/trust setup`, then `/trust digest {team} now`",
}
"""What an admin should do about each error that stops a digest for its week."""


def what_to_do(error: str, team_name: str) -> str:
    """The advice of :data:`CHANNEL_ERRORS` for ``error``, naming the team (as typed)."""
    return CHANNEL_ERRORS.get(error, "Slack refused it ({error})").format(
        team=team_name, error=error
    )


async def mark_unpostable(runtime: Runtime, digest_id: int, error: str) -> bool:
    """The week's digest cannot be posted to its channel (one of :data:`CHANNEL_ERRORS`):
    it stays claimed, so the schedule does not try it again, with the error recorded for
    ``/trust status``. True the first time (tell the admins then, and only then)."""
    async with runtime.db.engine.begin() as conn:
        changed = await conn.execute(
            update(Digest)
            .where(col(Digest.id) == digest_id, col(Digest.message_ts).is_(None))
            .where(col(Digest.failed_error).is_(None))
            .values(failed_error=error[:64])
        )
    return bool(changed.rowcount)


@dataclass(frozen=True)
class Unpostable:
    """A week's digest Slack would not take in its channel, and why."""

    team_name: str
    period_start: date
    channel_id: str
    error: str


async def unpostable(runtime: Runtime, workspace_id: str, limit: int = 5) -> list[Unpostable]:
    """The workspace's digests stopped by their channel, latest week first."""
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            select(
                col(Team.name),
                col(Digest.period_start),
                col(Digest.channel_id),
                col(Digest.failed_error),
            )
            .join(Team, col(Team.id) == col(Digest.team_id))
            .where(col(Digest.workspace_id) == workspace_id, col(Digest.failed_error).is_not(None))
            .order_by(col(Digest.period_start).desc(), col(Digest.id).desc())
            .limit(limit)
        )
        return [Unpostable(n, p, str(c), str(e)) for n, p, c, e in rows.all()]


async def unsettled(runtime: Runtime) -> list[tuple[Team, StoredDigest]]:
    """Digests claimed for posting but with no message recorded: being posted right now, or
    left so by a process that died mid-post (:func:`bot.slack.digest_post.recover_claims`)."""
    async with runtime.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(*STORED_COLUMNS).where(
                    col(Digest.channel_id).is_not(None),
                    col(Digest.message_ts).is_(None),
                    col(Digest.failed_error).is_(None),
                )
            )
        ).all()
    if not rows:
        return []
    found = [stored_digest(row) for row in rows]
    async with runtime.db.session() as session:
        teams = {
            t.id: t
            for t in (
                await session.exec(
                    select_rows(Team).where(col(Team.id).in_([d.team_id for d in found]))
                )
            ).all()
        }
    return [(teams[d.team_id], d) for d in found if d.team_id in teams]


async def posted(runtime: Runtime, digest_ids: list[int]) -> list[tuple[StoredDigest, Team]]:
    """These digests, where they were posted, and their teams."""
    if not digest_ids:
        return []
    async with runtime.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(*STORED_COLUMNS).where(
                    col(Digest.id).in_(digest_ids), col(Digest.message_ts).is_not(None)
                )
            )
        ).all()
    found = [stored_digest(row) for row in rows]
    async with runtime.db.session() as session:
        teams = {
            t.id: t
            for t in (
                await session.exec(
                    select_rows(Team).where(col(Team.id).in_([d.team_id for d in found]))
                )
            ).all()
        }
    return [(d, teams[d.team_id]) for d in found if d.team_id in teams]


@dataclass(frozen=True)
class Due:
    """A team whose digest for ``period_start`` should be posted now."""

    team: Team
    period_start: date


async def _still_open(
    conn: AsyncConnection, team_ids: list[int], period: date, now: datetime
) -> set[int]:
    """Teams whose check-in for ``period`` can still be answered: their digest waits for it,
    so that no answer arrives after the week's figures are frozen."""
    rows = await conn.execute(
        select(col(CheckinRound.team_id))
        .join(Delivery, col(Delivery.round_id) == col(CheckinRound.id))
        .where(
            col(CheckinRound.team_id).in_(team_ids),
            col(CheckinRound.period_start) == period,
            col(Delivery.status).in_(OPEN),
            col(Delivery.expires_at) > now,
        )
        .distinct()
    )
    return {int(team_id) for (team_id,) in rows}


async def due_digests(runtime: Runtime) -> list[Due]:
    """Teams whose weekly digest is due now, team-local: from the digest slot (default Monday
    09:00 after the week) until the next week's slot, once the week's check-ins have closed,
    once per week (a week its channel refused: again once the team has another channel),
    only for weeks with a check-in or answers, and never for a paused team.
    Nothing is claimed or stored here."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        teams = (await session.exec(select_rows(Team).where(col(Team.paused).is_(False)))).all()
    by_period: dict[date, list[Team]] = defaultdict(list)
    for team in teams:
        period = latest_period(team, now)
        if now < digest_slot(team, period):
            period -= WEEK
        by_period[period].append(team)
    due: list[Due] = []
    for period in sorted(by_period):
        group = by_period[period]
        ids = [t.id for t in group if t.id is not None]
        async with runtime.db.engine.connect() as conn:
            channels = {t.id: t.channel_id for t in group}
            claimed = {
                int(team_id)
                for team_id, channel, failed in await conn.execute(
                    select(
                        col(Digest.team_id), col(Digest.channel_id), col(Digest.failed_error)
                    ).where(
                        col(Digest.team_id).in_(ids),
                        col(Digest.period_start) == period,
                        col(Digest.channel_id).is_not(None),
                    )
                )
                # a week stopped by its channel is due again once the team has another one
                if failed is None or channel == channels.get(team_id)
            }
            have_data = await with_data(conn, [i for i in ids if i not in claimed], [period])
            still_open = await _still_open(conn, ids, period, now)
        due.extend(
            Due(t, period) for t in group if (t.id, period) in have_data and t.id not in still_open
        )
    return sorted(due, key=lambda d: (d.period_start, d.team.id or 0))
