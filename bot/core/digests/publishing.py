"""Publishing a week's digest: claim it for posting, record the post, give a failed claim
back, and which teams are due."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel import select as select_rows

from bot.core.digests import freezing
from bot.core.digests.aggregate import NOT_ASKED
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
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Digest,
    Team,
)

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


SUMMARY_OPEN = timedelta(days=7)
"""How long a team summary DM names its rep (then it forgets whom, like a closed check-in)."""


async def mark_posted(runtime: Runtime, digest_id: int, channel_id: str, message_ts: str) -> None:
    """Record where the digest was posted: it is never posted by the schedule again. In the
    same transaction, the week's team summary is planned for each rep of its round (one
    outbox row each, at most once: the loop back to the team), and, for a team whose digest
    goes to its managers by DM, the digest for each manager of the round."""
    now = runtime.clock.now()
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            update(Digest)
            .where(col(Digest.id) == digest_id)
            .values(channel_id=channel_id, message_ts=message_ts)
        )
        found = (
            await conn.execute(
                select(
                    col(CheckinRound.id),
                    col(CheckinRound.workspace_id),
                    col(CheckinRound.reps),
                    col(CheckinRound.managers),
                    col(Team.digest_to),
                )
                .join(Team, col(Team.id) == col(CheckinRound.team_id))
                .join(
                    Digest,
                    (col(Digest.team_id) == col(CheckinRound.team_id))
                    & (col(Digest.period_start) == col(CheckinRound.period_start)),
                )
                .where(col(Digest.id) == digest_id)
            )
        ).first()
        if found is None:
            return
        round_id, workspace_id, reps, managers, digest_to = found
        to_managers = sorted(set(managers)) if digest_to in ("dm", "both") else []
        rows = [
            {
                "workspace_id": workspace_id,
                "kind": kind.value,
                "round_id": round_id,
                "user_id": user,
                "status": DeliveryStatus.PENDING.value,
                "planned_at": now,
                "next_attempt_at": now,
                # a summary forgets its rep after a week; a manager's digest DM stays
                # redrawable (forget-me takes notes out of it, as out of the channel's)
                "expires_at": now + SUMMARY_OPEN if kind == DeliveryKind.SUMMARY else None,
                "attempts": 0,
                "created_at": now,
            }
            for kind, users in (
                (DeliveryKind.SUMMARY, sorted(set(reps))),
                (DeliveryKind.DIGEST, to_managers),
            )
            for user in users
        ]
        if rows:
            await conn.execute(_insert_ignore(runtime.db.dialect), rows)


def _insert_ignore(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (kind, round_id, user_id) DO NOTHING`` into the outbox."""
    table: Any = Delivery.__table__  # type: ignore[attr-defined]
    stmt: Any = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return stmt.on_conflict_do_nothing(index_elements=["kind", "round_id", "user_id"])


DM_ONLY = "dm"
"""``Digest.channel_id`` and ``message_ts`` of a digest sent to its managers by DM only."""


async def dm_copies(runtime: Runtime, digest_ids: list[int]) -> list[tuple[int, str, str]]:
    """The managers' DM copies of these digests: ``(digest id, channel, ts)``."""
    if not digest_ids:
        return []
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            select(col(Digest.id), col(Delivery.channel_id), col(Delivery.message_ts))
            .select_from(Delivery)
            .join(CheckinRound, col(Delivery.round_id) == col(CheckinRound.id))
            .join(
                Digest,
                (col(Digest.team_id) == col(CheckinRound.team_id))
                & (col(Digest.period_start) == col(CheckinRound.period_start)),
            )
            .where(
                col(Digest.id).in_(digest_ids),
                col(Delivery.kind) == DeliveryKind.DIGEST,
                col(Delivery.message_ts).is_not(None),
            )
        )
        return [(int(d), str(c), str(t)) for d, c, t in rows if d is not None and c and t]


async def summary_for(runtime: Runtime, round_id: int) -> tuple[Team, Figures] | None:
    """The team and the posted digest figures a round's team summary shows (the very
    figures the managers saw), or ``None`` when there is no such digest (any more)."""
    async with runtime.db.engine.connect() as conn:
        row = (
            await conn.execute(
                select(col(Digest.team_id), col(Digest.figures))
                .join(
                    CheckinRound,
                    (col(Digest.team_id) == col(CheckinRound.team_id))
                    & (col(Digest.period_start) == col(CheckinRound.period_start)),
                )
                .where(col(CheckinRound.id) == round_id, col(Digest.message_ts).is_not(None))
            )
        ).first()
    if row is None:
        return None
    async with runtime.db.session() as session:
        team = await session.get(Team, int(row[0]))
    return None if team is None else (team, Figures.from_stored(row[1]))


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
    teams = await _teams_of(runtime, found)
    return [(teams[d.team_id], d) for d in found if d.team_id in teams]


async def _teams_of(runtime: Runtime, found: list[StoredDigest]) -> dict[int | None, Team]:
    """The teams of these digests, by id."""
    async with runtime.db.session() as session:
        rows = await session.exec(
            select_rows(Team).where(col(Team.id).in_([d.team_id for d in found]))
        )
        return {t.id: t for t in rows.all()}


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
    teams = await _teams_of(runtime, found)
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


@dataclass(frozen=True)
class WeekInProgress:
    """A team with no check-in in its last complete week: what a digest covers and when this
    week's arrives, with the one figure that may show before the week is over (how many
    answered: a count, never an answer)."""

    last_week: date  # the last complete week (the one a digest now would cover)
    period_start: date | None  # this week's round, if one went out
    due_at: datetime  # when this week's digest is posted
    asked: int = 0
    answered: int = 0


async def week_in_progress(runtime: Runtime, team: Team) -> WeekInProgress | None:
    """``None`` when the team's last complete week had a check-in (its digest can be shown);
    otherwise what there is of the week in progress."""
    assert team.id is not None
    now = runtime.clock.now()
    last = latest_period(team, now)
    this_week = last + WEEK
    async with runtime.db.engine.connect() as conn:
        found = await with_data(conn, [team.id], [last, this_week])
        if (team.id, last) in found:
            return None
        if (team.id, this_week) not in found:
            return WeekInProgress(last, None, digest_slot(team, this_week))
        every = freezing.pseudonyms(
            await freezing.eligible_people(
                runtime, conn, [team.workspace_id], this_week, near=[team.id], k=team.k
            )
        )
        present = await freezing.present(conn, every.get(team.id, frozenset()), this_week)
        asked = (
            await conn.execute(
                select(func.count())
                .select_from(Delivery)
                .join(CheckinRound, col(Delivery.round_id) == col(CheckinRound.id))
                .where(
                    col(CheckinRound.team_id) == team.id,
                    col(CheckinRound.period_start) == this_week,
                    col(Delivery.kind) == DeliveryKind.CHECKIN,
                    col(Delivery.status).not_in(NOT_ASKED),
                )
            )
        ).scalar_one()
    return WeekInProgress(
        last, this_week, digest_slot(team, this_week), asked=int(asked), answered=len(present)
    )
