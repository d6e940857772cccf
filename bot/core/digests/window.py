"""What one week is too thin to show, counted over a longer window (4 weeks, then 13).

A team of 8 at k = 5 can never show a two-way split of one week (one side always has fewer
than 5 people), and the goal question is asked every other week. Over a window the unit
becomes *answers*, and a cell is shown only when at least ``k`` distinct **people** gave
them (:func:`bot.core.anonymity.safe_breakdown` on the people behind each cell). People are
counted across weeks although their pseudonyms change every week: each week's pseudonyms are
mapped back to the reps of that week's round in memory, with the key, exactly as
:func:`bot.core.digests.freezing.eligible_people` does for one week. Nothing of the mapping
is stored.

Only two figures use a window: the goal mix and the deal moments. Both are read with one
query over the window's goal and nudge rows (``ix_response_period``), and only for the teams
whose week was too thin, so the weekly cost of a team that shows its week is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from bot.core.digests.aggregate import PeriodData, _members
from bot.core.digests.periods import WEEK
from bot.core.prompts import GOAL_PROMPT_ID
from bot.storage.models import Response

WINDOWS = (4, 13)
"""The windows tried, in weeks, when one week is too thin: about a month, then a quarter."""
MEMBERS_PER_QUERY = 10_000  # one JSON parameter each (aggregate._members); bounds its size
EPOCH = date(2024, 1, 1)  # a Monday: windows are fixed blocks of weeks counted from it


def last_block(period_start: date, weeks: int) -> date:
    """The first Monday of the latest *complete* block of ``weeks`` weeks that ends with or
    before the week of ``period_start``.

    Blocks are fixed and never overlap, and one is shown only once it is over: a sliding
    window would let two digests be subtracted (this window minus last week's is one week's
    answers, the very split the k rule withheld), and a block still filling would change from
    one digest to the next.
    """
    index = (period_start - EPOCH).days // 7
    end = index - (index + 1) % weeks  # the last week of the latest complete block
    return EPOCH + WEEK * (end - weeks + 1)


def window_periods(start: date, weeks: int) -> list[date]:
    """The ISO Mondays of the block of ``weeks`` weeks starting ``start``, oldest first."""
    return [start + WEEK * i for i in range(weeks)]


@dataclass
class WindowData:
    """One team's goal and nudge answers over a window, keyed by person (never stored).

    ``goal`` maps each goal choice to the people who chose it and how often; ``period`` keeps
    the reflections and nudge answers in :class:`PeriodData`'s shape (people in place of
    pseudonyms), so the deal-moment figures are built by the same code as a week's.
    """

    goal: dict[str, dict[str, int]] = field(default_factory=dict)
    period: PeriodData = field(default_factory=PeriodData)

    def goal_people(self) -> frozenset[str]:
        return frozenset(p for people in self.goal.values() for p in people)

    def moment_people(self) -> frozenset[str]:
        return frozenset(p for people in self.period.reflections.values() for p in people)


async def aggregate_window(
    conn: AsyncConnection,
    people: Mapping[date, Mapping[int, Mapping[str, str]]],
) -> dict[int, WindowData]:
    """Each team's goal and nudge answers in the window's weeks.

    ``people`` maps each week to each team's pseudonyms of that week and the rep each stands
    for (the reps of the week's round, never its managers).
    """
    teams = sorted({team_id for week in people.values() for team_id in week})
    out = {team_id: WindowData() for team_id in teams}
    person: dict[str, str] = {}
    pairs: set[tuple[str, int]] = set()
    for week in people.values():
        for team_id, found in week.items():
            person.update(found)
            pairs.update((who, team_id) for who in found)
    ordered = sorted(pairs)
    periods = sorted(people)
    for start in range(0, len(ordered), MEMBERS_PER_QUERY):
        members = _members(ordered[start : start + MEMBERS_PER_QUERY], conn.dialect.name)
        who, moment = col(Response.pseudonym), col(Response.moment)
        rows = await conn.execute(
            select(
                members.c.team_id,
                who,
                moment,
                col(Response.context),
                col(Response.prompt_id),
                col(Response.value),
            )
            .select_from(Response)
            .join(members, and_(members.c.who == who, col(Response.period_start).in_(periods)))
            .where(
                or_(
                    moment.is_not(None),
                    and_(moment.is_(None), col(Response.prompt_id) == GOAL_PROMPT_ID),
                )
            )
        )
        contexts: dict[tuple[int, str, str], set[str]] = {}
        for team_id, pseudo, change, context, prompt_id, value in rows:
            data, someone = out[int(team_id)], person[str(pseudo)]
            if change is None:
                mine = data.goal.setdefault(str(value), {})
                mine[someone] = mine.get(someone, 0) + 1
                continue
            contexts.setdefault((int(team_id), str(change), someone), set()).add(
                f"{pseudo}:{context}"
            )
            cells = data.period.moment_answers.setdefault((str(change), str(prompt_id)), {})
            said = cells.setdefault(str(value), {})
            said[someone] = said.get(someone, 0) + 1
        for (team_id, change, someone), seen in contexts.items():
            reflections = out[team_id].period.reflections.setdefault(change, {})
            reflections[someone] = reflections.get(someone, 0) + len(seen)
    return out
