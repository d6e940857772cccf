"""Every table of the domain, in one place (SQLModel on SQLAlchemy 2).

Anonymity: answers (:class:`Response`, :class:`Note`, :class:`ManagerEstimate`) carry a keyed
pseudonym, never a Slack user ID, and no column of theirs points at a row that names a user.
"""

from __future__ import annotations

import enum
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, event
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Store instants as UTC and always read them back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def instant(*, nullable: bool = False, index: bool = False) -> Any:
    """A UTC datetime column."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


def json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Workspace(SQLModel, table=True):
    """A Slack workspace the app is installed in."""

    id: str = Field(primary_key=True, max_length=32)  # Slack team_id
    name: str = ""
    enterprise_id: str | None = Field(default=None, max_length=32)  # its Grid org, if any
    active: bool = True
    installed_at: datetime = instant()
    uninstalled_at: datetime | None = instant(nullable=True)


NAME_KEY_MAX = 320
"""Longest team name key (an 80-character name's key can be longer: casefolding and NFKC
expand some characters)."""


def name_key(name: str) -> str:
    """What makes two team names the same: NFKC-normalised and casefolded (``Équipe``,
    ``ÉQUIPE``, ``équipe`` with a combining accent and full-width ``ＥＱＵＩＰＥ`` are one key).
    Done here, not with SQL's ``lower()``, which is ASCII-only on SQLite."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


class Team(SQLModel, table=True):
    """A sales team: its reps, managers, digest channel, schedule and anonymity threshold.

    ``name_key`` (:func:`name_key` of ``name``, set on every insert and update) is what a
    name is looked up by, unique per workspace."""

    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        UniqueConstraint("workspace_id", "name_key", name="uq_team_name_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=32)
    name: str = Field(max_length=80)
    name_key: str = Field(default="", max_length=NAME_KEY_MAX)
    channel_id: str = Field(max_length=32)
    checkin_weekday: int = 4  # 0 = Monday; rep-local
    checkin_time: str = Field(default="16:00", max_length=5)  # HH:MM, rep-local
    digest_weekday: int = 0
    digest_time: str = Field(default="09:00", max_length=5)
    timezone: str = Field(default="UTC", max_length=64)  # the team's, for the digest
    # where the digest goes: "channel", "dm" (its managers, by DM) or "both"
    digest_to: str = Field(
        default="channel", max_length=8, sa_column_kwargs={"server_default": "channel"}
    )
    k: int = 5  # distinct respondents before a figure is shown (never below 3)
    notes_k: int = 5  # distinct respondents before shared notes are shown
    # where reps may flag commitments and hand over won deals (/trust delivery), if anywhere
    delivery_channel_id: str | None = Field(default=None, max_length=32)
    reminder_after_hours: int = 24  # working hours, rep-local
    expire_after_days: int = 3
    nudges_per_day: int = 3
    nudge_gap_hours: int = 24  # one nudge per deal per this many hours
    work_start: str = Field(default="09:00", max_length=5)
    work_end: str = Field(default="18:00", max_length=5)
    paused: bool = False
    created_at: datetime = instant()


@event.listens_for(Team, "before_insert")
@event.listens_for(Team, "before_update")
def _key_the_name(_: Any, __: Any, team: Team) -> None:
    team.name_key = name_key(team.name)


class Member(SQLModel, table=True):
    """A person's role in a team: ``rep`` or ``manager``."""

    __table_args__ = (UniqueConstraint("team_id", "user_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=32)
    team_id: int = Field(foreign_key="team.id", index=True)
    user_id: str = Field(index=True, max_length=32)
    role: str = Field(max_length=16)
    added_at: datetime = instant()


class Person(SQLModel, table=True):
    """What we keep about one Slack user: time zone and self-service state."""

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    tz: str | None = Field(default=None, max_length=64)
    tz_checked_at: datetime | None = instant(nullable=True)
    snoozed_until: datetime | None = instant(nullable=True)
    opted_out: bool = False


class OptOut(SQLModel, table=True):
    """An opt-out that outlives ``forget-me``: only a keyed hash of the user remains."""

    workspace_id: str = Field(primary_key=True, max_length=32)
    user_hash: str = Field(primary_key=True, max_length=64)


class Admin(SQLModel, table=True):
    """A user made admin with ``/trust admin add``."""

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    added_by: str = Field(max_length=32)
    added_at: datetime = instant()


class AuditLog(SQLModel, table=True):
    """Who changed what, and when."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(index=True, max_length=32)
    actor: str = Field(max_length=32)
    action: str = Field(max_length=64)
    detail: dict[str, Any] = json_column()
    at: datetime = instant(index=True)


class PromptSetting(SQLModel, table=True):
    """An admin's choice to enable or disable a prompt of the bank."""

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True, max_length=32)
    prompt_id: str = Field(primary_key=True, max_length=80)
    enabled: bool = True
    changed_by: str = Field(max_length=32)
    changed_at: datetime = instant()


class TeamWeek(SQLModel):
    """The columns of a row that one team has once a week (its week from ``period_start``
    to ``period_end``); each table adds its unique ``(team_id, period_start)``."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=32)
    team_id: int = Field(foreign_key="team.id", index=True)
    period_start: date
    period_end: date


class CheckinRound(TeamWeek, table=True):
    """One weekly check-in of one team: the unit a schedule slot creates exactly once.

    ``reps`` and ``managers`` are the team as it was when the week was planned: the week's
    digest counts those reps' answers (never its managers'), so a team made or changed later
    cannot re-cut a past week's answers into new groups."""

    __table_args__ = (UniqueConstraint("team_id", "period_start"),)

    prompt_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reps: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    managers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="planned", max_length=16)  # planned | fanned_out
    created_at: datetime = instant()


class DeliveryKind(enum.StrEnum):
    """What an outbox row posts."""

    CHECKIN = "checkin"  # the weekly check-in DM of a round
    NUDGE = "nudge"  # a deal nudge DM
    MANAGER = "manager"  # the manager's check-in of a round (estimates and a self-check)
    SUMMARY = "summary"  # the team summary DM'd to a rep of a round once its digest is out
    DIGEST = "digest"  # the digest DM'd to a manager of the round (digest_to dm or both)


class DeliveryStatus(enum.StrEnum):
    """Where an outbox row is in its life."""

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    FAILED = "failed"  # a permanent error; last_error says which
    EXPIRED = "expired"  # sent, and closed to answers
    SKIPPED = "skipped"  # not sent, and never will be; last_error says why
    SUPERSEDED = "superseded"  # a deal nudge a newer update about the deal made obsolete


class Delivery(SQLModel, table=True):
    """The outbox: one planned DM, recorded before it is sent.

    Once a sent DM closes (expired), nothing of it that points at its person stays: user,
    channel, message, deal event and every instant are cleared (:func:`bot.core.outbox.
    forget_recipient`), leaving its kind, status and round for the counts. Only open,
    failed and skipped rows (which took no answers) name the user.
    """

    __table_args__ = (
        UniqueConstraint("kind", "round_id", "user_id"),
        UniqueConstraint("kind", "deal_event_id", "user_id"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=32)
    kind: str = Field(max_length=16)  # a DeliveryKind
    round_id: int | None = Field(default=None, foreign_key="checkinround.id")
    deal_event_id: int | None = Field(default=None, foreign_key="dealevent.id")
    user_id: str | None = Field(default=None, index=True, max_length=32)  # None once closed
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)  # a DeliveryStatus
    planned_at: datetime | None = instant(nullable=True)  # the slot it was planned for
    attempts: int = 0
    next_attempt_at: datetime = instant()
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = instant(nullable=True)
    last_error: str | None = Field(default=None, max_length=200)
    unsure_since: datetime | None = instant(nullable=True)
    """The claim of the earliest attempt that may have posted unseen (what a history lookup
    reads from); None when no attempt is in doubt."""
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    sent_at: datetime | None = instant(nullable=True)
    remind_at: datetime | None = instant(nullable=True)
    anchor: str | None = Field(default=None, max_length=1000)
    """A check-in's deal, sealed (:mod:`bot.core.recent_deals`): which deal its question names,
    fixed when first drawn so a redraw names the same one; cleared when the DM closes."""
    reminded_at: datetime | None = instant(nullable=True)
    expires_at: datetime | None = instant(nullable=True)
    created_at: datetime = instant()

    @property
    def recipient(self) -> str:
        """The user an open row is for (a closed row has forgotten them)."""
        if self.user_id is None:
            raise LookupError(f"delivery {self.id} is closed and names nobody")
        return self.user_id


class Response(SQLModel, table=True):
    """One answer to one prompt, under the person's pseudonym of that week. Changeable until
    its check-in or nudge closes.

    It holds the week and the kind of answer, nothing finer: no team (a person's answers
    count for each team they were a rep of that week, resolved with the key), no click time,
    and for a nudge only a keyed reference to it (``context``) and its moment.
    """

    __table_args__ = (
        UniqueConstraint("context", "pseudonym", "prompt_id"),
        # a week's digest reads only the index
        Index(
            "ix_response_period",
            "period_start",
            "pseudonym",
            "moment",
            "dimension",
            "prompt_id",
            "score",
        ),
        Index("ix_response_pseudonym", "pseudonym"),  # one person's answers: Home, export
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=32)
    period_start: date  # the week the answer counts in (its Monday)
    context: str = Field(max_length=80)  # "checkin:<week>", or "nudge:<keyed hash>"
    moment: str | None = Field(default=None, max_length=32)  # deal moment, for nudge answers
    pseudonym: str = Field(max_length=64)
    prompt_id: str = Field(max_length=80)
    dimension: str = Field(max_length=32)
    value: str = Field(max_length=150)
    score: int | None = None  # 1..5 where the answer maps onto the trust index


class Note(SQLModel, table=True):
    """A free-text note; reaches a digest only when ``shared`` and the k rule holds."""

    __table_args__ = (
        UniqueConstraint("context", "pseudonym"),
        Index("ix_note_period", "period_start", "pseudonym"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=32)
    period_start: date
    context: str = Field(max_length=80)
    pseudonym: str = Field(max_length=64)  # the writer's pseudonym of that week
    text: str = Field(max_length=3000)
    shared: bool = False


class ManagerEstimate(SQLModel, table=True):
    """A manager's estimate of how the team answers a prompt (for the perception gap)."""

    __table_args__ = (UniqueConstraint("team_id", "period_start", "pseudonym", "prompt_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=32)
    team_id: int = Field(foreign_key="team.id", index=True)
    period_start: date
    pseudonym: str = Field(max_length=64)  # the manager's pseudonym of that week
    prompt_id: str = Field(max_length=80)
    # an estimate: the team's mean answer (1-5) the manager expects; a self-check
    # ("self.*" prompt ids): 2 yes, 1 partly, 0 no (bot/core/manager_checkin.py)
    value: int


class RecentDeals(SQLModel, table=True):
    """The deals a rep's updates named over the last week, for the check-in's deal question:
    one row per rep, its content sealed (:mod:`bot.core.recent_deals`). Planned deal updates
    forget their rep, and a dump cannot tie this row's content to any of them."""

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    sealed: str = Field(sa_type=Text)


class DealEvent(SQLModel, table=True):
    """A normalised deal update from any source; unique per (workspace, source, event_id)."""

    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "event_id", name="uq_dealevent_event"),
        # a rep's own page finds the updates of the weeks they answered nudges in
        Index("ix_dealevent_workspace_received", "workspace_id", "received_at"),
        # a deal's history, in the order it happened (is a newer update stored?)
        Index("ix_dealevent_deal", "workspace_id", "deal_id", "occurred_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # no index of its own: the three above begin with it (one index fewer per stored update)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=32)
    source: str = Field(max_length=16)  # webhook | hubspot | slack
    event_id: str = Field(max_length=200)
    deal_id: str = Field(max_length=200)
    deal_name: str = Field(default="", max_length=300)
    change: str = Field(max_length=32)
    from_value: str | None = Field(default=None, max_length=300)
    to_value: str | None = Field(default=None, max_length=300)
    # who the CRM says the deal is for: kept only until the update is planned (a nudge, a
    # skip), then cleared; an update whose rep is unknown keeps them for /trust status
    rep_user_id: str | None = Field(default=None, index=True, max_length=32)
    rep_email: str | None = Field(default=None, max_length=320)
    status: str = Field(
        default="accepted", max_length=16
    )  # accepted|nudged|deferred|unknown_rep|skipped|waiting|superseded
    occurred_at: datetime = instant()
    received_at: datetime = instant()


class Digest(TeamWeek, table=True):
    """A team's published digest: its figures are fixed at first publication."""

    __table_args__ = (UniqueConstraint("team_id", "period_start"),)

    figures: dict[str, Any] = json_column()
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    published_at: datetime = instant()
    claimed_at: datetime | None = instant(nullable=True)  # when its post began
    failed_error: str | None = Field(default=None, max_length=64)
    """Slack's error for a channel the digest cannot be posted to (``is_archived``...): the
    week is not tried again by the schedule."""


class NoteReply(SQLModel, table=True):
    """A manager's anonymous reply to a shared note: stored against the note, never naming
    its writer (who is found with the key when it is delivered, in memory only) nor the
    manager who wrote it."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=32)
    note_id: int = Field(foreign_key="note.id", index=True)
    text: str = Field(max_length=3000)
    created_at: datetime = instant()


class RollupFigures(SQLModel, table=True):
    """A workspace's leadership roll-up of one week or block of weeks (``/trust rollup``),
    fixed when first shown like a digest's figures: two views can never be subtracted."""

    __table_args__ = (UniqueConstraint("workspace_id", "period_start", "weeks"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=32)
    period_start: date
    weeks: int
    figures: dict[str, Any] = json_column()
    created_at: datetime = instant()


class SlackEventSeen(SQLModel, table=True):
    """An Events API ``event_id`` already handled (Slack retries; Bolt does not de-duplicate)."""

    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = instant(index=True)


class Lease(SQLModel, table=True):
    """A named lease one process holds at a time (the scheduler's), renewed while alive."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = instant()


class DealState(SQLModel, table=True):
    """The last state of a CRM deal Trustbot was told, for CRMs that send only current values
    (Salesforce Outbound Messages): a change is the difference from it.

    No rep identity: the owner (a Salesforce user ID, or an e-mail) is not kept here.
    """

    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "deal_id", name="uq_dealstate_deal"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=32)
    source: str = Field(max_length=16)  # salesforce
    deal_id: str = Field(max_length=200)
    stage: str | None = Field(default=None, max_length=300)
    close_date: str | None = Field(default=None, max_length=300)
    amount: str | None = Field(default=None, max_length=300)
    discount: str | None = Field(default=None, max_length=300)
    is_closed: bool | None = None
    is_won: bool | None = None
    deal_type: str | None = Field(default=None, max_length=300)
    modified_at: datetime | None = instant(nullable=True)  # the CRM's, to ignore stale news
    seen: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = instant()


class DealVerdict(SQLModel, table=True):
    """Seed 000's verdict on a deal (``go`` / ``stop`` / ``think`` / ``find_out``), kept so the
    deal's later outcome (won, lost, ...) can be compared with it.

    Keyed by the workspace and a keyed hash of the deal (``Purpose.DEAL``), never by the rep,
    and with no time: the database alone cannot tie a verdict to who gave it or when. ``team``
    is the team whose outcomes it counts in (the rep's team when they decided).
    """

    __table_args__ = (UniqueConstraint("workspace_id", "deal_ref", name="uq_dealverdict_deal"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=32)
    deal_ref: str = Field(max_length=64)
    verdict: str = Field(max_length=16)
    team_id: int | None = Field(default=None, foreign_key="team.id")


class StageMapping(SQLModel, table=True):
    """An admin's reading of one CRM stage name that the built-in rules cannot guess
    (``/trust stages map``): what the stage means for the deal (a
    :class:`~bot.core.deals.stages.StageKind` value). ``pipeline`` is the CRM the updates
    come from (``salesforce``, ``hubspot``, ``webhook``, ``slack``) or ``all``; ``stage_key``
    is the name as the rules read it (case, accents and punctuation aside)."""

    __table_args__ = (
        UniqueConstraint("workspace_id", "pipeline", "stage_key", name="uq_stagemapping_stage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", max_length=32)
    pipeline: str = Field(max_length=16)
    stage: str = Field(max_length=300)  # as the admin typed it
    stage_key: str = Field(max_length=300)
    kind: str = Field(max_length=16)
    changed_by: str = Field(max_length=32)
    changed_at: datetime = instant()
