"""What App Home shows a person: their own check-ins and trend, their teams' latest digest,
and for admins the teams and delivery health. Only ever the person's own answers."""

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
from bot.core.checkins import week_start
from bot.core.digests.figures import Figures
from bot.core.prompts import PromptBank, default_bank
from bot.runtime import Runtime
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Digest,
    Response,
    Team,
)

TREND_PERIODS = 8


@dataclass(frozen=True)
class CheckinStatus:
    period_start: date
    status: str  # pending | sent | failed | skipped | expired ...
    answered: int
    asked: int
    closes_at: datetime | None


@dataclass(frozen=True)
class TeamDigest:
    """A team's latest digest as its managers see it on Home: the figures it showed."""

    team: str
    figures: Figures
    channel_id: str | None


@dataclass
class HomeData:
    user_id: str
    opted_out: bool = False
    snoozed_until: datetime | None = None
    rep_of: list[str] = field(default_factory=list)
    manager_of: list[str] = field(default_factory=list)
    this_week: CheckinStatus | None = None
    # dimension -> [(period_start, mean score)] of the person's own answers, oldest first
    trend: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    digests: list[TeamDigest] = field(default_factory=list)  # each team's latest
    is_admin: bool = False
    team_lines: list[teams.TeamCount] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)


async def home_for(
    runtime: Runtime, workspace_id: str, user_id: str, *, is_admin: bool
) -> HomeData:
    data = HomeData(user_id=user_id, is_admin=is_admin)
    own = await recipients.availability(runtime, workspace_id, user_id)
    data.opted_out, data.snoozed_until = own.opted_out, own.snoozed_until
    member_of = await teams.memberships(runtime.db, workspace_id, user_id)
    data.rep_of = [t.name for t in member_of[teams.REP]]
    data.manager_of = [t.name for t in member_of[teams.MANAGER]]
    # an admin sees every team (the whole list is read only for them)
    summaries = await teams.overview(runtime.db, workspace_id) if is_admin else []
    # the person's weekly pseudonyms of the trend window (their answers carry no other link)
    this_monday = week_start(runtime.clock.now().date())
    weeks = [this_monday - timedelta(weeks=n) for n in range(TREND_PERIODS + 1)]
    mine_by_week = runtime.pseudonyms.weeks(workspace_id, user_id, weeks)
    bank = default_bank()
    async with runtime.db.session() as session:
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
        answered_weeks = dict(
            (
                await session.exec(
                    select(col(Response.period_start), func.count())
                    .where(
                        col(Response.pseudonym).in_(list(mine_by_week)),
                        col(Response.moment).is_(None),
                    )
                    .group_by(col(Response.period_start))
                )
            ).all()
        )
        if open_checkin is not None:  # still open (a closed one names nobody)
            delivery, rnd = open_checkin
            data.this_week = CheckinStatus(
                rnd.period_start,
                delivery.status,
                int(answered_weeks.get(rnd.period_start, 0)),
                _questions(bank, rnd.prompt_ids),
                delivery.expires_at,
            )
        elif answered_weeks:  # the latest week they answered, closed
            period = max(answered_weeks)
            # the rounds that asked them: their teams' of that week with them among its reps
            # (not every round of the workspace: 1,000 teams' rounds per Home, bench/memory)
            theirs = col(CheckinRound.team_id).in_([t.id for t in member_of[teams.REP]])
            query = select(CheckinRound.prompt_ids, CheckinRound.reps).where(
                theirs, CheckinRound.period_start == period
            )
            asked = (await session.exec(query)).all()
            questions = (_questions(bank, ids) for ids, reps in asked if user_id in reps)
            data.this_week = CheckinStatus(
                period,
                DeliveryStatus.EXPIRED,
                int(answered_weeks[period]),
                max(questions, default=answered_weeks[period]),
                None,
            )
        rows = (
            await session.exec(
                select(
                    col(Response.dimension), col(Response.period_start), func.avg(Response.score)
                )
                .where(
                    col(Response.pseudonym).in_(list(mine_by_week)),
                    col(Response.score).is_not(None),
                )
                .group_by(col(Response.dimension), col(Response.period_start))
            )
        ).all()
        trend: dict[str, list[tuple[date, float]]] = defaultdict(list)
        for dimension, period, mean in sorted(rows, key=lambda r: r[1]):
            trend[dimension].append((period, round(float(mean), 2)))
        data.trend = {d: points[-TREND_PERIODS:] for d, points in sorted(trend.items())}
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
    return data


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


def _questions(bank: PromptBank, prompt_ids: Sequence[str]) -> int:
    """How many questions a check-in asks: its prompts, the optional note not counted."""
    return sum(1 for p in prompt_ids if not bank.has_prompt(p) or bank.prompt(p).kind != "text")


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(points: list[tuple[Any, float]]) -> str:
    """A 1-5 series as a little text chart: ▁ is 1, █ is 5."""
    return "".join(SPARKS[min(7, max(0, round((v - 1) / 4 * 7)))] for _, v in points)
