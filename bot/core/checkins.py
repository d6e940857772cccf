"""Weekly check-ins: when each rep's DM is due (rep-local, DST-correct), planned into the outbox.

One round per team per week, planned once (a unique constraint makes a second plan a no-op),
one outbox row per rep. Nothing here talks to Slack; the outbox worker sends the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.core import recent_deals, rotation
from bot.core.answers import checkin_state
from bot.core.prompts import PromptBank, default_bank
from bot.core.teams import MANAGER, REP
from bot.runtime import Runtime
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Member,
    Person,
    PromptSetting,
    Team,
    Workspace,
)

MAX_PROMPTS = 12  # keeps the DM well inside Slack's 50-block limit
PLAN_AHEAD = timedelta(hours=27)  # rep-local slots span UTC-12 .. UTC+14 around the team's
MISSED_GRACE = timedelta(hours=6)  # a slot missed while the app was down is sent this late
MISSED = "missed slot"
"""How the reason (``Delivery.last_error``) of a check-in skipped by :func:`missed` begins."""
WORKDAYS = range(5)  # Monday .. Friday


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_slot(period_start: date, weekday: int, hhmm: str, tz: ZoneInfo) -> datetime:
    """The instant (UTC) of ``weekday HH:MM`` wall-clock time in ``tz``, in the week of
    ``period_start``. A time that does not exist (spring forward) moves forward with the gap;
    an ambiguous one (fall back) takes its first occurrence."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    wall = datetime.combine(period_start + timedelta(days=weekday), time(hour, minute), tz)
    # round-trip through UTC normalises a non-existent wall time
    return wall.astimezone(UTC)


def add_working_time(start: datetime, delta: timedelta, tz: ZoneInfo) -> datetime:
    """``start`` plus ``delta`` counted on working days (Mon-Fri) of ``tz`` only."""
    local = start.astimezone(tz)
    remaining = delta
    while remaining > timedelta(0):
        if local.weekday() not in WORKDAYS:
            next_day = datetime.combine(local.date() + timedelta(days=1), time(0), tz)
            local = next_day
            continue
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tz)
        step = min(remaining, midnight - local)
        local = local + step
        remaining -= step
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Plan:
    round: CheckinRound
    deliveries: int
    created: bool


def team_period(team: Team, now: datetime) -> date:
    """The week whose check-in is next for ``team``: this week until its slot is well past."""
    tz = zone(team.timezone)
    this_week = week_start(now.astimezone(tz).date())
    slot = local_slot(this_week, team.checkin_weekday, team.checkin_time, tz)
    return this_week if now <= slot + PLAN_AHEAD else this_week + timedelta(days=7)


def next_checkin(team: Team, now: datetime) -> datetime:
    """When the team's next weekly check-in starts, at the slot in the team's own time zone."""
    tz = zone(team.timezone)
    return local_slot(team_period(team, now), team.checkin_weekday, team.checkin_time, tz)


async def enabled_prompts(runtime: Runtime, bank: PromptBank, workspace_id: str) -> list[str]:
    async with runtime.db.session() as session:
        rows = await session.exec(
            select(PromptSetting).where(PromptSetting.workspace_id == workspace_id)
        )
        choices = {r.prompt_id: r.enabled for r in rows.all()}
    defaults = bank.default_checkin_ids()
    chosen = [p.id for p in bank.checkin_prompts() if choices.get(p.id, p.id in defaults)]
    return chosen[:MAX_PROMPTS]


async def plan_round(
    runtime: Runtime, bank: PromptBank, team: Team, period_start: date, *, now: bool = False
) -> Plan:
    """Create the team's round for ``period_start`` and one outbox row per rep, once.

    ``now`` sends at once (``/trust checkin <team> now``) instead of at each rep's local slot.
    """
    assert team.id is not None
    clock_now = runtime.clock.now()
    async with runtime.db.session() as session:
        existing = (
            await session.exec(
                select(CheckinRound).where(
                    CheckinRound.team_id == team.id, CheckinRound.period_start == period_start
                )
            )
        ).first()
    if existing is not None:
        return Plan(existing, 0, created=False)
    # at most 5 questions, rotating week by week, plus the note (bot/core/rotation.py)
    prompt_ids = await rotation.week_prompt_ids(runtime, bank, team.workspace_id, period_start)
    try:
        async with runtime.db.session() as session:
            people = (
                await session.exec(
                    select(Member.user_id, Member.role).where(Member.team_id == team.id)
                )
            ).all()
            reps = sorted({user for user, role in people if role == REP})
            managers = sorted({user for user, role in people if role == MANAGER})
            zones = {
                p.user_id: p.tz
                for p in (
                    await session.exec(
                        select(Person).where(
                            Person.workspace_id == team.workspace_id,
                            col(Person.user_id).in_(reps + managers),
                        )
                    )
                ).all()
            }
            rnd = CheckinRound(
                workspace_id=team.workspace_id,
                team_id=team.id,
                period_start=period_start,
                period_end=period_start + timedelta(days=6),
                prompt_ids=prompt_ids,
                reps=reps,  # the team of this week: whose answers its digest counts
                managers=managers,
                status="planned",
                created_at=clock_now,
            )
            session.add(rnd)
            await session.flush()
            # the reps' check-ins, and each manager's own (their estimates and self-check:
            # never a response, so never counted as the team's, bot/core/manager_checkin.py)
            recipients = [(u, DeliveryKind.CHECKIN) for u in reps]
            recipients += [(u, DeliveryKind.MANAGER) for u in managers if u not in reps]
            tzs = {user_id: zone(zones.get(user_id), team.timezone) for user_id, _ in recipients}
            slots = {
                user_id: clock_now
                if now
                else local_slot(period_start, team.checkin_weekday, team.checkin_time, tz)
                for user_id, tz in tzs.items()
            }
            anchors = await _anchors(runtime, session, team.workspace_id, rnd, slots, reps)
            for user_id, kind in recipients:
                tz, slot = tzs[user_id], slots[user_id]
                session.add(
                    Delivery(
                        workspace_id=team.workspace_id,
                        kind=kind,
                        round_id=rnd.id,
                        user_id=user_id,
                        status=DeliveryStatus.PENDING,
                        planned_at=slot,
                        next_attempt_at=slot,
                        remind_at=add_working_time(
                            slot, timedelta(hours=team.reminder_after_hours), tz
                        ),
                        expires_at=add_working_time(
                            slot, timedelta(days=team.expire_after_days), tz
                        ),
                        created_at=clock_now,
                        anchor=anchors.get(user_id) if kind == DeliveryKind.CHECKIN else None,
                    )
                )
    except IntegrityError:  # another scheduler planned it first
        return await plan_round(runtime, bank, team, period_start, now=now)
    return Plan(rnd, len(reps), created=True)


async def _anchors(
    runtime: Runtime,
    session: AsyncSession,
    workspace_id: str,
    rnd: CheckinRound,
    slots: dict[str, datetime],
    reps: list[str],
) -> dict[str, str]:
    """Each rep's check-in deal, sealed (:func:`bot.core.recent_deals.anchors`): the deal they
    touched most in the week before now."""
    key = runtime.pseudonyms.key
    if not key or rnd.id is None or not reps:
        return {}
    round_id, now = rnd.id, runtime.clock.now()
    untils = {user: min(slots[user], now) for user in reps}
    return await session.run_sync(
        lambda sync: recent_deals.anchors(
            sync.connection(), key, workspace_id, round_id, untils, rotation.pick_deal
        )
    )


async def plan_due(runtime: Runtime, bank: PromptBank) -> list[Plan]:
    """Plan every running team whose next slot is near (called by the scheduler's tick).
    Teams of a workspace that uninstalled the app are not planned."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        teams = (
            await session.exec(
                select(Team)
                .join(Workspace, col(Workspace.id) == col(Team.workspace_id))
                .where(col(Team.paused).is_(False), col(Workspace.active).is_(True))
            )
        ).all()
    plans = []
    for team in teams:
        period = team_period(team, now)
        tz = zone(team.timezone)
        slot = local_slot(period, team.checkin_weekday, team.checkin_time, tz)
        if now >= slot - PLAN_AHEAD:
            plan = await plan_round(runtime, bank, team, period)
            if plan.created:
                plans.append(plan)
    return plans


def missed(delivery: Delivery, now: datetime) -> bool:
    """A check-in whose slot passed more than :data:`MISSED_GRACE` ago (the app was down)."""
    planned = delivery.planned_at or delivery.next_attempt_at
    return (
        delivery.kind in (DeliveryKind.CHECKIN, DeliveryKind.MANAGER)
        and delivery.attempts == 0
        and now > planned + MISSED_GRACE
    )


@dataclass(frozen=True)
class MissedRound:
    """A team's weekly round whose check-ins were skipped because the app was down."""

    team: str
    period_start: date
    skipped: int


async def missed_rounds(runtime: Runtime, workspace_id: str, limit: int = 5) -> list[MissedRound]:
    """The workspace's rounds with check-ins skipped by :func:`missed`, latest week first."""
    query = (
        select(col(Team.name), col(CheckinRound.period_start), func.count())
        .select_from(Delivery)
        .join(CheckinRound, col(CheckinRound.id) == col(Delivery.round_id))
        .join(Team, col(Team.id) == col(CheckinRound.team_id))
        .where(
            Delivery.workspace_id == workspace_id,
            Delivery.kind == DeliveryKind.CHECKIN,
            Delivery.status == DeliveryStatus.SKIPPED,
            col(Delivery.last_error).startswith(MISSED),
        )
        .group_by(col(Team.name), col(CheckinRound.period_start))
        .order_by(col(CheckinRound.period_start).desc(), col(Team.name))
        .limit(limit)
    )
    async with runtime.db.session() as session:
        found = (await session.exec(query)).all()
    return [MissedRound(team, period, int(n)) for team, period, n in found]


async def claim_reminders(runtime: Runtime, limit: int = 500) -> list[Delivery]:
    """Check-ins whose reminder is due and not sent yet, marked reminded (at most once).

    A rep who has answered every question gets no reminder."""
    now = runtime.clock.now()
    bank = default_bank()
    query = select(Delivery).where(
        Delivery.kind == DeliveryKind.CHECKIN,
        Delivery.status == DeliveryStatus.SENT,
        col(Delivery.remind_at) <= now,
        col(Delivery.reminded_at).is_(None),
        col(Delivery.expires_at) > now,
    )
    rows = await _claim(
        runtime, query.order_by(col(Delivery.remind_at)).limit(limit), reminded_at=now
    )
    due = []
    for row in rows:
        assert row.round_id is not None
        state = await checkin_state(runtime, row.workspace_id, row.recipient, row.round_id)
        questions = [
            p
            for p in state.round.prompt_ids
            if bank.has_prompt(p) and bank.prompt(p).kind != "text"
        ]
        if any(p not in state.answers for p in questions):
            due.append(row)
    return due


async def claim_expiries(runtime: Runtime, limit: int = 500) -> list[Delivery]:
    """Sent check-ins and nudges past their ``expires_at``, now marked expired (each exactly
    once). Redraw them closed, then :func:`bot.core.outbox.forget_recipients`."""
    now = runtime.clock.now()
    query = select(Delivery).where(
        Delivery.status == DeliveryStatus.SENT, col(Delivery.expires_at) <= now
    )
    return await _claim(runtime, query.limit(limit), status=DeliveryStatus.EXPIRED)


async def _claim(
    runtime: Runtime, query: SelectOfScalar[Delivery], **marks: object
) -> list[Delivery]:
    """The deliveries ``query`` finds, each given the ``marks`` (column values) in the same
    session."""
    async with runtime.db.session() as session:
        rows = list((await session.exec(query)).all())
        for row in rows:
            for name, value in marks.items():
                setattr(row, name, value)
            session.add(row)
    return rows
