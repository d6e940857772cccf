"""Guardrails on deal nudges: to whom, how many, how often and when.

Per team and configurable (:class:`~bot.storage.models.Team`):

- ``nudges_per_day`` (default 3): at most this many nudges per rep per rep-local day;
  ``0`` turns deal nudges off for the team;
- ``nudge_gap_hours`` (default 24): at most one nudge per deal per rep in this many hours;
- ``work_start`` / ``work_end`` (default 09:00-18:00): nudges only arrive in these hours of
  the rep's time zone (``Person.tz``, else the team's), on working days (Mon-Fri).

A nudge that would break one of these is *deferred* to the first slot that breaks none (its
``next_attempt_at``), not dropped; only when no such slot exists within :data:`HORIZON` (a
week: the rep's allowance is full every day, e.g. after a bulk CRM import) is it skipped.
Nothing is planned for snoozed or opted-out reps or for paused teams: those events are
*skipped*. A rep in several teams counts in their first team (the lowest ``Team.id``, i.e.
the earliest created), whose settings apply.

Plain Python over the storage layer: nothing here talks to Slack.
"""

from __future__ import annotations

import enum
import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.core.checkins import WORKDAYS, zone
from bot.core.recipients import Availability, Refusal, remembered_opt_outs
from bot.core.teams import REP
from bot.runtime.pseudonyms import Pseudonyms
from bot.storage.models import (
    DealEvent,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Member,
    Person,
    Team,
)

DEFAULT_WORK_START = time(9, 0)
DEFAULT_WORK_END = time(18, 0)
HORIZON = timedelta(days=7)
"""A nudge that cannot go out within this long (the rep's allowance is full all week, say after
a bulk CRM import) is skipped rather than queued for months."""
MAX_STEPS = 500  # bound on the deferral search (each step moves the slot strictly forward)
NOT_COUNTED = (
    DeliveryStatus.SKIPPED,
    DeliveryStatus.SUPERSEDED,
)  # outbox statuses that do not use up a rep's daily allowance


class NotPlanned(enum.StrEnum):
    """Why no nudge is planned."""

    NOT_A_REP = "not_a_rep"  # the user is no rep of any team in the workspace
    TEAM_PAUSED = "team_paused"
    NUDGES_OFF = "nudges_off"  # the team's nudges_per_day is 0
    OPTED_OUT = "opted_out"
    SNOOZED = "snoozed"
    BACKLOG = "backlog"  # no slot within HORIZON


def parse_hhmm(value: str | None, default: time) -> time:
    """``"HH:MM"`` as a time; a missing or malformed value gives ``default``."""
    try:
        hour, minute = (int(part) for part in str(value).split(":"))
        return time(hour, minute)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Limits:
    """A team's nudge settings, seen from one rep's time zone."""

    per_day: int
    gap: timedelta
    work_start: time
    work_end: time
    tz: ZoneInfo

    @classmethod
    def for_rep(cls, team: Team, rep_tz: str | None) -> Limits:
        return cls(
            per_day=team.nudges_per_day,
            gap=timedelta(hours=max(team.nudge_gap_hours, 0)),
            work_start=parse_hhmm(team.work_start, DEFAULT_WORK_START),
            work_end=parse_hhmm(team.work_end, DEFAULT_WORK_END),
            tz=zone(rep_tz, team.timezone),
        )


@functools.lru_cache(maxsize=1024)  # a batch asks the same few days of the same teams
def window(day: date, limits: Limits) -> tuple[datetime, datetime] | None:
    """The working window of ``day`` (rep-local) as UTC instants; ``None`` on a weekend.

    A ``work_end`` not after ``work_start`` ends the window at midnight.
    """
    if day.weekday() not in WORKDAYS:
        return None
    start = datetime.combine(day, limits.work_start, limits.tz).astimezone(UTC)
    if limits.work_end > limits.work_start:
        end = datetime.combine(day, limits.work_end, limits.tz).astimezone(UTC)
    else:
        end = datetime.combine(day + timedelta(days=1), time(0), limits.tz).astimezone(UTC)
    return start, end


def in_working_hours(at: datetime, limits: Limits) -> bool:
    """Whether ``at`` falls in the rep's working hours on a working day."""
    span = window(at.astimezone(limits.tz).date(), limits)
    return span is not None and span[0] <= at < span[1]


def next_window(at: datetime, limits: Limits) -> datetime:
    """``at`` itself when it is in working hours, else the start of the next working window."""
    day = at.astimezone(limits.tz).date()
    for offset in range(8):
        span = window(day + timedelta(days=offset), limits)
        if span is None:
            continue
        start, end = span
        if at < start:
            return start
        if at < end:
            return at
    raise AssertionError("a week always has a working day")  # pragma: no cover


def next_day_start(at: datetime, tz: ZoneInfo) -> datetime:
    """Midnight (rep-local) that starts the day after ``at``'s."""
    day = at.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def choose_slot(
    now: datetime,
    limits: Limits,
    *,
    planned: Iterable[datetime] = (),
    same_deal: Iterable[datetime] = (),
    horizon: timedelta = HORIZON,
    per_day: Mapping[date, int] | None = None,
) -> datetime | None:
    """The first instant from ``now`` on that keeps every guardrail, or ``None`` if there is
    none within ``horizon``.

    ``planned`` are the slots of the rep's other nudges (for the daily cap; or give
    ``per_day``, their count per rep-local day), ``same_deal`` those of the rep's nudges
    about the same deal (for the gap). Requires ``limits.per_day >= 1``.
    """
    if limits.per_day < 1:
        raise ValueError("nudges are off for this team (nudges_per_day is 0)")
    if per_day is None:
        per_day = Counter(t.astimezone(limits.tz).date() for t in planned)
    deal = sorted(same_deal)
    slot = next_window(now, limits)
    for _ in range(MAX_STEPS):
        if slot > now + horizon:
            return None
        clash = [t for t in deal if limits.gap and abs(t - slot) < limits.gap]
        if clash:
            slot = next_window(max(clash) + limits.gap, limits)
            continue
        if per_day.get(slot.astimezone(limits.tz).date(), 0) >= limits.per_day:
            slot = next_window(next_day_start(slot, limits.tz), limits)
            continue
        return slot
    return None


@dataclass(frozen=True)
class Decision:
    """What to do with one deal event for one rep: send at ``send_at`` or skip (``skip``)."""

    team: Team | None
    limits: Limits | None
    send_at: datetime | None = None
    skip: NotPlanned | None = None

    @property
    def planned(self) -> bool:
        return self.send_at is not None


def _aware(at: datetime) -> datetime:
    # coalesce() loses the column type, so SQLite hands back a naive (UTC) value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@dataclass
class RepState:
    """What the guardrails know about one rep: their first team, their person row, whether
    they opted out, and the slots of their nudges (all, and per deal). Loaded once for a
    batch of deal events; :meth:`plan` records each new slot so the next one counts it."""

    user_id: str
    team: Team | None
    person: Person | None
    availability: Availability
    planned: list[datetime] = field(default_factory=list)
    by_deal: dict[str, list[datetime]] = field(default_factory=dict)
    _days: Counter[date] | None = field(default=None, init=False, repr=False)
    _free: tuple[datetime, datetime | None] | None = field(default=None, init=False, repr=False)
    _limits: Limits | None = field(default=None, init=False, repr=False)

    def _per_day(self, tz: ZoneInfo) -> Counter[date]:
        if self._days is None:
            self._days = Counter(t.astimezone(tz).date() for t in self.planned)
        return self._days

    def decide(self, deal_id: str, now: datetime) -> Decision:
        """Whether and when to nudge this rep about ``deal_id``."""
        team, person = self.team, self.person
        if team is None:
            return Decision(None, None, skip=NotPlanned.NOT_A_REP)
        limits = self._limits
        if limits is None:  # the same for every deal of the batch
            limits = self._limits = Limits.for_rep(team, person.tz if person else None)
        if team.paused:
            return Decision(team, limits, skip=NotPlanned.TEAM_PAUSED)
        if limits.per_day < 1:
            return Decision(team, limits, skip=NotPlanned.NUDGES_OFF)
        refusal = self.availability.refusal()
        if refusal is Refusal.OPTED_OUT:
            return Decision(team, limits, skip=NotPlanned.OPTED_OUT)
        if refusal is Refusal.SNOOZED:
            return Decision(team, limits, skip=NotPlanned.SNOOZED)
        slot = self._first_free(now, limits)
        if slot is not None and deal_id in self.by_deal:  # the gap may push it later
            slot = choose_slot(
                now, limits, same_deal=self.by_deal[deal_id], per_day=self._per_day(limits.tz)
            )
        if slot is None:
            return Decision(team, limits, skip=NotPlanned.BACKLOG)
        return Decision(team, limits, send_at=slot)

    def _first_free(self, now: datetime, limits: Limits) -> datetime | None:
        """The first slot under the daily cap, whatever the deal: with none, no deal gets one
        (a deal's gap only adds a constraint). Remembered until :meth:`plan` takes a slot, so
        a rep whose week is full costs one search per batch, not one per event."""
        if self._free is None or self._free[0] != now:
            self._free = (now, choose_slot(now, limits, per_day=self._per_day(limits.tz)))
        return self._free[1]

    def plan(self, deal_id: str, now: datetime) -> Decision:
        """:meth:`decide`, and count the slot it picks for the decisions that follow."""
        decision = self.decide(deal_id, now)
        if decision.send_at is not None and decision.limits is not None:
            slot = decision.send_at
            self.planned.append(slot)
            self.by_deal.setdefault(deal_id, []).append(slot)
            self._per_day(decision.limits.tz)[slot.astimezone(decision.limits.tz).date()] += 1
            self._free = None
        return decision


def rep_states(
    session: Session,
    pseudonyms: Pseudonyms,
    workspace_id: str,
    user_ids: Iterable[str],
    now: datetime,
    *,
    lock: bool = False,
) -> dict[str, RepState]:
    """:class:`RepState` of each user, in four queries whatever their number.

    Synchronous, so that a planner runs it in the same transaction (and thread) as the
    writes it decides (``AsyncSession.run_sync`` or SQLite's writer thread). With
    ``lock=True`` the reps' teams are locked (PostgreSQL ``FOR UPDATE``) until the
    transaction ends, so two planners never count the same rep's nudges at once.
    """
    users = sorted(set(user_ids))
    if not users:
        return {}
    query = (
        select(Member.user_id, Team)
        .join(Team, col(Team.id) == col(Member.team_id))
        .where(
            Member.workspace_id == workspace_id,
            Member.role == REP,
            col(Member.user_id).in_(users),
        )
        .order_by(col(Team.id))
    )
    if lock:
        query = query.with_for_update(of=Team)
    teams: dict[str, Team] = {}
    for user_id, team in session.exec(query).all():
        teams.setdefault(user_id, team)  # the first team (lowest id) wins
    persons = {
        p.user_id: p
        for p in session.exec(
            select(Person).where(
                Person.workspace_id == workspace_id, col(Person.user_id).in_(users)
            )
        ).all()
    }
    connection = session.connection()
    remembered = remembered_opt_outs(connection, pseudonyms, workspace_id, users)
    states = {
        u: RepState(
            user_id=u,
            team=teams.get(u),
            person=persons.get(u),
            availability=Availability.of(persons.get(u), u in remembered, now),
        )
        for u in users
    }
    gaps = [timedelta(hours=max(t.nudge_gap_hours, 0)) for t in teams.values()]
    since = now - max([*gaps, timedelta(days=2)])
    slot = func.coalesce(col(Delivery.planned_at), col(Delivery.next_attempt_at))
    rows = connection.execute(  # Core: plain rows, without the ORM's cost per row
        select(Delivery.user_id, slot, DealEvent.deal_id)
        .join(DealEvent, col(DealEvent.id) == col(Delivery.deal_event_id))
        .where(
            Delivery.workspace_id == workspace_id,
            col(Delivery.user_id).in_(users),
            Delivery.kind == DeliveryKind.NUDGE,
            col(Delivery.status).not_in(NOT_COUNTED),
            slot >= since,
        )
    ).all()
    for user_id, at, deal_id in rows:
        state, instant = states[user_id], _aware(at)
        state.planned.append(instant)
        state.by_deal.setdefault(deal_id, []).append(instant)
    return states
