"""What App Home shows a person: their own page (this week's check-in, their behaviour
trends, trust evidence, blind spot and a practice for next week: :mod:`bot.core.rep_page`),
their teams' latest digest, and for admins the teams and delivery health. Only ever the
person's own answers, and times in their own time zone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import recipients, teams
from bot.core.checkins import week_start, zone
from bot.core.digests.figures import Figures
from bot.core.prompts import PromptBank, default_bank
from bot.core.rep_page import RepPage, rep_page
from bot.runtime import Runtime
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Digest,
    Person,
    Response,
    Team,
)

ANSWERED_WEEKS = 8  # how far back Home looks for the latest check-in the person answered


@dataclass(frozen=True)
class CheckinStatus:
    period_start: date
    status: str  # a DeliveryStatus: pending | sent | failed | skipped | expired ...
    answered: int  # of the check-in's own questions, each counted once
    asked: int  # its questions, the optional note not counted
    closes_at: datetime | None

    @property
    def closed(self) -> bool:
        """Answers can no longer change."""
        return self.status == DeliveryStatus.EXPIRED

    @property
    def state(self) -> str:
        """What the person reads: ``answered`` once every question is, open or closed;
        ``open``, ``on its way``, ``closed`` (some left unanswered), or the delivery's
        status (``failed``, ``skipped``)."""
        if self.status in (DeliveryStatus.FAILED, DeliveryStatus.SKIPPED):
            return str(self.status)
        if self.asked and self.answered >= self.asked:
            return "answered"
        if self.status == DeliveryStatus.PENDING:
            return "on its way"
        return "closed" if self.closed else "open"


@dataclass(frozen=True)
class TeamDigest:
    """A team's latest digest as its managers see it on Home: the figures it showed."""

    team: str
    figures: Figures
    channel_id: str | None


@dataclass
class HomeData:
    user_id: str
    tz: str = "UTC"  # the person's time zone (Slack's users.info), for every time shown
    opted_out: bool = False
    snoozed_until: datetime | None = None
    rep_of: list[str] = field(default_factory=list)
    manager_of: list[str] = field(default_factory=list)
    this_week: CheckinStatus | None = None
    page: RepPage | None = None  # their own page, from their own answers
    digests: list[TeamDigest] = field(default_factory=list)  # each team's latest
    is_admin: bool = False
    team_lines: list[teams.TeamCount] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)

    def local(self, at: datetime) -> datetime:
        """``at`` in the person's own time zone."""
        return at.astimezone(zone(self.tz))


async def home_for(
    runtime: Runtime, workspace_id: str, user_id: str, *, is_admin: bool, tz: str | None = None
) -> HomeData:
    """Everything ``user_id``'s Home shows; ``tz`` is their time zone from Slack
    (``users.info``), else the one stored for them, else UTC."""
    data = HomeData(user_id=user_id, is_admin=is_admin)
    own = await recipients.availability(runtime, workspace_id, user_id)
    data.opted_out, data.snoozed_until = own.opted_out, own.snoozed_until
    member_of = await teams.memberships(runtime.db, workspace_id, user_id)
    data.rep_of = [t.name for t in member_of[teams.REP]]
    data.manager_of = [t.name for t in member_of[teams.MANAGER]]
    # an admin sees every team (the whole list is read only for them)
    summaries = await teams.overview(runtime.db, workspace_id) if is_admin else []
    bank = default_bank()
    async with runtime.db.session() as session:
        person = await session.get(Person, (workspace_id, user_id))
        data.tz = _known_zone(tz) or _known_zone(person.tz if person else None) or "UTC"
        rep_teams = [t.id for t in member_of[teams.REP]]
        data.this_week = await _checkin_status(
            runtime, session, bank, workspace_id, user_id, rep_teams
        )
        mine = [s.team for s in summaries] if is_admin else member_of[teams.MANAGER]
        data.digests = await _latest_digests(session, mine)
        if is_admin:
            data.team_lines = summaries
            counts = (
                await session.exec(
                    select(Delivery.status, func.count())
                    .where(Delivery.workspace_id == workspace_id)
                    .group_by(col(Delivery.status))
                )
            ).all()
            data.outbox = {status: int(n) for status, n in counts}
    data.page = await rep_page(runtime, workspace_id, user_id, bank)
    return data


def _known_zone(name: str | None) -> str | None:
    return name if name and zone(name, fallback="").key == name else None


async def _checkin_status(
    runtime: Runtime,
    session: AsyncSession,
    bank: PromptBank,
    workspace_id: str,
    user_id: str,
    rep_teams: list[int | None],
) -> CheckinStatus | None:
    """The person's open check-in, or else the latest one they answered (closed): each of
    its questions counted once, answered or not."""
    this_monday = week_start(runtime.clock.now().date())
    weeks = [this_monday - timedelta(weeks=n) for n in range(-1, ANSWERED_WEEKS + 1)]
    mine_by_week = runtime.pseudonyms.weeks(workspace_id, user_id, weeks)
    open_checkin = (
        await session.exec(
            select(Delivery, CheckinRound)
            .join(CheckinRound, col(CheckinRound.id) == col(Delivery.round_id))
            .where(
                Delivery.workspace_id == workspace_id,
                Delivery.user_id == user_id,
                Delivery.kind == DeliveryKind.CHECKIN,
            )
            .order_by(col(CheckinRound.period_start).desc())
            .limit(1)
        )
    ).first()
    answered: dict[date, set[str]] = defaultdict(set)
    for period, prompt_id in (
        await session.exec(
            select(col(Response.period_start), col(Response.prompt_id)).where(
                col(Response.pseudonym).in_(list(mine_by_week)),
                col(Response.moment).is_(None),
            )
        )
    ).all():
        answered[period].add(prompt_id)
    if open_checkin is not None:  # still open (a closed one names nobody)
        delivery, rnd = open_checkin
        asked = _questions(bank, rnd.prompt_ids)
        return CheckinStatus(
            rnd.period_start,
            delivery.status,
            len(answered[rnd.period_start] & set(asked)),
            len(asked),
            delivery.expires_at,
        )
    if not answered:
        return None
    period = max(answered)  # the latest week they answered, closed
    # the rounds that may have asked them: their teams' of that week that list them among its
    # reps (not every round of the workspace: 1,000 teams' rounds per Home, bench/memory)
    theirs = col(CheckinRound.team_id).in_(rep_teams)
    query = select(CheckinRound.prompt_ids, CheckinRound.reps).where(
        theirs, CheckinRound.period_start == period
    )
    rounds = [ids for ids, reps in (await session.exec(query)).all() if user_id in reps]
    # the round they answered: the one whose questions cover most of their answers
    asked = max(
        (_questions(bank, ids) for ids in rounds),
        key=lambda ids: (len(answered[period] & set(ids)), -len(ids)),
        default=sorted(answered[period]),
    )
    return CheckinStatus(
        period,
        DeliveryStatus.EXPIRED,
        len(answered[period] & set(asked)),
        len(asked),
        None,
    )


async def _latest_digests(session: AsyncSession, shown: list[Team]) -> list[TeamDigest]:
    """Each team's latest digest, in the teams' order, in one query."""
    ids = [t.id for t in shown if t.id is not None]
    if not ids:
        return []
    newest = (
        select(col(Digest.team_id), func.max(Digest.period_start).label("period_start"))
        .where(col(Digest.team_id).in_(ids))
        .group_by(col(Digest.team_id))
        .subquery()
    )
    found = (
        await session.exec(
            select(Digest).join(
                newest,
                (col(Digest.team_id) == newest.c.team_id)
                & (col(Digest.period_start) == newest.c.period_start),
            )
        )
    ).all()
    by_team = {d.team_id: d for d in found}
    return [
        TeamDigest(t.name, Figures.from_stored(by_team[t.id].figures), by_team[t.id].channel_id)
        for t in shown
        if t.id in by_team
    ]


def _questions(bank: PromptBank, prompt_ids: Sequence[str]) -> list[str]:
    """The questions a check-in asks: its prompts, the optional note not counted."""
    return [p for p in prompt_ids if not bank.has_prompt(p) or bank.prompt(p).kind != "text"]


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(points: list[tuple[Any, float]]) -> str:
    """A 1-5 series as a little text chart: ▁ is 1, █ is 5."""
    return "".join(SPARKS[min(7, max(0, round((v - 1) / 4 * 7)))] for _, v in points)
