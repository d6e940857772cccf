"""The leadership roll-up: every team of a workspace at once, for its admins.

For the last week complete in every team's time zone, and for the latest complete block of
:data:`BLOCK_WEEKS` weeks: participation, the workspace's trust index and each behaviour
dimension, each team's index (from its frozen digest, so only where that team passes its own
k) and each team's focus dimension.

k holds at every level:

* the workspace figures use the strictest k of its teams;
* a person is counted once however many teams they are in (answers are read per pseudonym,
  and across weeks each pseudonym is mapped back to its rep in memory, as the digest's block
  figures do; nothing of the mapping is stored);
* nobody who manages a team in the period counts, even where they are a rep elsewhere;
* a workspace figure whose respondents differ from any team's by 1 to k-1 people is withheld
  (:class:`~bot.core.digests.overlaps.Overlaps`, the digests' rule across teams): otherwise
  "workspace minus that team" would be the answers of fewer than k people.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel import select as select_model

from bot.core import anonymity
from bot.core.digests.aggregate import DimensionData, aggregate
from bot.core.digests.freezing import eligible_people, prepare, present, with_data
from bot.core.digests.model import DIMENSION_LABELS, DIMENSION_ORDER
from bot.core.digests.overlaps import Overlaps
from bot.core.digests.periods import WEEK, DigestError, latest_period
from bot.core.digests.window import last_block, window_periods
from bot.core.prompts import PromptBank, default_bank
from bot.runtime import Runtime
from bot.storage.models import CheckinRound, RollupFigures, Team

BLOCK_WEEKS = 4
WORKSPACE = -1  # the workspace's key among the teams' ids (team ids are positive)
ROLLUP_OVERLAP = (
    "not shown: the people who answered differ from one team's by fewer than {k}, so "
    "comparing the two would reveal a few people's answers"
)
TOO_FEW = "not shown: fewer than {k} people answered"


def _round(value: float) -> float:
    return round(value, 2) + 0.0  # as the digests' index


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class RollupDimension(_Model):
    dimension: str
    label: str
    index: float


class RollupPeriod(_Model):
    """The workspace's figures over ``weeks`` weeks from ``start``; ``withheld`` says why
    the answer figures are missing (participation always shows)."""

    start: date
    weeks: int
    in_rounds: int  # distinct people the check-ins were planned for (managers excluded)
    answered: int  # distinct of them who answered anything
    index: float | None = None
    dimensions: list[RollupDimension] = []
    withheld: str | None = None


class RollupTeam(_Model):
    name: str
    index: float | None = None  # from the team's frozen digest: None where it is withheld
    focus: str | None = None  # the team's focus dimension (its label)


class Rollup(_Model):
    k: int
    week: RollupPeriod
    block: RollupPeriod
    teams: list[RollupTeam] = []


async def rollup(runtime: Runtime, workspace_id: str, *, bank: PromptBank | None = None) -> Rollup:
    """The roll-up of ``workspace_id``. Raises :class:`DigestError` when it has no team."""
    bank = bank or default_bank()
    async with runtime.db.session() as session:
        query = select_model(Team).where(col(Team.workspace_id) == workspace_id)
        teams = list((await session.exec(query)).all())
    if not teams:
        raise DigestError("There are no teams yet: create one with `/trust team create`.")
    now = runtime.clock.now()
    week = min(latest_period(t, now) for t in teams)
    k = max(anonymity.threshold(t.k) for t in teams)
    async with runtime.db.engine.connect() as conn:
        had_round = await with_data(conn, [t.id for t in teams if t.id is not None], [week])
    shown = await prepare(runtime, [(t, week) for t in teams if (t.id, week) in had_round])
    rows = []
    for team in sorted(teams, key=lambda t: t.name.lower()):
        digest = shown.get((team.id or 0, week))
        figures = digest.figures if digest else None
        rows.append(
            RollupTeam(
                name=team.name,
                index=figures.overall.index if figures and figures.overall else None,
                focus=figures.focus.label if figures and figures.focus else None,
            )
        )
    block = last_block(week, BLOCK_WEEKS)
    return Rollup(
        k=k,
        week=await frozen_period(runtime, workspace_id, [week], k, bank),
        block=await frozen_period(
            runtime, workspace_id, window_periods(block, BLOCK_WEEKS), k, bank
        ),
        teams=rows,
    )


async def frozen_period(
    runtime: Runtime, workspace_id: str, weeks: Sequence[date], k: int, bank: PromptBank
) -> RollupPeriod:
    """:func:`workspace_period`, computed the first time anyone sees it and stored; every
    later view shows the stored figures (the first writer wins), so two views can never be
    subtracted to isolate a late or deleted answer, as for a digest."""
    key = (
        col(RollupFigures.workspace_id) == workspace_id,
        col(RollupFigures.period_start) == weeks[0],
        col(RollupFigures.weeks) == len(weeks),
    )
    async with runtime.db.engine.connect() as conn:
        stored = (await conn.execute(select(col(RollupFigures.figures)).where(*key))).scalar()
    if stored is not None:
        return RollupPeriod.model_validate(stored)
    made = await workspace_period(runtime, workspace_id, weeks, k, bank)
    row = {
        "workspace_id": workspace_id,
        "period_start": weeks[0],
        "weeks": len(weeks),
        "figures": made.model_dump(mode="json"),
        "created_at": runtime.clock.now(),
    }
    table: Any = RollupFigures.__table__  # type: ignore[attr-defined]
    dialect = runtime.db.dialect
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    unique = ["workspace_id", "period_start", "weeks"]
    async with runtime.db.engine.begin() as conn:
        await conn.execute(insert.values(row).on_conflict_do_nothing(index_elements=unique))
        first = (await conn.execute(select(col(RollupFigures.figures)).where(*key))).scalar()
    return RollupPeriod.model_validate(first)


async def workspace_period(
    runtime: Runtime, workspace_id: str, weeks: Sequence[date], k: int, bank: PromptBank
) -> RollupPeriod:
    """The workspace's figures over ``weeks``, each person counted once (see module doc)."""
    answered: dict[int, set[str]] = {}  # team (or WORKSPACE) -> people who answered anything
    checkin: dict[int, set[str]] = {}  # ... who answered the check-in
    in_rounds: set[str] = set()
    dims: dict[str, DimensionData] = {}
    people_of: dict[str, int] = {}  # dimension -> most people in one week (≤ distinct people)
    async with runtime.db.engine.connect() as conn:
        for week in weeks:
            managers = await _managers(conn, workspace_id, week)
            people = await eligible_people(runtime, conn, [workspace_id], week)
            everyone = {p: u for found in people.values() for p, u in found.items()}
            mine = {p for p, u in everyone.items() if u not in managers}
            in_rounds |= {everyone[p] for p in mine}
            there = await present(conn, frozenset(everyone), week)
            data = (await aggregate(conn, {WORKSPACE: mine}, week, bank))[WORKSPACE]
            for team_id, found in [*people.items(), (WORKSPACE, {p: everyone[p] for p in mine})]:
                answered.setdefault(team_id, set()).update(found[p] for p in found if p in there)
                checkin.setdefault(team_id, set()).update(
                    found[p] for p in found if p in data.checkin_respondents
                )
            for name, dim in data.dimensions.items():
                total = dims.setdefault(name, DimensionData())
                total.score_sum += dim.score_sum
                total.answers += dim.answers
                people_of[name] = max(people_of.get(name, 0), dim.people)
    period = RollupPeriod(
        start=weeks[0],
        weeks=len(weeks),
        in_rounds=len(in_rounds),
        answered=len(answered.get(WORKSPACE, set())),
    )
    if not anonymity.enough(max(people_of.values(), default=0), k):
        return period.model_copy(update={"withheld": TOO_FEW.format(k=k)})
    for sets in (answered, checkin):
        frozen = {team: frozenset(found) for team, found in sets.items()}
        if Overlaps(frozen).first(WORKSPACE, k) is not None:
            return period.model_copy(update={"withheld": ROLLUP_OVERLAP.format(k=k)})
        # and against all teams that can show together: with disjoint A (6), B (6) and C (2),
        # the workspace differs from each by k or more, yet 14·ws − 6·A − 6·B is C's two people
        big = [found for team, found in frozen.items() if team != WORKSPACE and len(found) >= k]
        rest = frozen.get(WORKSPACE, frozenset()).difference(*big)
        if 0 < len(rest) < k:
            return period.model_copy(update={"withheld": ROLLUP_OVERLAP.format(k=k)})
    answers = sum(d.answers for d in dims.values())
    shown = [
        RollupDimension(
            dimension=name,
            label=DIMENSION_LABELS.get(name, name),
            index=_round(dim.score_sum / dim.answers),
        )
        for name, dim in sorted(dims.items(), key=lambda kv: DIMENSION_ORDER.get(kv[0], 99))
        if dim.answers and anonymity.enough(people_of[name], k)
    ]
    index = _round(sum(d.score_sum for d in dims.values()) / answers) if answers else None
    return period.model_copy(update={"index": index, "dimensions": shown})


async def _managers(conn: AsyncConnection, workspace_id: str, week: date) -> set[str]:
    """Everyone who manages a team of the workspace in the week's rounds."""
    rows = await conn.execute(
        select(col(CheckinRound.managers)).where(
            col(CheckinRound.workspace_id) == workspace_id,
            col(CheckinRound.period_start) == week,
        )
    )
    return {user for (managers,) in rows for user in managers or ()}


def period_end(period: RollupPeriod) -> date:
    """The last day (a Sunday) the period covers."""
    return period.start + WEEK * period.weeks - timedelta(days=1)
