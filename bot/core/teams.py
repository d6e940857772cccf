"""Teams, their people and settings. Every change is audited in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, or_
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import audit
from bot.core.anonymity import K_FLOOR
from bot.core.untrusted import mark
from bot.runtime.clock import Clock
from bot.storage import Database
from bot.storage.models import Member, Team, name_key

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

REP, MANAGER = "rep", "manager"


class TeamError(ValueError):
    """A request that cannot be carried out; the message says why."""


def schedule_of(team: Team) -> str:
    return f"{WEEKDAYS[team.checkin_weekday]} {team.checkin_time} rep-local"


@dataclass(frozen=True)
class _Scheduled:
    """A team, with its check-in schedule in words."""

    team: Team

    @property
    def schedule(self) -> str:
        return schedule_of(self.team)


@dataclass(frozen=True)
class TeamSummary(_Scheduled):
    """A team with its reps and managers by user ID."""

    reps: list[str]
    managers: list[str]


@dataclass(frozen=True)
class TeamCount(_Scheduled):
    """A team with how many reps and managers it has (no IDs: cheap for many teams)."""

    reps: int
    managers: int


async def find(session: AsyncSession, workspace_id: str, name: str) -> Team:
    """The team called ``name`` or a :class:`TeamError`. Names match whatever their case
    and Unicode form (:func:`~bot.storage.models.name_key`), on SQLite as on PostgreSQL; an
    exact spelling wins (two old teams whose names have one key, see migration 0009)."""
    exact = col(Team.name) == name
    team = (
        await session.exec(
            select(Team)
            .where(
                Team.workspace_id == workspace_id,
                or_(col(Team.name_key) == name_key(name), exact),
            )
            .order_by(case((exact, 0), else_=1))
            .limit(1)
        )
    ).first()
    if team is None:
        raise TeamError(f"There is no team `{mark(name)}`. See `/trust team list`.")
    return team


async def create(
    db: Database, workspace_id: str, actor: str, name: str, channel_id: str, clock: Clock
) -> Team:
    async with db.session() as session:
        try:
            await find(session, workspace_id, name)
        except TeamError:
            pass
        else:
            raise TeamError(f"A team `{mark(name)}` already exists.")
        team = Team(
            workspace_id=workspace_id, name=name, channel_id=channel_id, created_at=clock.now()
        )
        session.add(team)
        audit.record(
            session, workspace_id, actor, "team.create", clock, team=name, channel=channel_id
        )
    return team


def _add_member(session: AsyncSession, team: Team, user_id: str, role: str, clock: Clock) -> None:
    """Add ``user_id`` to ``team`` (already flushed: it has an id) in ``role``, as of now."""
    assert team.id is not None
    session.add(
        Member(
            workspace_id=team.workspace_id,
            team_id=team.id,
            user_id=user_id,
            role=role,
            added_at=clock.now(),
        )
    )


async def add_people(
    db: Database,
    workspace_id: str,
    actor: str,
    name: str,
    users: list[str],
    role: str,
    clock: Clock,
) -> list[str]:
    """Add ``users`` to the team in ``role``; returns those who were not there already."""
    async with db.session() as session:
        team = await find(session, workspace_id, name)
        assert team.id is not None
        present = set(
            (
                await session.exec(
                    select(Member.user_id).where(Member.team_id == team.id, Member.role == role)
                )
            ).all()
        )
        added = [u for u in users if u not in present]
        for user in added:
            _add_member(session, team, user, role, clock)
        if added:
            audit.record(
                session, workspace_id, actor, f"team.add_{role}", clock, team=team.name, users=added
            )
    return added


async def remove_people(
    db: Database, workspace_id: str, actor: str, name: str, users: list[str], clock: Clock
) -> list[str]:
    """Take ``users`` out of the team in every role; returns those who were in it."""
    async with db.session() as session:
        team = await find(session, workspace_id, name)
        present = set(
            (
                await session.exec(
                    select(Member.user_id).where(
                        Member.team_id == team.id, col(Member.user_id).in_(users)
                    )
                )
            ).all()
        )
        if present:
            await session.exec(
                delete(Member).where(
                    col(Member.team_id) == team.id, col(Member.user_id).in_(present)
                )
            )
            audit.record(
                session,
                workspace_id,
                actor,
                "team.remove",
                clock,
                team=team.name,
                users=sorted(present),
            )
    return [u for u in users if u in present]


async def _teams_of(
    session: AsyncSession, workspace_id: str, limit: int | None = None
) -> Sequence[Team]:
    """The workspace's teams, by name (the first ``limit`` of them, when given)."""
    query = select(Team).where(Team.workspace_id == workspace_id).order_by(col(Team.name))
    return (await session.exec(query if limit is None else query.limit(limit))).all()


async def count(db: Database, workspace_id: str) -> int:
    """How many teams the workspace has."""
    async with db.session() as session:
        query = select(func.count()).select_from(Team).where(Team.workspace_id == workspace_id)
        return int((await session.exec(query)).one())


async def summaries(db: Database, workspace_id: str) -> list[TeamSummary]:
    """Every team of the workspace with its reps and managers (by name), in one pass over
    the members' IDs: no member objects, no per-team scan."""
    async with db.session() as session:
        teams = await _teams_of(session, workspace_id)
        members = (
            await session.exec(
                select(col(Member.team_id), col(Member.role), col(Member.user_id))
                .where(Member.workspace_id == workspace_id)
                .order_by(col(Member.id))
            )
        ).all()
    by_role: dict[str, dict[int, list[str]]] = {REP: {}, MANAGER: {}}
    for team_id, role, user_id in members:
        if role in by_role:
            by_role[role].setdefault(team_id, []).append(user_id)
    return [
        TeamSummary(
            team,
            by_role[REP].get(team.id or 0, []),
            by_role[MANAGER].get(team.id or 0, []),
        )
        for team in teams
    ]


async def overview(db: Database, workspace_id: str, limit: int | None = None) -> list[TeamCount]:
    """The workspace's teams (the first ``limit`` by name, when given: ``/trust status`` shows
    30 of them, and 50 at once each holding 1,000 teams took 120 MB, bench/memory) with their
    head counts, counted by the database."""
    async with db.session() as session:
        teams = await _teams_of(session, workspace_id, limit)
        members = select(col(Member.team_id), col(Member.role), func.count()).where(
            Member.workspace_id == workspace_id
        )
        if limit is not None:
            members = members.where(col(Member.team_id).in_([t.id for t in teams]))
        counted = (
            await session.exec(members.group_by(col(Member.team_id), col(Member.role)))
        ).all()
    counts: dict[tuple[int | None, str], int] = {(t, role): int(n) for t, role, n in counted}
    return [
        TeamCount(team, counts.get((team.id, REP), 0), counts.get((team.id, MANAGER), 0))
        for team in teams
    ]


async def memberships(db: Database, workspace_id: str, user_id: str) -> dict[str, list[Team]]:
    """The teams ``user_id`` belongs to, by role (``rep``, ``manager``), by name."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(col(Member.role), Team)
                .join(Team, col(Team.id) == col(Member.team_id))
                .where(Member.workspace_id == workspace_id, Member.user_id == user_id)
                .order_by(col(Team.name))
            )
        ).all()
    found: dict[str, list[Team]] = {REP: [], MANAGER: []}
    for role, team in rows:
        found.setdefault(role, []).append(team)
    return found


async def update(
    db: Database, workspace_id: str, actor: str, name: str, clock: Clock, **changes: object
) -> Team:
    """Change settings of a team (schedule, k, paused ...), checked and audited."""
    allowed = {
        "checkin_weekday",
        "checkin_time",
        "digest_weekday",
        "digest_time",
        "timezone",
        "digest_to",
        "k",
        "notes_k",
        "paused",
        "channel_id",
        "delivery_channel_id",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise TeamError(f"Cannot change {', '.join(sorted(unknown))}.")
    for key in ("k", "notes_k"):
        k = changes.get(key)
        if k is not None and (not isinstance(k, int) or k < K_FLOOR):
            raise TeamError(f"{key} can never be below {K_FLOOR}.")
    async with db.session() as session:
        team = await find(session, workspace_id, name)
        before = {key: getattr(team, key) for key in changes}
        for key, value in changes.items():
            setattr(team, key, value)
        session.add(team)
        audit.record(
            session,
            workspace_id,
            actor,
            "team.update",
            clock,
            team=team.name,
            before=before,
            after=dict(changes),
        )
    return team


@dataclass(frozen=True)
class TeamSetup:
    """Everything the setup modal configures for one team."""

    name: str
    channel_id: str
    reps: list[str]
    managers: list[str]
    checkin_weekday: int
    checkin_time: str
    k: int
    paused: bool = False


async def save(db: Database, workspace_id: str, actor: str, setup: TeamSetup, clock: Clock) -> Team:
    """Create the team or bring it to exactly ``setup`` (people included), audited, at once."""
    if setup.k < K_FLOOR:
        raise TeamError(f"k can never be below {K_FLOOR}.")
    async with db.session() as session:
        try:
            team = await find(session, workspace_id, setup.name)
            created = False
        except TeamError:
            team = Team(
                workspace_id=workspace_id,
                name=setup.name,
                channel_id=setup.channel_id,
                created_at=clock.now(),
            )
            created = True
        team.channel_id = setup.channel_id
        team.checkin_weekday = setup.checkin_weekday
        team.checkin_time = setup.checkin_time
        team.k = setup.k
        team.paused = setup.paused
        session.add(team)
        await session.flush()
        assert team.id is not None
        current = (await session.exec(select(Member).where(Member.team_id == team.id))).all()
        wanted = {(u, REP) for u in setup.reps} | {(u, MANAGER) for u in setup.managers}
        have = {(m.user_id, m.role): m for m in current}
        for key in have.keys() - wanted:
            await session.delete(have[key])
        for user_id, role in sorted(wanted - have.keys()):
            _add_member(session, team, user_id, role, clock)
        audit.record(
            session,
            workspace_id,
            actor,
            "team.setup",
            clock,
            team=setup.name,
            created=created,
            channel=setup.channel_id,
            reps=sorted(setup.reps),
            managers=sorted(setup.managers),
            schedule=f"{WEEKDAYS[setup.checkin_weekday]} {setup.checkin_time}",
            k=setup.k,
            paused=setup.paused,
        )
    return team
