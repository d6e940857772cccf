"""The week's aggregates for many teams at once: a few GROUP BY queries over the week's rows.

Answers name no team: each team's answers are those of its eligible pseudonyms of the week
(computed with the key from its round's reps), passed as one JSON parameter and joined. Every
query reads only the week's rows through ``ix_response_period`` (``period_start, pseudonym,
moment, dimension, prompt_id, score``). Pseudonyms stay in memory here; they never reach the
figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import JSON, Integer, String, and_, bindparam, case, column, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from bot.core.prompts import GOAL_PROMPT_ID, Dimension, PromptBank
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    ManagerEstimate,
    Note,
    Response,
)

SCORES = (1, 2, 3, 4, 5)
NOT_ASKED = (  # never reached the rep
    DeliveryStatus.SKIPPED,
    DeliveryStatus.FAILED,
    DeliveryStatus.SUPERSEDED,
)


@dataclass
class DimensionData:
    """One dimension's check-in scale answers in a period.

    ``bins`` counts people by their own mean score rounded half up (1..5): a partition of the
    respondents, which is what the distribution shows.
    """

    bins: dict[int, int] = field(default_factory=dict)
    score_sum: int = 0
    square_sum: int = 0  # for the standard error of the index
    answers: int = 0

    @property
    def people(self) -> int:
        return sum(self.bins.values())


@dataclass
class PeriodData:
    """What SQL returns for one team and week; pseudonyms stay in memory, never in figures."""

    asked: int = 0
    respondents: set[str] = field(default_factory=set)  # anyone who answered this week
    checkin_respondents: set[str] = field(default_factory=set)  # who answered the check-in
    dimensions: dict[str, DimensionData] = field(default_factory=dict)
    goal: dict[str, int] = field(default_factory=dict)  # option value -> people
    gap: dict[str, dict[bool, int]] = field(default_factory=dict)  # prompt -> {mean >= 4: people}
    gap_scores: dict[str, tuple[int, int, int]] = field(
        default_factory=dict
    )  # prompt -> (score sum, answers, people): the team's mean beside the managers' estimate
    estimates: dict[str, tuple[int, int]] = field(default_factory=dict)  # prompt -> (sum %, n)
    reflections: dict[str, dict[str, int]] = field(default_factory=dict)  # moment -> who -> n
    moment_answers: dict[tuple[str, str], dict[str, dict[str, int]]] = field(
        default_factory=dict
    )  # (moment, prompt) -> value -> who -> answers
    notes: list[str] = field(default_factory=list)  # shared notes' texts

    @property
    def answered(self) -> int:
        return len(self.respondents)


def _scale_checkin_ids(bank: PromptBank) -> list[str]:
    return [p.id for p in bank.checkin_prompts() if p.kind == "scale"]


def _members(pairs: Sequence[tuple[str, int]], dialect: str) -> Any:
    """``(who, team_id)`` rows as a table to join the week's answers with, passed as one JSON
    parameter (a VALUES list of thousands of rows was rendered anew for each statement: most
    of a digest's time went to compiling SQL, measured with bench/digest). Nothing is written."""
    rows = [{"who": who, "team_id": team} for who, team in pairs]
    data = bindparam("members", rows, JSON)
    if dialect == "postgresql":
        table = (
            func.json_to_recordset(data)
            .table_valued(column("who", String), column("team_id", Integer))
            .render_derived(name="m", with_types=True)
        )
        return select(table.c.who, table.c.team_id).cte("members").prefix_with("MATERIALIZED")
    each = func.json_each(data).table_valued("value")
    return (
        select(
            func.json_extract(each.c.value, "$.who").label("who"),
            func.json_extract(each.c.value, "$.team_id").label("team_id"),
        )
        .cte("members")
        .prefix_with("MATERIALIZED")
    )


async def aggregate(
    conn: AsyncConnection,
    eligible: Mapping[int, Collection[str]],
    period_start: date,
    bank: PromptBank,
) -> dict[int, PeriodData]:
    """Every aggregate a digest needs, for many teams at once.

    ``eligible`` maps each team to the pseudonyms of that week whose answers count for it: the
    reps of its round, never its managers (answers name no team: a person's answers of a week
    count for each team they were a rep of). The week's answers are read once per batch of
    teams through ``ix_response_period`` (``period_start, pseudonym, ...``) joined with them;
    the check-in scales per person, the goal and estimated prompts per person, the
    respondents, the nudge answers and the shared notes.
    """
    ids = sorted(eligible)
    out = {team_id: PeriodData() for team_id in ids}
    if not ids:
        return out
    pairs = sorted({(who, team_id) for team_id in ids for who in eligible[team_id]})
    await _per_team(conn, out, ids, period_start)
    if pairs:
        await _answers(conn, out, _members(pairs, conn.dialect.name), period_start, bank)
    return out


async def _per_team(
    conn: AsyncConnection, out: dict[int, PeriodData], ids: list[int], period_start: date
) -> None:
    """What is counted per team, not per person: deliveries asked, managers' estimates."""
    # participation, asked: check-in deliveries of the week's round that reached the rep
    asked = (
        select(col(CheckinRound.team_id), func.count())
        .select_from(Delivery)
        .join(CheckinRound, col(Delivery.round_id) == col(CheckinRound.id))
        .where(
            col(CheckinRound.team_id).in_(ids),
            col(CheckinRound.period_start) == period_start,
            col(Delivery.kind) == DeliveryKind.CHECKIN,
            col(Delivery.status).not_in(NOT_ASKED),
        )
        .group_by(col(CheckinRound.team_id))
    )
    for team_id, n in await conn.execute(asked):
        out[team_id].asked = int(n)

    # perception gap: the managers' estimates (which prompts the team's side is needed for)
    estimates = (
        select(
            col(ManagerEstimate.team_id),
            col(ManagerEstimate.prompt_id),
            func.sum(col(ManagerEstimate.value)),
            func.count(distinct(col(ManagerEstimate.pseudonym))),
        )
        .where(
            col(ManagerEstimate.team_id).in_(ids),
            col(ManagerEstimate.period_start) == period_start,
        )
        .group_by(col(ManagerEstimate.team_id), col(ManagerEstimate.prompt_id))
    )
    for team_id, estimated, total, managers in await conn.execute(estimates):
        out[team_id].estimates[str(estimated)] = (int(total), int(managers))


async def _answers(
    conn: AsyncConnection,
    out: dict[int, PeriodData],
    members: Any,
    period_start: date,
    bank: PromptBank,
) -> None:
    """The answers of one batch of (pseudonym, team) pairs, added to each team's data."""
    team, who = members.c.team_id, col(Response.pseudonym)
    dimension, prompt_id, moment = (
        col(Response.dimension),
        col(Response.prompt_id),
        col(Response.moment),
    )
    score, value, context = col(Response.score), col(Response.value), col(Response.context)
    joined = (members.c.who == who, col(Response.period_start) == period_start)

    def week_of(*columns: Any) -> Any:
        return select(*columns).select_from(Response).join(members, and_(*joined))

    # trust index: check-in scale answers, one row per person and dimension first; each
    # person's mean, rounded half up, is their bin in the distribution (a partition of people)
    per_person = (
        week_of(
            team.label("team_id"),
            dimension.label("dimension"),
            func.sum(score).label("s"),
            func.sum(score * score).label("q"),
            func.count(score).label("n"),
        )
        .where(moment.is_(None), score.is_not(None), prompt_id.in_(_scale_checkin_ids(bank)))
        .group_by(team, dimension, who)
        .subquery()
    )
    p = per_person.c
    bin_ = (p.s * 2 + p.n) // (p.n * 2)
    dims = select(
        p.team_id,
        p.dimension,
        func.sum(p.s),
        func.sum(p.q),
        func.sum(p.n),
        *(func.sum(case((bin_ == score, 1), else_=0)) for score in SCORES),
    ).group_by(p.team_id, p.dimension)
    for team_id, name, score_sum, square_sum, answers, *bins in await conn.execute(dims):
        dim = out[team_id].dimensions.setdefault(name, DimensionData())
        for s, n in zip(SCORES, bins, strict=True):
            if n:
                dim.bins[s] = dim.bins.get(s, 0) + int(n)
        dim.score_sum += int(score_sum)
        dim.square_sum += int(square_sum)
        dim.answers += int(answers)

    # goal mix and the team's side of the perception gap, over two dimensions' rows: each
    # person's goal choice, and whether they average 4 or more on each estimated prompt
    gaps = sorted({prompt for data in out.values() for prompt in data.estimates})
    person = (
        week_of(
            team.label("team_id"),
            prompt_id.label("prompt_id"),
            func.min(value).label("v"),
            (func.sum(score) >= func.count(score) * 4).label("agree"),
            func.sum(score).label("s"),
            func.count(score).label("n"),
        )
        .where(
            moment.is_(None),
            dimension.in_([Dimension.GOAL.value, Dimension.INTERNAL_TRUST.value]),
            prompt_id.in_([GOAL_PROMPT_ID, *gaps]),
        )
        .group_by(team, prompt_id, who)
        .subquery()
    )
    q = person.c
    choices = select(
        q.team_id, q.prompt_id, q.v, q.agree, func.count(), func.sum(q.s), func.sum(q.n)
    ).group_by(q.team_id, q.prompt_id, q.v, q.agree)
    for team_id, asked_prompt, choice, agree, people, total, n in await conn.execute(choices):
        data = out[team_id]
        if asked_prompt == GOAL_PROMPT_ID:
            data.goal[choice] = data.goal.get(choice, 0) + int(people)
        elif agree is not None:
            split = data.gap.setdefault(asked_prompt, {})
            split[bool(agree)] = split.get(bool(agree), 0) + int(people)
            s_, n_, p_ = data.gap_scores.get(asked_prompt, (0, 0, 0))
            data.gap_scores[asked_prompt] = (s_ + int(total), n_ + int(n), p_ + int(people))

    # respondents: who answered anything in the week, and who answered the check-in
    present = week_of(team, who, func.max(case((moment.is_(None), 1), else_=0))).group_by(team, who)
    for team_id, pseudo, in_checkin in await conn.execute(present):
        data = out[team_id]
        data.respondents.add(str(pseudo))
        if in_checkin:
            data.checkin_respondents.add(str(pseudo))

    # deal-moment reflections: each nudge's answers (a reflection is one nudge's context)
    nudges = week_of(team, moment, who, context, prompt_id, value).where(moment.is_not(None))
    contexts: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    for team_id, change, pseudo, nudge, asked_prompt, answer in await conn.execute(nudges):
        contexts[(team_id, str(change), pseudo)].add(nudge)
        cells = out[team_id].moment_answers.setdefault((str(change), asked_prompt), {})
        mine = cells.setdefault(answer, {})
        mine[pseudo] = mine.get(pseudo, 0) + 1
    for (team_id, change, pseudo), seen in contexts.items():
        out[team_id].reflections.setdefault(change, {})[pseudo] = len(seen)

    # notes the reps chose to share
    notes = (
        select(team, col(Note.text))
        .select_from(Note)
        .join(members, and_(members.c.who == col(Note.pseudonym)))
        .where(col(Note.period_start) == period_start, col(Note.shared))
    )
    for team_id, body in await conn.execute(notes):
        out[team_id].notes.append(str(body))
