"""Freezing: a week's figures are computed the first time anyone sees them (a preview, a
post, or the trend of a later week) and stored in ``Digest.figures``; every later view shows
them verbatim, so two views of a week can never be subtracted to isolate a late or deleted
answer. Many teams are computed in one batch (:func:`prepare`)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Text, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from bot.core.digests import window
from bot.core.digests.aggregate import PeriodData, aggregate
from bot.core.digests.figures import (
    OVERLAP,
    Block,
    Figures,
    Focus,
    GoalMix,
    Moments,
    Trend,
    block_moments,
    build_figures,
    goal_block,
    goal_exact,
    moments_shown,
)
from bot.core.digests.model import stored_blocks
from bot.core.digests.overlaps import Overlaps, compared_with
from bot.core.digests.periods import (
    TREND_PERIODS,
    WEEK,
    DigestError,
    check_period,
    period_end_instant,
    trend_periods,
)
from bot.core.digests.window import WINDOWS
from bot.core.prompts import PromptBank, default_bank
from bot.runtime import Runtime
from bot.storage.models import CheckinRound, Digest, Response, Team

MAX_KEYS = 500  # pseudonyms per IN (...)


@dataclass(frozen=True)
class StoredDigest:
    """A week's frozen digest as stored in :class:`Digest` (figures fixed when first shown)."""

    id: int
    team_id: int
    period_start: date
    figures: Figures
    channel_id: str | None = None
    message_ts: str | None = None
    claimed_at: datetime | None = None  # when its post began

    @property
    def posted(self) -> bool:
        return self.message_ts is not None


STORED_COLUMNS = (
    col(Digest.id),
    col(Digest.team_id),
    col(Digest.period_start),
    col(Digest.figures),
    col(Digest.channel_id),
    col(Digest.message_ts),
    col(Digest.claimed_at),
)


async def stored_digests(
    conn: AsyncConnection, team_ids: Sequence[int], period_start: date
) -> list[StoredDigest]:
    rows = await conn.execute(
        select(*STORED_COLUMNS).where(
            col(Digest.team_id).in_(list(team_ids)), col(Digest.period_start) == period_start
        )
    )
    return [stored_digest(row) for row in rows]


def stored_digest(row: Any) -> StoredDigest:
    """A :class:`StoredDigest` from a row of :data:`STORED_COLUMNS`."""
    digest_id, team_id, period_start, figures, channel_id, message_ts, claimed_at = row
    return StoredDigest(
        int(digest_id),
        int(team_id),
        period_start,
        Figures.from_stored(figures),
        channel_id,
        message_ts,
        claimed_at,
    )


def _insert_ignore(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (team_id, period_start) DO NOTHING RETURNING id, team_id``:
    the first to freeze a week wins, and learns which rows it wrote."""
    table: Any = Digest.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - Database refuses other backends
        raise RuntimeError(f"no insert for {dialect!r}")
    # the figures arrive serialised (``figures_json``): a digest's figures are thousands of
    # small objects, and 200 teams' kept alive at once made each run pay a full garbage
    # collection (measured with bench/digest)
    as_text = bindparam("figures_json", type_=Text)
    stmt = stmt.values(figures=cast(as_text, JSON) if dialect == "postgresql" else as_text)
    return stmt.on_conflict_do_nothing(index_elements=["team_id", "period_start"]).returning(
        table.c.id, table.c.team_id
    )


async def _frozen(conn: AsyncConnection, team_ids: Sequence[int], periods: Iterable[date]) -> Any:
    return await conn.execute(
        select(col(Digest.team_id), col(Digest.period_start)).where(
            col(Digest.team_id).in_(list(team_ids)), col(Digest.period_start).in_(list(periods))
        )
    )


@dataclass(frozen=True)
class _Previous:
    """What a week's figures carry from the latest stored figures before it."""

    trend: Trend
    focus: Focus | None
    goal_mix: GoalMix | None
    moments: Moments | None
    blocks: tuple[Block, ...] = ()

    @classmethod
    def of(cls, figures: Mapping[str, Any]) -> _Previous:
        """What is carried from stored figures (the parts only: parsing all costs more)."""
        focus, goal, moments = figures.get("focus"), figures.get("goal_mix"), figures.get("moments")
        return cls(
            trend=Trend.model_validate(figures.get("trend") or {}),
            focus=Focus.model_validate(focus) if focus else None,
            goal_mix=GoalMix.model_validate(goal) if goal else None,
            moments=Moments.model_validate(moments) if moments else None,
            blocks=tuple(Block.model_validate(b) for b in stored_blocks(figures).get("blocks", ())),
        )

    def block(self, weeks: int, start: date) -> Block | None:
        """The block of ``weeks`` weeks from ``start``, if these figures counted it."""
        return next((b for b in self.blocks if (b.weeks, b.start) == (weeks, start)), None)

    def current_blocks(self, period_start: date) -> list[Block]:
        """The blocks counted before that are still the latest complete ones."""
        return [b for b in self.blocks if window.last_block(period_start, b.weeks) == b.start]


async def _previous(
    conn: AsyncConnection, team_ids: Sequence[int], period_start: date
) -> dict[int, _Previous]:
    """Each team's latest stored figures in the trend window before ``period_start``: their
    ``trend`` (it ends with that week's own index and carries the weeks before), their focus
    (held for a cycle) and their blocks of weeks (a block is counted once, then carried)."""
    window = (
        col(Digest.team_id).in_(list(team_ids)),
        col(Digest.period_start) < period_start,
        col(Digest.period_start) >= period_start - WEEK * (TREND_PERIODS - 1),
    )
    latest = (
        select(col(Digest.team_id).label("team_id"), func.max(col(Digest.period_start)).label("p"))
        .where(*window)
        .group_by(col(Digest.team_id))
        .subquery()
    )
    rows = await conn.execute(  # whole: one JSON parse a row (an extract parses it again)
        select(col(Digest.team_id), col(Digest.figures)).join(
            latest,
            (col(Digest.team_id) == latest.c.team_id) & (col(Digest.period_start) == latest.c.p),
        )
    )
    return {int(team_id): _Previous.of(figures) for team_id, figures in rows}


async def eligible_people(
    runtime: Runtime,
    conn: AsyncConnection,
    workspace_ids: Iterable[str],
    period_start: date,
    *,
    near: Collection[int] | None = None,
    k: int | None = None,
) -> dict[int, dict[str, str]]:
    """Every team of these workspaces with a round in the week, and the pseudonyms whose
    answers count for it, each with the rep it stands for: the reps the round was planned
    for, never its managers (computed with the key; the database holds no link from an
    answer to a team; in memory only: a window of several weeks counts distinct people,
    whose pseudonyms change every week). ``near``: only the teams the k rule across teams
    compares ``near`` with (:func:`compared_with`)."""
    rows = await conn.execute(
        select(
            col(CheckinRound.team_id),
            col(CheckinRound.workspace_id),
            col(CheckinRound.reps),
            col(CheckinRound.managers),
        ).where(
            col(CheckinRound.workspace_id).in_(sorted(set(workspace_ids))),
            col(CheckinRound.period_start) == period_start,
        )
    )
    rounds = {
        int(team_id): (str(workspace), set(reps) - set(managers))
        for team_id, workspace, reps, managers in rows
    }
    if near is not None:
        wanted = compared_with({t: reps for t, (_, reps) in rounds.items()}, near, k)
        rounds = {t: found for t, found in rounds.items() if t in wanted}
    weekly = runtime.pseudonyms.weekly
    return {
        team_id: {weekly(workspace, user, period_start): user for user in reps}
        for team_id, (workspace, reps) in rounds.items()
    }


def pseudonyms(people: Mapping[int, Mapping[str, str]]) -> dict[int, frozenset[str]]:
    """Each team's pseudonyms, from :func:`eligible_people`."""
    return {team_id: frozenset(found) for team_id, found in people.items()}


async def present(
    conn: AsyncConnection, pseudonyms: Collection[str], period_start: date
) -> set[str]:
    """Which of these pseudonyms answered anything in the week."""
    ordered = sorted(pseudonyms)
    found: set[str] = set()
    for start in range(0, len(ordered), MAX_KEYS):
        rows = await conn.execute(
            select(col(Response.pseudonym))
            .where(
                col(Response.period_start) == period_start,
                col(Response.pseudonym).in_(ordered[start : start + MAX_KEYS]),
            )
            .distinct()
        )
        found.update(str(who) for (who,) in rows)
    return found


async def _freeze(
    runtime: Runtime, teams: Sequence[Team], period_start: date, bank: PromptBank
) -> dict[int, StoredDigest]:
    """Compute and store the week's figures for teams that have none yet; the first writer
    wins. Returns the digests this call wrote (by team id)."""
    ids = [t.id for t in teams if t.id is not None]
    top_k = max((t.k for t in teams), default=None)

    async def read_previous() -> dict[int, _Previous]:
        async with runtime.db.engine.connect() as conn:
            return await _previous(conn, ids, period_start)

    async def count_week() -> tuple[dict[int, frozenset[str]], set[str], dict[int, PeriodData]]:
        async with runtime.db.engine.connect() as conn:
            every = pseudonyms(
                await eligible_people(
                    runtime, conn, {t.workspace_id for t in teams}, period_start, near=ids, k=top_k
                )
            )
            found = {t: every[t] for t in ids if t in every}
            week = await aggregate(conn, found, period_start, bank)
            # who answered: the aggregates know it for these teams; asked for the others
            answered = set().union(*(data.respondents for data in week.values()))
            others = frozenset().union(*every.values()) - frozenset().union(*found.values())
            answered |= await present(conn, others, period_start)
            return every, answered, week

    # the stored figures are read and parsed while the database counts the week
    (every, answered, data), previous = await asyncio.gather(count_week(), read_previous())
    # who answered, per team of the week (each team's round's reps who answered anything)
    respondents = {team_id: found & answered for team_id, found in every.items()}
    workspace_of = await _workspaces(runtime, respondents)
    now = runtime.clock.now()
    figures: dict[int, Figures] = {}
    by_workspace: dict[str, dict[int, frozenset[str]]] = defaultdict(dict)
    for other, found in respondents.items():
        by_workspace[workspace_of.get(other, "")][other] = found
    overlaps = {workspace: Overlaps(same) for workspace, same in by_workspace.items()}
    withheld: dict[int, str | None] = {}
    for team in teams:
        assert team.id is not None
        same_week = overlaps.get(team.workspace_id) or Overlaps({})
        withheld[team.id] = OVERLAP if same_week.withholds(team.id, team.k) else None
    # the blocks of weeks counted before are carried; a thin week may need new ones
    blocks = {t: before.current_blocks(period_start) for t, before in previous.items()}

    def build(team: Team) -> Figures:
        assert team.id is not None
        before = previous.get(team.id)
        return build_figures(
            data.get(team.id) or PeriodData(),
            period_start=period_start,
            k=team.k,
            notes_k=team.notes_k,
            previous=before.trend if before else None,
            previous_focus=before.focus if before else None,
            bank=bank,
            tip_key=f"{team.id}:{period_start.isoformat()}",
            withheld=withheld[team.id],
            blocks=blocks.get(team.id, ()),
            previous_goal=before.goal_mix if before else None,
        )

    thin = []
    for team in teams:
        assert team.id is not None
        made = figures[team.id] = build(team)
        week = data.get(team.id) or PeriodData()
        by_moment = made.moments is not None and bool(made.moments.breakdown.cells)
        if withheld[team.id] is None and (
            not goal_exact(made.goal_mix, period_start) or (week.reflections and not by_moment)
        ):
            thin.append(team)
    if thin:  # too thin for the week alone: with the blocks' figures (rebuilt if new)
        counted = await _blocks(runtime, thin, period_start, bank, previous)
        for team in thin:
            assert team.id is not None
            if counted[team.id] != blocks.get(team.id, []):
                blocks[team.id] = counted[team.id]
                figures[team.id] = build(team)
    rows: list[dict[str, Any]] = [
        {
            "workspace_id": team.workspace_id,
            "team_id": team.id,
            "period_start": period_start,
            "period_end": period_start + timedelta(days=6),
            "figures_json": json.dumps(figures[team.id].stored()),
            "channel_id": None,
            "message_ts": None,
            "published_at": now,
        }
        for team in teams
        if team.id is not None
    ]
    if not rows:
        return {}
    async with runtime.db.engine.begin() as conn:
        written = {
            int(team_id): int(digest_id)
            for digest_id, team_id in await conn.execute(_insert_ignore(runtime.db.dialect), rows)
        }
    return {
        team_id: StoredDigest(written[team_id], team_id, period_start, figures[team_id])
        for team_id in figures
        if team_id in written
    }


async def _blocks(
    runtime: Runtime,
    teams: Sequence[Team],
    period_start: date,
    bank: PromptBank,
    previous: Mapping[int, _Previous],
) -> dict[int, list[Block]]:
    """The latest complete blocks of weeks (4, then 13 while a figure still shows nothing)
    for teams whose week is too thin to show their goal mix or deal moments
    (:mod:`~bot.core.digests.window`), shortest first.

    A block the team's previous digest counted is carried as it was, shown or not; what it
    did not count yet is counted (:func:`_count_blocks`), so each team's block is counted
    once for each figure."""
    out: dict[int, list[Block]] = {t.id: [] for t in teams if t.id is not None}
    for weeks in WINDOWS:
        start = window.last_block(period_start, weeks)
        carried: dict[int, Block | None] = {}
        needs: dict[int, set[str]] = {}
        for team in teams:
            assert team.id is not None
            before = previous.get(team.id)
            carried[team.id] = block = before.block(weeks, start) if before else None
            missing = _unshown(out[team.id]) - set(block.counted if block else ())
            if missing:
                needs[team.id] = missing
            elif block is not None and _unshown(out[team.id]):
                out[team.id].append(block)
        if needs:
            counted = await _count_blocks(
                runtime, [t for t in teams if t.id in needs], weeks, start, bank, needs
            )
            for team_id, block in counted.items():
                out[team_id].append(_merged(carried[team_id], block, previous.get(team_id)))
    return out


def _unshown(blocks: Sequence[Block]) -> set[str]:
    """The block figures that none of ``blocks`` shows."""
    unshown = set()
    if all(b.goal_mix is None for b in blocks):
        unshown.add("goal_mix")
    if not any(moments_shown(b.moments) for b in blocks):
        unshown.add("moments")
    return unshown


def _merged(carried: Block | None, counted: Block, before: _Previous | None) -> Block:
    """A block as ``carried`` had it (counted before), with the figures ``counted`` now; and
    what the previous digest showed of it kept as it was (figures stored before blocks were:
    a block once shown is shown unchanged)."""
    block = counted
    if carried is not None:
        kept = {name: getattr(carried, name) for name in carried.counted}
        block = counted.model_copy(
            update={**kept, "counted": tuple(sorted({*carried.counted, *counted.counted}))}
        )
    if before is None:
        return block
    same = (block.weeks, block.start)
    shown: dict[str, Any] = {}
    if before.goal_mix is not None and (before.goal_mix.weeks, before.goal_mix.start) == same:
        shown["goal_mix"] = before.goal_mix
    if before.moments is not None and (before.moments.weeks, before.moments.start) == same:
        shown["moments"] = before.moments
    return block.model_copy(update=shown) if shown else block


async def _count_blocks(
    runtime: Runtime,
    teams: Sequence[Team],
    weeks: int,
    start: date,
    bank: PromptBank,
    needs: Mapping[int, Collection[str]],
) -> dict[int, Block]:
    """Count the block of ``weeks`` weeks from ``start`` for ``teams``, each for the figures
    it ``needs``: over every team of their workspaces with rounds in the block, so that a
    team whose people behind a figure differ from another team's by 1 to k-1 gets none (the
    k rule across teams, as for a week)."""
    workspaces = {t.workspace_id for t in teams}
    top_k = max(t.k for t in teams)
    people: dict[date, dict[int, dict[str, str]]] = {}
    async with runtime.db.engine.connect() as conn:
        for week in window.window_periods(start, weeks):
            people[week] = await eligible_people(
                runtime, conn, workspaces, week, near=[t.id for t in teams if t.id], k=top_k
            )
        found = await window.aggregate_window(conn, people)
    workspace_of = await _workspaces(runtime, found)
    goal_people: dict[str, dict[int, frozenset[str]]] = defaultdict(dict)
    moment_people: dict[str, dict[int, frozenset[str]]] = defaultdict(dict)
    for team_id, data in found.items():
        goal_people[workspace_of[team_id]][team_id] = data.goal_people()
        moment_people[workspace_of[team_id]][team_id] = data.moment_people()
    goal_overlaps = {ws: Overlaps(same) for ws, same in goal_people.items()}
    moment_overlaps = {ws: Overlaps(same) for ws, same in moment_people.items()}
    out: dict[int, Block] = {}
    for team in teams:
        assert team.id is not None
        data = found.get(team.id, window.WindowData())
        wanted = needs[team.id]
        goal: GoalMix | None = None
        moments: Moments | None = None
        overlaps = goal_overlaps.get(team.workspace_id) or Overlaps({})
        if "goal_mix" in wanted and not overlaps.withholds(team.id, team.k):
            goal = goal_block(data.goal, team.k, weeks, start)
        overlaps = moment_overlaps.get(team.workspace_id) or Overlaps({})
        if "moments" in wanted and not overlaps.withholds(team.id, team.k):
            moments = block_moments(data.period, team.k, bank, weeks, start)
        out[team.id] = Block(
            weeks=weeks,
            start=start,
            goal_mix=goal if goal is not None and goal.breakdown.cells else None,
            moments=moments if moments_shown(moments) else None,
            counted=tuple(sorted(wanted)),
        )
    return out


async def _workspaces(runtime: Runtime, team_ids: Iterable[int]) -> dict[int, str]:
    """Each team's workspace."""
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            select(col(Team.id), col(Team.workspace_id)).where(col(Team.id).in_(list(team_ids)))
        )
        return {int(t): str(ws) for t, ws in rows if t is not None}


async def with_data(
    conn: AsyncConnection, team_ids: Sequence[int], periods: Sequence[date]
) -> set[tuple[int, date]]:
    """Which (team, week) pairs had a check-in round (a week's digest counts the answers of
    the reps its round was planned for)."""
    rounds = select(col(CheckinRound.team_id), col(CheckinRound.period_start)).where(
        col(CheckinRound.team_id).in_(list(team_ids)),
        col(CheckinRound.period_start).in_(list(periods)),
    )
    return {(int(team_id), period) for team_id, period in await conn.execute(rounds)}


async def _backfill(
    runtime: Runtime,
    teams: Sequence[Team],
    period_start: date,
    bank: PromptBank,
    frozen: set[tuple[int, date]],
) -> None:
    """Freeze earlier weeks of the trend window that had data but were never shown, oldest
    first, so a trend only ever shows stored figures (nothing shown is recomputed).
    ``frozen`` holds the (team, week) pairs already stored."""
    earlier = trend_periods(period_start)[:-1]
    ids = [t.id for t in teams if t.id is not None]
    missing = [(t, p) for t in ids for p in earlier if (t, p) not in frozen]
    if not missing:
        return
    async with runtime.db.engine.connect() as conn:
        have_data = await with_data(conn, sorted({t for t, _ in missing}), earlier)
    by_id = {t.id: t for t in teams}
    for period in earlier:
        todo = [by_id[t] for t, p in missing if p == period and (t, p) in have_data]
        if todo:
            await _freeze(runtime, todo, period, bank)


async def prepare(
    runtime: Runtime,
    requests: Sequence[tuple[Team, date]],
    *,
    bank: PromptBank | None = None,
) -> dict[tuple[int, date], StoredDigest]:
    """The stored digest of each ``(team, week)``, computing and freezing the missing ones.

    Teams are batched per week, so the weekly tick runs the same few queries for all of them.
    Raises :class:`DigestError` for a week that is not a Monday or not over yet (team-local).
    """
    bank = bank or default_bank()
    now = runtime.clock.now()
    by_period: dict[date, dict[int, Team]] = defaultdict(dict)
    for team, period in requests:
        if team.id is None:
            raise ValueError("team has no id")
        check_period(period)
        if now < period_end_instant(team, period):
            raise DigestError(
                f"The week of {period.isoformat()} is not over yet: its digest comes after."
            )
        by_period[period].setdefault(team.id, team)
    result: dict[tuple[int, date], StoredDigest] = {}
    for period in sorted(by_period):
        teams = by_period[period]
        async with runtime.db.engine.connect() as conn:
            rows = await _frozen(conn, list(teams), trend_periods(period))
            frozen = {(int(team_id), week) for team_id, week in rows}
        todo = [team for team_id, team in teams.items() if (team_id, period) not in frozen]
        written: dict[int, StoredDigest] = {}
        if todo:
            await _backfill(runtime, todo, period, bank, frozen)
            written = await _freeze(runtime, todo, period, bank)
        result.update({(team_id, period): digest for team_id, digest in written.items()})
        stored = [team_id for team_id in teams if team_id not in written]
        if stored:
            async with runtime.db.engine.connect() as conn:
                for digest in await stored_digests(conn, stored, period):
                    result[(digest.team_id, period)] = digest
    return result
