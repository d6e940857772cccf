"""The weekly team digest: figures aggregated in SQL, checked by the k rule, frozen once shown.

Plain Python over storage (no Slack). A digest covers one ISO week (``period_start`` is its
Monday), so windows never overlap. Its figures are computed the first time anyone sees them
(a preview, a post, or the trend of a later week) and stored in :class:`Digest` ``figures``;
every later preview, post or re-run shows those stored figures verbatim, so two views of a
week can never be subtracted to isolate a late or deleted answer. What may be shown at all
is decided in :mod:`bot.anonymity`.

Cost: every query reads only the period's rows through ``ix_response_team_period``
(``team_id, period_start, moment, dimension, pseudonym, prompt_id, score``: the trust index
and the respondents read the index alone, the per-person GROUP BY in its order, and the nudge
answers are a range of it); the trend reads the previous week's stored figures,
which already carry the weeks before it. Many teams are computed in one batch
(:func:`prepare`): the weekly tick does the same few GROUP BY queries for all due teams.

The figures (JSON, ``version`` 1)::

    period_start, period_end, k, notes_k
    participation   {asked, answered}              always shown, as counts
    dimensions      [{dimension, label, index, people, distribution, change, reason}]
    goal_mix        breakdown of {trust_and_value, something_else}
    moments         {breakdown (reflections by moment), labels, details} or None
    perception_gap  [{prompt_id, text, manager_text, managers, managers_count, team, reason}]
    notes           {texts, reason}
    focus           {dimension, label, index, tip_id, tip, seed} or None
    trend           {periods: 8 Mondays, index: {dimension: [8 values or None]}}

A breakdown is :meth:`bot.anonymity.Breakdown.as_dict`. What is counted:

* asked: the week's check-in deliveries that reached a rep (not skipped, not failed);
  answered: distinct pseudonyms with at least one answer in the week (nudges included);
* the trust index averages the 1-5 *scale* answers to check-in questions only: a yes/no or
  choice answer as a mean would give its exact split away, so those are shown as
  breakdowns (the goal mix, the deal moments), and nudge answers never mix into the index;
* the distribution counts people by their own mean (rounded half up), a partition of the
  respondents; the perception gap's team side is the share of people averaging 4 or more.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel import select as select_rows

from bot.core import anonymity
from bot.core.checkins import local_slot, week_start, zone
from bot.core.prompts import (
    GOAL_PROMPT_ID,
    TRUST_AND_VALUE,
    Audience,
    ChoiceAnswer,
    Dimension,
    PromptBank,
    YesNoAnswer,
    default_bank,
)
from bot.runtime import Runtime
from bot.storage.models import (
    CheckinRound,
    Delivery,
    Digest,
    ManagerEstimate,
    Note,
    Response,
    Team,
)

__all__ = [
    "DIMENSION_LABELS",
    "FIGURES_VERSION",
    "GOAL_LABELS",
    "TREND_PERIODS",
    "DigestError",
    "DigestResult",
    "DimensionData",
    "Due",
    "PeriodData",
    "StoredDigest",
    "aggregate",
    "build_figures",
    "digest_for",
    "digest_slot",
    "due_digests",
    "latest_period",
    "mark_posted",
    "prepare",
    "release",
    "unsettled",
]

FIGURES_VERSION = 1
WEEK = timedelta(days=7)
TREND_PERIODS = 8
SCORES = (1, 2, 3, 4, 5)
_BIN_KEYS = tuple((score, str(score)) for score in reversed(SCORES))  # shown 5 down to 1
NOT_ASKED = ("skipped", "failed")  # deliveries that never reached the rep
SOMETHING_ELSE = "something_else"
GOAL_LABELS = {TRUST_AND_VALUE: "Trust and value", SOMETHING_ELSE: "Something else"}
DIMENSION_LABELS = {
    Dimension.GOAL.value: "Goal",
    Dimension.INTEGRITY.value: "Integrity",
    Dimension.COMPETENCE.value: "Competence",
    Dimension.CARE.value: "Care",
    Dimension.CANDOR.value: "Candor",
    Dimension.RELIABILITY.value: "Reliability",
    Dimension.VALUE_FOCUS.value: "Value focus",
    Dimension.INTERNAL_TRUST.value: "Internal trust",
}
_DIMENSION_ORDER = {d.value: i for i, d in enumerate(Dimension)}


class DigestError(ValueError):
    """A digest that cannot be made; the message is written for the admin."""


# --------------------------------------------------------------------------- periods


def _check_period(period_start: date) -> None:
    if period_start.weekday() != 0:
        raise DigestError(f"{period_start.isoformat()} is not a Monday: a digest covers one week.")


def _period_end_instant(team: Team, period_start: date) -> datetime:
    """Midnight at the end of the week in the team's time zone."""
    return datetime.combine(period_start + WEEK, time(0), zone(team.timezone))


def latest_period(team: Team, now: datetime) -> date:
    """The Monday of the last complete week in the team's time zone."""
    today = now.astimezone(zone(team.timezone)).date()
    return week_start(today) - WEEK


def digest_slot(team: Team, period_start: date) -> datetime:
    """When the week's digest is due (UTC): the team's digest weekday and time, team-local,
    in the week after it (default Monday 09:00). DST-correct like the check-in slots."""
    return local_slot(
        period_start + WEEK, team.digest_weekday, team.digest_time, zone(team.timezone)
    )


def _trend_periods(period_start: date) -> list[date]:
    return [period_start - WEEK * (TREND_PERIODS - 1 - i) for i in range(TREND_PERIODS)]


# --------------------------------------------------------------------------- aggregates


@dataclass
class DimensionData:
    """One dimension's check-in scale answers in a period.

    ``bins`` counts people by their own mean score rounded half up (1..5): a partition of the
    respondents, which is what the distribution shows.
    """

    bins: dict[int, int] = field(default_factory=dict)
    score_sum: int = 0
    answers: int = 0

    @property
    def people(self) -> int:
        return sum(self.bins.values())


@dataclass
class PeriodData:
    """What SQL returns for one team and week; pseudonyms stay in memory, never in figures."""

    asked: int = 0
    answered: int = 0
    dimensions: dict[str, DimensionData] = field(default_factory=dict)
    goal: dict[str, int] = field(default_factory=dict)  # option value -> people
    gap: dict[str, dict[bool, int]] = field(default_factory=dict)  # prompt -> {mean >= 4: people}
    estimates: dict[str, tuple[int, int]] = field(default_factory=dict)  # prompt -> (sum %, n)
    reflections: dict[str, dict[str, int]] = field(default_factory=dict)  # moment -> who -> n
    moment_answers: dict[tuple[str, str], dict[str, dict[str, int]]] = field(
        default_factory=dict
    )  # (moment, prompt) -> value -> who -> answers
    notes: list[str] = field(default_factory=list)  # shared notes' texts


def _scale_checkin_ids(bank: PromptBank) -> list[str]:
    return [p.id for p in bank.checkin_prompts() if p.kind == "scale"]


async def aggregate(
    conn: AsyncConnection, team_ids: Sequence[int], period_start: date, bank: PromptBank
) -> dict[int, PeriodData]:
    """Every aggregate a digest needs, for many teams at once: GROUP BY queries over the
    week's rows only (``team_id IN (...) AND period_start = :week``, the covering
    ``ix_response_team_period`` index): the check-in scales per person, the goal and
    estimated prompts per person, the respondents and the nudge answers; the others read
    small tables."""
    ids = sorted(set(team_ids))
    out = {team_id: PeriodData() for team_id in ids}
    if not ids:
        return out
    team, who = col(Response.team_id), col(Response.pseudonym)
    dimension, prompt_id, moment = (
        col(Response.dimension),
        col(Response.prompt_id),
        col(Response.moment),
    )
    score, value, context = col(Response.score), col(Response.value), col(Response.context)
    in_period = (team.in_(ids), col(Response.period_start) == period_start)

    # participation, asked: check-in deliveries of the week's round that reached the rep
    asked = (
        select(col(CheckinRound.team_id), func.count())
        .select_from(Delivery)
        .join(CheckinRound, col(Delivery.round_id) == col(CheckinRound.id))
        .where(
            col(CheckinRound.team_id).in_(ids),
            col(CheckinRound.period_start) == period_start,
            col(Delivery.kind) == "checkin",
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

    # trust index: check-in scale answers, one row per person and dimension first; each
    # person's mean, rounded half up, is their bin in the distribution (a partition of people)
    per_person = (
        select(
            team.label("team_id"),
            dimension.label("dimension"),
            func.sum(score).label("s"),
            func.count(score).label("n"),
        )
        .where(
            *in_period,
            moment.is_(None),
            score.is_not(None),
            prompt_id.in_(_scale_checkin_ids(bank)),
        )
        .group_by(team, dimension, who)
        .subquery()
    )
    p = per_person.c
    bin_ = (p.s * 2 + p.n) // (p.n * 2)
    dims = select(
        p.team_id,
        p.dimension,
        func.sum(p.s),
        func.sum(p.n),
        *(func.sum(case((bin_ == score, 1), else_=0)) for score in SCORES),
    ).group_by(p.team_id, p.dimension)
    for team_id, name, score_sum, answers, *bins in await conn.execute(dims):
        out[team_id].dimensions[name] = DimensionData(
            bins={score: int(n) for score, n in zip(SCORES, bins, strict=True) if n},
            score_sum=int(score_sum),
            answers=int(answers),
        )

    # goal mix and the team's side of the perception gap, over two dimensions' rows: each
    # person's goal choice, and whether they average 4 or more on each estimated prompt
    gaps = sorted({prompt for data in out.values() for prompt in data.estimates})
    person = (
        select(
            team.label("team_id"),
            prompt_id.label("prompt_id"),
            func.min(value).label("v"),
            (func.sum(score) >= func.count(score) * 4).label("agree"),
        )
        .where(
            *in_period,
            moment.is_(None),
            dimension.in_([Dimension.GOAL.value, Dimension.INTERNAL_TRUST.value]),
            prompt_id.in_([GOAL_PROMPT_ID, *gaps]),
        )
        .group_by(team, prompt_id, who)
        .subquery()
    )
    q = person.c
    choices = select(q.team_id, q.prompt_id, q.v, q.agree, func.count()).group_by(
        q.team_id, q.prompt_id, q.v, q.agree
    )
    for team_id, asked_prompt, choice, agree, people in await conn.execute(choices):
        data = out[team_id]
        if asked_prompt == GOAL_PROMPT_ID:
            data.goal[choice] = data.goal.get(choice, 0) + int(people)
        elif agree is not None:
            split = data.gap.setdefault(asked_prompt, {})
            split[bool(agree)] = split.get(bool(agree), 0) + int(people)

    # participation, answered: people with at least one answer in the week
    answered = select(team, func.count(distinct(who))).where(*in_period).group_by(team)
    for team_id, n in await conn.execute(answered):
        out[team_id].answered = int(n)

    # deal-moment reflections: each nudge's answers (a reflection is one nudge's context)
    nudges = select(team, moment, who, context, prompt_id, value).where(
        *in_period, moment.is_not(None)
    )
    contexts: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    for team_id, change, pseudo, nudge, asked_prompt, answer in await conn.execute(nudges):
        contexts[(team_id, str(change), pseudo)].add(nudge)
        cells = out[team_id].moment_answers.setdefault((str(change), asked_prompt), {})
        mine = cells.setdefault(answer, {})
        mine[pseudo] = mine.get(pseudo, 0) + 1
    for (team_id, change, pseudo), seen in contexts.items():
        out[team_id].reflections.setdefault(change, {})[pseudo] = len(seen)

    # notes the reps chose to share
    notes = select(col(Note.team_id), col(Note.text)).where(
        col(Note.team_id).in_(ids), col(Note.period_start) == period_start, col(Note.shared)
    )
    for team_id, body in await conn.execute(notes):
        out[team_id].notes.append(str(body))
    return out


# --------------------------------------------------------------------------- figures


def _round(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0: never a "-0.0" change


def _history(previous: Mapping[str, Any] | None, earlier: Sequence[str]) -> dict[str, list[Any]]:
    """Each dimension's index in the ``earlier`` weeks (ISO Mondays), from the ``trend`` of
    the latest stored figures before this week; ``None`` where nothing was shown."""
    trend = (previous or {}).get("trend") or {}
    position = {str(p): i for i, p in enumerate(trend.get("periods") or ())}
    where = [position.get(p) for p in earlier]
    history: dict[str, list[Any]] = {}
    for dimension, values in (trend.get("index") or {}).items():
        values = list(values or ())
        history[str(dimension)] = [
            values[i] if i is not None and i < len(values) else None for i in where
        ]
    return history


def _breakdown_cells(values: Mapping[str, Mapping[str, int]]) -> list[anonymity.Cell]:
    return [
        anonymity.Cell(key, sum(people.values()), frozenset(people))
        for key, people in values.items()
    ]


@dataclass(frozen=True)
class _Catalog:
    """What the figures need from a bank, looked up once per bank (it never changes)."""

    moment_order: dict[str, int]
    moment_titles: dict[str, str]
    moment_prompts: dict[str, list[str]]
    prompt_texts: dict[str, str]
    option_labels: dict[str, dict[str, str]]  # choice and yes/no prompts only
    estimated: list[tuple[str, str, str | None]]  # (prompt id, text, manager text)


_CATALOGS: dict[int, tuple[PromptBank, _Catalog]] = {}


def _catalog(bank: PromptBank) -> _Catalog:
    cached = _CATALOGS.get(id(bank))
    if cached is not None and cached[0] is bank:
        return cached[1]
    catalog = _Catalog(
        moment_order={change.value: i for i, change in enumerate(bank.moments)},
        moment_titles={change.value: m.title for change, m in bank.moments.items()},
        moment_prompts={change.value: list(m.prompts) for change, m in bank.moments.items()},
        prompt_texts={p.id: p.text for p in bank.prompts},
        option_labels={
            p.id: {option.value: option.label for option in p.answer.choices()}
            for p in bank.prompts
            if isinstance(p.answer, ChoiceAnswer | YesNoAnswer)
        },
        estimated=[(p.id, p.text, p.manager_text) for p in bank.for_manager_estimate()],
    )
    if len(_CATALOGS) > 8:  # banks are few and long-lived; never grow without bound
        _CATALOGS.clear()
    _CATALOGS[id(bank)] = (bank, catalog)
    return catalog


def _dimensions(
    data: PeriodData, k: int, history: Mapping[str, Sequence[Any]]
) -> list[dict[str, Any]]:
    items = []
    for dimension in sorted(data.dimensions, key=lambda d: (_DIMENSION_ORDER.get(d, 99), d)):
        dim = data.dimensions[dimension]
        item: dict[str, Any] = {
            "dimension": dimension,
            "label": DIMENSION_LABELS.get(dimension, dimension),
            "index": None,
            "people": None,
            "distribution": None,
            "change": None,
            "reason": anonymity.NOT_ENOUGH,
        }
        if anonymity.enough(dim.people, k) and dim.answers:
            index = _round(dim.score_sum / dim.answers)
            before = (history.get(dimension) or [None])[-1]  # the week before
            bins = {key: dim.bins.get(score, 0) for score, key in _BIN_KEYS}
            item.update(
                index=index,
                people=dim.people,
                distribution=anonymity.safe_partition(bins, k).as_dict(),
                change=None if before is None else _round(index - before),
                reason=None,
            )
        items.append(item)
    return items


def _goal_mix(data: PeriodData, k: int) -> dict[str, Any]:
    """Trust and value vs anything else: one answer per person, so a partition of people."""
    trust = data.goal.get(TRUST_AND_VALUE, 0)
    rest = sum(n for choice, n in data.goal.items() if choice != TRUST_AND_VALUE)
    cells = {TRUST_AND_VALUE: trust, SOMETHING_ELSE: rest}
    return {"breakdown": anonymity.safe_partition(cells, k).as_dict(), "labels": dict(GOAL_LABELS)}


def _moments(data: PeriodData, k: int, bank: PromptBank) -> dict[str, Any] | None:
    if not data.reflections:
        return None
    catalog = _catalog(bank)
    order = catalog.moment_order
    changes = sorted(data.reflections, key=lambda c: (order.get(c, 99), c))
    cells = _breakdown_cells({change: data.reflections[change] for change in changes})
    breakdown = anonymity.safe_breakdown(cells, k)
    labels = {c: catalog.moment_titles.get(c, c) for c in changes}
    details = []
    for change, _ in breakdown.shown:
        prompts = []
        prompt_ids = catalog.moment_prompts.get(change, [])
        extra = sorted({p for (c, p) in data.moment_answers if c == change} - set(prompt_ids))
        for prompt_id in prompt_ids + extra:
            answers = data.moment_answers.get((change, prompt_id))
            options = catalog.option_labels.get(prompt_id)
            if not answers or not options:
                continue  # free text and unknown prompts are not aggregated
            ordered = {v: answers.get(v, {}) for v in options}
            prompts.append(
                {
                    "prompt_id": prompt_id,
                    "text": catalog.prompt_texts[prompt_id],
                    "labels": dict(options),
                    "breakdown": anonymity.safe_breakdown(_breakdown_cells(ordered), k).as_dict(),
                }
            )
        details.append({"moment": change, "prompts": prompts})
    return {"breakdown": breakdown.as_dict(), "labels": labels, "details": details}


def _perception_gap(data: PeriodData, k: int, bank: PromptBank) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if not data.estimates:
        return items
    for prompt_id, text, manager_text in _catalog(bank).estimated:
        estimate = data.estimates.get(prompt_id)
        if estimate is None or estimate[1] < anonymity.MANAGER_ESTIMATE_MIN:
            continue
        total, managers = estimate
        split = data.gap.get(prompt_id, {})
        breakdown = anonymity.safe_partition(
            {"agree": split.get(True, 0), "rest": split.get(False, 0)}, k
        )
        agree = breakdown.count("agree")
        team = None
        if breakdown.total and agree is not None and breakdown.count("rest") is not None:
            team = round(100 * agree / breakdown.total)
        items.append(
            {
                "prompt_id": prompt_id,
                "text": text,
                "manager_text": manager_text,
                "managers": round(total / managers),
                "managers_count": managers,
                "team": team,
                "reason": None if team is not None else anonymity.NOT_ENOUGH,
            }
        )
    return items


def _notes(data: PeriodData, notes_k: int) -> dict[str, Any]:
    if not data.notes:
        return {"texts": [], "reason": None}
    if not anonymity.enough(data.answered, notes_k):
        return {"texts": [], "reason": anonymity.NOT_ENOUGH}
    # an order that says nothing about who wrote first
    texts = sorted(data.notes, key=lambda text: hashlib.sha256(text.encode()).hexdigest())
    return {"texts": texts, "reason": None}


def _focus(
    dimensions: Sequence[Mapping[str, Any]], bank: PromptBank, tip_key: str
) -> dict[str, Any] | None:
    shown = [d for d in dimensions if d["index"] is not None]
    if not shown:
        return None
    lowest = min(shown, key=lambda d: (d["index"], _DIMENSION_ORDER.get(d["dimension"], 99)))
    tip = bank.pick_tip(lowest["dimension"], tip_key, Audience.MANAGER)
    return {
        "dimension": lowest["dimension"],
        "label": lowest["label"],
        "index": lowest["index"],
        "tip_id": tip.id,
        "tip": tip.text,
        "seed": list(tip.seed),
    }


def _trend(
    dimensions: Sequence[Mapping[str, Any]],
    history: Mapping[str, Sequence[Any]],
    periods: Sequence[str],
) -> dict[str, Any]:
    own = {d["dimension"]: d["index"] for d in dimensions}
    before = [None] * (len(periods) - 1)
    index: dict[str, list[float | None]] = {}
    for name in sorted(set(history) | set(own), key=lambda d: (_DIMENSION_ORDER.get(d, 99), d)):
        values = [*(history.get(name) or before), own.get(name)]
        if any(v is not None for v in values):
            index[name] = values
    return {"periods": list(periods), "index": index}


def build_figures(
    data: PeriodData,
    *,
    period_start: date,
    k: int,
    notes_k: int,
    previous: Mapping[str, Any] | None,
    bank: PromptBank,
    tip_key: str,
) -> dict[str, Any]:
    """The week's figures: everything a digest may show, and nothing else.

    ``previous`` is the latest stored figures before this week (within the trend window),
    whose ``trend`` carries the weeks before it.
    """
    k, notes_k = anonymity.threshold(k), anonymity.threshold(notes_k)
    periods = [p.isoformat() for p in _trend_periods(period_start)]
    history = _history(previous, periods[:-1])
    dimensions = _dimensions(data, k, history)
    return {
        "version": FIGURES_VERSION,
        "period_start": period_start.isoformat(),
        "period_end": (period_start + timedelta(days=6)).isoformat(),
        "k": k,
        "notes_k": notes_k,
        "participation": {"asked": data.asked, "answered": data.answered},
        "dimensions": dimensions,
        "goal_mix": _goal_mix(data, k),
        "moments": _moments(data, k, bank),
        "perception_gap": _perception_gap(data, k, bank),
        "notes": _notes(data, notes_k),
        "focus": _focus(dimensions, bank, tip_key),
        "trend": _trend(dimensions, history, periods),
    }


# --------------------------------------------------------------------------- freezing


@dataclass(frozen=True)
class StoredDigest:
    """A week's frozen digest as stored in :class:`Digest` (figures fixed when first shown)."""

    id: int
    team_id: int
    period_start: date
    figures: dict[str, Any]
    channel_id: str | None = None
    message_ts: str | None = None

    @property
    def posted(self) -> bool:
        return self.message_ts is not None


_STORED = (
    col(Digest.id),
    col(Digest.team_id),
    col(Digest.period_start),
    col(Digest.figures),
    col(Digest.channel_id),
    col(Digest.message_ts),
)


async def _stored(
    conn: AsyncConnection, team_ids: Sequence[int], period_start: date
) -> list[StoredDigest]:
    rows = await conn.execute(
        select(*_STORED).where(
            col(Digest.team_id).in_(list(team_ids)), col(Digest.period_start) == period_start
        )
    )
    return [StoredDigest(*row) for row in rows]


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
    return stmt.on_conflict_do_nothing(index_elements=["team_id", "period_start"]).returning(
        table.c.id, table.c.team_id
    )


async def _frozen(conn: AsyncConnection, team_ids: Sequence[int], periods: Iterable[date]) -> Any:
    return await conn.execute(
        select(col(Digest.team_id), col(Digest.period_start)).where(
            col(Digest.team_id).in_(list(team_ids)), col(Digest.period_start).in_(list(periods))
        )
    )


async def _previous_trend(
    conn: AsyncConnection, team_ids: Sequence[int], period_start: date
) -> dict[int, dict[str, Any]]:
    """The ``trend`` of each team's latest stored figures in the trend window before
    ``period_start`` (it ends with that week's own index and carries the weeks before)."""
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
    trend = col(Digest.figures)["trend"]
    rows = await conn.execute(
        select(col(Digest.team_id), trend).join(
            latest,
            (col(Digest.team_id) == latest.c.team_id) & (col(Digest.period_start) == latest.c.p),
        )
    )
    return {int(team_id): {"trend": value or {}} for team_id, value in rows}


async def _freeze(
    runtime: Runtime, teams: Sequence[Team], period_start: date, bank: PromptBank
) -> dict[int, StoredDigest]:
    """Compute and store the week's figures for teams that have none yet; the first writer
    wins. Returns the digests this call wrote (by team id)."""
    ids = [t.id for t in teams if t.id is not None]
    async with runtime.db.engine.connect() as conn:
        data = await aggregate(conn, ids, period_start, bank)
        previous = await _previous_trend(conn, ids, period_start)
    now = runtime.clock.now()
    rows: list[dict[str, Any]] = []
    for team in teams:
        assert team.id is not None
        figures = build_figures(
            data[team.id],
            period_start=period_start,
            k=team.k,
            notes_k=team.notes_k,
            previous=previous.get(team.id),
            bank=bank,
            tip_key=f"{team.id}:{period_start.isoformat()}",
        )
        rows.append(
            {
                "workspace_id": team.workspace_id,
                "team_id": team.id,
                "period_start": period_start,
                "period_end": period_start + timedelta(days=6),
                "figures": figures,
                "channel_id": None,
                "message_ts": None,
                "published_at": now,
            }
        )
    if not rows:
        return {}
    async with runtime.db.engine.begin() as conn:
        written = {
            int(team_id): int(digest_id)
            for digest_id, team_id in await conn.execute(_insert_ignore(runtime.db.dialect), rows)
        }
    return {
        team_id: StoredDigest(written[team_id], team_id, period_start, row["figures"])
        for row in rows
        if (team_id := row["team_id"]) in written
    }


async def _with_data(
    conn: AsyncConnection, team_ids: Sequence[int], periods: Sequence[date]
) -> set[tuple[int, date]]:
    """Which (team, week) pairs had a check-in round or any answer."""
    found: set[tuple[int, date]] = set()
    rounds = select(col(CheckinRound.team_id), col(CheckinRound.period_start)).where(
        col(CheckinRound.team_id).in_(list(team_ids)),
        col(CheckinRound.period_start).in_(list(periods)),
    )
    answers = (
        select(col(Response.team_id), col(Response.period_start))
        .where(
            col(Response.team_id).in_(list(team_ids)),
            col(Response.period_start).in_(list(periods)),
        )
        .group_by(col(Response.team_id), col(Response.period_start))
    )
    for stmt in (rounds, answers):
        for team_id, period in await conn.execute(stmt):
            found.add((int(team_id), period))
    return found


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
    earlier = _trend_periods(period_start)[:-1]
    ids = [t.id for t in teams if t.id is not None]
    missing = [(t, p) for t in ids for p in earlier if (t, p) not in frozen]
    if not missing:
        return
    async with runtime.db.engine.connect() as conn:
        with_data = await _with_data(conn, sorted({t for t, _ in missing}), earlier)
    by_id = {t.id: t for t in teams}
    for period in earlier:
        todo = [by_id[t] for t, p in missing if p == period and (t, p) in with_data]
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
        _check_period(period)
        if now < _period_end_instant(team, period):
            raise DigestError(
                f"The week of {period.isoformat()} is not over yet: its digest comes after."
            )
        by_period[period].setdefault(team.id, team)
    result: dict[tuple[int, date], StoredDigest] = {}
    for period in sorted(by_period):
        teams = by_period[period]
        async with runtime.db.engine.connect() as conn:
            rows = await _frozen(conn, list(teams), _trend_periods(period))
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
                for digest in await _stored(conn, stored, period):
                    result[(digest.team_id, period)] = digest
    return result


# --------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class DigestResult:
    """A week's stored digest. ``claimed``: this caller may post it to the channel now."""

    team: Team
    digest: StoredDigest
    claimed: bool

    @property
    def figures(self) -> dict[str, Any]:
        return self.digest.figures

    @property
    def posted(self) -> bool:
        return self.digest.message_ts is not None


async def digest_for(
    runtime: Runtime, team: Team, period_start: date, *, publish: bool
) -> DigestResult:
    """The team's digest for the week starting ``period_start`` (a Monday).

    The figures are computed and frozen the first time (preview or not); afterwards the
    stored ones are returned verbatim. ``publish=True`` also claims the digest for posting
    to ``team.channel_id`` (``claimed`` is false when it is posted or being posted already);
    call :func:`mark_posted` after posting, or :func:`release` if posting failed.
    Raises :class:`DigestError` for a week that is not over yet or not a Monday.
    """
    assert team.id is not None
    digest = (await prepare(runtime, [(team, period_start)]))[(team.id, period_start)]
    claimed = False
    if publish:
        async with runtime.db.engine.begin() as conn:
            claim = await conn.execute(
                update(Digest)
                .where(col(Digest.id) == digest.id, col(Digest.channel_id).is_(None))
                .values(channel_id=team.channel_id)
            )
            claimed = claim.rowcount == 1
            (digest,) = await _stored(conn, [team.id], period_start)
    return DigestResult(team=team, digest=digest, claimed=claimed)


async def mark_posted(runtime: Runtime, digest_id: int, channel_id: str, message_ts: str) -> None:
    """Record where the digest was posted: it is never posted by the schedule again."""
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            update(Digest)
            .where(col(Digest.id) == digest_id)
            .values(channel_id=channel_id, message_ts=message_ts)
        )


async def release(runtime: Runtime, digest_id: int) -> None:
    """Give back a claim whose post failed, so the next tick tries again."""
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            update(Digest)
            .where(col(Digest.id) == digest_id, col(Digest.message_ts).is_(None))
            .values(channel_id=None)
        )


async def unsettled(runtime: Runtime) -> list[tuple[Team, StoredDigest]]:
    """Digests claimed for posting but with no message recorded: being posted right now, or
    left so by a process that died mid-post (:func:`bot.slack.digest_post.recover_claims`)."""
    async with runtime.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(*_STORED).where(
                    col(Digest.channel_id).is_not(None), col(Digest.message_ts).is_(None)
                )
            )
        ).all()
    if not rows:
        return []
    found = [StoredDigest(*row) for row in rows]
    async with runtime.db.session() as session:
        teams = {
            t.id: t
            for t in (
                await session.exec(
                    select_rows(Team).where(col(Team.id).in_([d.team_id for d in found]))
                )
            ).all()
        }
    return [(teams[d.team_id], d) for d in found if d.team_id in teams]


@dataclass(frozen=True)
class Due:
    """A team whose digest for ``period_start`` should be posted now."""

    team: Team
    period_start: date


async def _still_open(
    conn: AsyncConnection, team_ids: list[int], period: date, now: datetime
) -> set[int]:
    """Teams whose check-in for ``period`` can still be answered: their digest waits for it,
    so that no answer arrives after the week's figures are frozen."""
    rows = await conn.execute(
        select(col(CheckinRound.team_id))
        .join(Delivery, col(Delivery.round_id) == col(CheckinRound.id))
        .where(
            col(CheckinRound.team_id).in_(team_ids),
            col(CheckinRound.period_start) == period,
            col(Delivery.status).in_(("pending", "sending", "sent")),
            col(Delivery.expires_at) > now,
        )
        .distinct()
    )
    return {int(team_id) for (team_id,) in rows}


async def due_digests(runtime: Runtime) -> list[Due]:
    """Teams whose weekly digest is due now, team-local: from the digest slot (default Monday
    09:00 after the week) until the next week's slot, once the week's check-ins have closed,
    once per week, only for weeks with a check-in or answers, and never for a paused team.
    Nothing is claimed or stored here."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        teams = (await session.exec(select_rows(Team).where(col(Team.paused).is_(False)))).all()
    by_period: dict[date, list[Team]] = defaultdict(list)
    for team in teams:
        period = latest_period(team, now)
        if now < digest_slot(team, period):
            period -= WEEK
        by_period[period].append(team)
    due: list[Due] = []
    for period in sorted(by_period):
        group = by_period[period]
        ids = [t.id for t in group if t.id is not None]
        async with runtime.db.engine.connect() as conn:
            claimed = {
                int(team_id)
                for (team_id,) in await conn.execute(
                    select(col(Digest.team_id)).where(
                        col(Digest.team_id).in_(ids),
                        col(Digest.period_start) == period,
                        col(Digest.channel_id).is_not(None),
                    )
                )
            }
            with_data = await _with_data(conn, [i for i in ids if i not in claimed], [period])
            still_open = await _still_open(conn, ids, period, now)
        due.extend(
            Due(t, period) for t in group if (t.id, period) in with_data and t.id not in still_open
        )
    return sorted(due, key=lambda d: (d.period_start, d.team.id or 0))
