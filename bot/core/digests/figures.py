"""A week's digest figures: a typed model (stored as JSON in ``Digest.figures``) and how
they are built from the week's aggregates.

Everything a digest, the manager's Home or the chart may show is here, already checked by
:mod:`bot.core.anonymity`; nothing else is ever rendered. What is counted:

* ``participation``: asked = the week's check-in deliveries that reached a rep (not skipped,
  not failed); answered = distinct people with at least one answer in the week;
* ``overall`` and ``dimensions``: the trust index averages the 1-5 *scale* answers to
  check-in questions only (a yes/no or choice answer as a mean would give its exact split
  away, so those are shown as breakdowns, and nudge answers never mix into the index), with
  the team's own **baseline** (its mean of the previous 4 weeks shown) and a change marked
  only when it exceeds what the sample can tell apart (:func:`marked`); the distribution
  counts people by their own mean (rounded half up), folded into two bands (4-5, 1-3) when
  five are too fine for ``k``;
* ``goal_mix``: trust and value vs something else, one answer per person; when the week
  cannot show it, the latest complete 4-week (then 13-week) block of answers
  (:mod:`~bot.core.digests.window`);
* ``moments``: deal-moment reflections per moment, and per prompt the split of answers, by
  week or, when a week is too thin, by block as for the goal mix;
* ``perception_gap``: the managers' estimate of the team's mean answer against the team's
  mean (the team's side shown from ``k`` people);
* ``notes``: notes reps chose to share; ``focus``: a dimension held for a 4-week cycle with a
  manager tip and one action for the week; ``not_shown``: what is withheld (said once);
* ``trend``: 8 weeks of each dimension's index, the team index and participation, carried
  from the previous stored figures.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.core import anonymity
from bot.core.digests.aggregate import DimensionData, PeriodData
from bot.core.digests.model import (
    _BIN_KEYS,
    BASELINE_MIN,
    BASELINE_WEEKS,
    CYCLE_WEEKS,
    DIMENSION_LABELS,
    DIMENSION_ORDER,
    FIGURES_VERSION,
    GOAL_LABELS,
    OVERLAP,
    SD_FLOOR,
    SOMETHING_ELSE,
    Block,
    DimensionFigure,
    Figures,
    Focus,
    GapFigure,
    GoalMix,
    MomentDetail,
    MomentPrompt,
    Moments,
    Notes,
    Participation,
    Split,
    TeamIndex,
    Trend,
)
from bot.core.digests.periods import TREND_PERIODS, trend_periods
from bot.core.prompts import (
    TRUST_AND_VALUE,
    Audience,
    ChoiceAnswer,
    PromptBank,
    YesNoAnswer,
)

__all__ = [
    "DIMENSION_LABELS",
    "FIGURES_VERSION",
    "GOAL_LABELS",
    "OVERLAP",
    "Block",
    "DimensionFigure",
    "Figures",
    "Focus",
    "GapFigure",
    "GoalMix",
    "MomentDetail",
    "MomentPrompt",
    "Moments",
    "Notes",
    "Participation",
    "Split",
    "TeamIndex",
    "Trend",
    "build_figures",
    "marked",
]

# --------------------------------------------------------------------------- building


def _round(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0: never a "-0.0" change


def standard_error(score_sum: int, square_sum: int, answers: int, people: int) -> float:
    """The standard error of a mean of 1-5 answers: their spread over the square root of the
    number of *people* (one person's answers are not independent, so people, not answers, is
    the sample size), with the spread never taken below :data:`SD_FLOOR`."""
    if answers < 2 or people < 1:
        return SD_FLOOR
    variance = max(0.0, (square_sum - score_sum * score_sum / answers) / (answers - 1))
    return max(math.sqrt(variance), SD_FLOOR) / math.sqrt(people)


def baseline(values: Sequence[float | None]) -> float | None:
    """The team's own baseline: the mean of the last :data:`BASELINE_WEEKS` weeks shown
    before this one, from at least :data:`BASELINE_MIN` of them."""
    shown = [v for v in values[-BASELINE_WEEKS:] if v is not None]
    if len(shown) < BASELINE_MIN:
        return None
    return _round(sum(shown) / len(shown))


def marked(index: float, base: float | None, se: float) -> int:
    """+1 or -1 when ``index`` differs from the baseline by more than twice its standard
    error (what a sample this size can tell apart, about 95% of the time); otherwise 0."""
    if base is None or abs(index - base) <= 2 * se:
        return 0
    return 1 if index > base else -1


def _history(previous: Trend | None, earlier: Sequence[str]) -> dict[str, list[float | None]]:
    """Each dimension's index in the ``earlier`` weeks (ISO Mondays), from the trend of the
    latest stored figures before this week; ``None`` where nothing was shown."""
    trend = previous or Trend()
    position = {p: i for i, p in enumerate(trend.periods)}
    where = [position.get(p) for p in earlier]
    return {
        dimension: [values[i] if i is not None and i < len(values) else None for i in where]
        for dimension, values in trend.index.items()
    }


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


def _dimension_key(dimension: str) -> tuple[int, str]:
    return DIMENSION_ORDER.get(dimension, 99), dimension


def _bands(bins: Mapping[str, int], k: int) -> Split | None:
    """The distribution of people by their own mean: five scores when ``k`` allows, else two
    bands (4-5, 1-3), else nothing (said once in ``not_shown``)."""
    five = anonymity.safe_partition(bins, k)
    if five.shown:
        return Split.of(five)
    high = sum(bins.get(key, 0) for key in ("5", "4"))
    low = sum(bins.get(key, 0) for key in ("3", "2", "1"))
    two = anonymity.safe_partition({"4-5": high, "1-3": low}, k)
    return Split.of(two) if two.shown else None


def _dimensions(
    data: PeriodData, k: int, history: Mapping[str, Sequence[float | None]]
) -> list[DimensionFigure]:
    items = []
    for dimension in sorted(data.dimensions, key=_dimension_key):
        dim = data.dimensions[dimension]
        label = DIMENSION_LABELS.get(dimension, dimension)
        if not (anonymity.enough(dim.people, k) and dim.answers):
            items.append(
                DimensionFigure(dimension=dimension, label=label, reason=anonymity.NOT_ENOUGH)
            )
            continue
        index = _round(dim.score_sum / dim.answers)
        se = standard_error(dim.score_sum, dim.square_sum, dim.answers, dim.people)
        base = baseline(history.get(dimension) or [])
        bins = {key: dim.bins.get(score, 0) for score, key in _BIN_KEYS}
        items.append(
            DimensionFigure(
                dimension=dimension,
                label=label,
                index=index,
                people=dim.people,
                distribution=_bands(bins, k),
                change=None if base is None else _round(index - base),
                se=_round(se),
                baseline=base,
                marked=marked(index, base, se),
            )
        )
    return items


def _overall(data: PeriodData, k: int, history: Sequence[float | None]) -> TeamIndex | None:
    """Every check-in scale answer of the week: shown when some dimension had ``k`` people
    (so at least ``k`` distinct people are behind it)."""
    dims: list[DimensionData] = list(data.dimensions.values())
    people = max((d.people for d in dims), default=0)
    answers = sum(d.answers for d in dims)
    if not anonymity.enough(people, k) or not answers:
        return None
    total, squares = sum(d.score_sum for d in dims), sum(d.square_sum for d in dims)
    index = _round(total / answers)
    se = standard_error(total, squares, answers, people)
    base = baseline(history)
    return TeamIndex(
        index=index,
        people=people,
        se=_round(se),
        baseline=base,
        change=None if base is None else _round(index - base),
        marked=marked(index, base, se),
    )


def _goal_week(data: PeriodData, k: int, period_start: date) -> GoalMix | None:
    """Trust and value vs anything else this week: one answer per person, so a partition of
    people; ``None`` when the week cannot show it."""
    trust = data.goal.get(TRUST_AND_VALUE, 0)
    rest = sum(n for choice, n in data.goal.items() if choice != TRUST_AND_VALUE)
    cells = {TRUST_AND_VALUE: trust, SOMETHING_ELSE: rest}
    breakdown = anonymity.safe_partition(cells, k)
    if not breakdown.shown:
        return None
    return GoalMix(breakdown=Split.of(breakdown), labels=dict(GOAL_LABELS), week_of=period_start)


def _goal_banded(data: PeriodData, k: int, period_start: date) -> GoalMix | None:
    """The week's goal answers when the exact split cannot show: how many of the people who
    answered chose trust and value, rounded down to a multiple of ``k`` ("at least 5 of 8",
    "fewer than 5 of 8"), so neither side's exact size, and no smaller group, can be read
    off. Needs ``k`` people to have answered."""
    trust = data.goal.get(TRUST_AND_VALUE, 0)
    answered = sum(data.goal.values())
    if not anonymity.enough(answered, k):
        return None
    return GoalMix(
        labels=dict(GOAL_LABELS),
        week_of=period_start,
        answered=answered,
        at_least=trust // k * k,
    )


def goal_exact(goal: GoalMix | None, period_start: date) -> bool:
    """Whether ``goal`` is this week's own exact split (no block, band or earlier week)."""
    return (
        goal is not None
        and goal.weeks == 1
        and goal.at_least is None
        and goal.week_of == period_start
        and bool(goal.breakdown.cells)
    )


def goal_block(goal: Mapping[str, Mapping[str, int]], k: int, weeks: int, start: date) -> GoalMix:
    """The goal mix over a block of weeks: answers, each cell from ``k`` people or more."""
    trust = dict(goal.get(TRUST_AND_VALUE, {}))
    rest: dict[str, int] = {}
    for choice, people in goal.items():
        if choice != TRUST_AND_VALUE:
            for who, n in people.items():
                rest[who] = rest.get(who, 0) + n
    cells = _breakdown_cells({TRUST_AND_VALUE: trust, SOMETHING_ELSE: rest})
    return GoalMix(
        breakdown=Split.of(anonymity.safe_breakdown(cells, k)),
        labels=dict(GOAL_LABELS),
        weeks=weeks,
        start=start,
    )


def _moments(data: PeriodData, k: int, bank: PromptBank) -> Moments | None:
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
                MomentPrompt(
                    prompt_id=prompt_id,
                    text=catalog.prompt_texts[prompt_id],
                    labels=dict(options),
                    breakdown=Split.of(anonymity.safe_breakdown(_breakdown_cells(ordered), k)),
                )
            )
        details.append(MomentDetail(moment=change, prompts=prompts))
    return Moments(breakdown=Split.of(breakdown), labels=labels, details=details)


def moments_shown(moments: Moments | None) -> bool:
    """Whether anything of the deal moments shows (at least their total)."""
    return moments is not None and moments.breakdown.total is not None


def _perception_gap(data: PeriodData, k: int, bank: PromptBank) -> list[GapFigure]:
    """The managers' estimate of the team's mean answer beside the team's mean, which needs
    ``k`` people (the managers' side is their own estimate, shown openly)."""
    items: list[GapFigure] = []
    if not data.estimates:
        return items
    for prompt_id, text, manager_text in _catalog(bank).estimated:
        estimate = data.estimates.get(prompt_id)
        if estimate is None or estimate[1] < anonymity.MANAGER_ESTIMATE_MIN:
            continue
        total, managers = estimate
        score_sum, answers, people = data.gap_scores.get(prompt_id, (0, 0, 0))
        if not answers:
            continue  # the team was not asked it (or nobody answered): nothing to compare
        team = _round(score_sum / answers) if answers and anonymity.enough(people, k) else None
        items.append(
            GapFigure(
                prompt_id=prompt_id,
                text=text,
                manager_text=manager_text,
                managers_count=managers,
                managers_mean=_round(total / managers),
                team_mean=team,
                reason=None if team is not None else anonymity.NOT_ENOUGH,
            )
        )
    return items


def _notes(data: PeriodData, notes_k: int) -> Notes:
    """Shared notes, once ``notes_k`` people answered the check-in (who could have written
    one): people who only answered a deal nudge do not count."""
    if not data.notes:
        return Notes()
    if not anonymity.enough(len(data.checkin_respondents), notes_k):
        return Notes(reason=anonymity.NOT_ENOUGH)
    # an order that says nothing about who wrote first
    texts = sorted(data.notes, key=lambda text: hashlib.sha256(text.encode()).hexdigest())
    return Notes(texts=texts)


def _focus(
    trend: Trend,
    previous: Focus | None,
    period_start: date,
    bank: PromptBank,
    team_key: str,
) -> Focus | None:
    """The focus of the cycle: the previous one while its :data:`CYCLE_WEEKS` weeks last,
    else the dimension lowest on average over the last 4 weeks shown (not one week's
    lowest, which moves with the noise), with a manager tip and, each week of the cycle,
    the next thing to do from the dimension's manager tips."""
    if previous is not None and previous.since is not None:
        weeks_in = (period_start - previous.since).days // 7
        if 0 <= weeks_in < CYCLE_WEEKS:
            return _with_action(previous, weeks_in + 1, bank, team_key, trend)
    means = {}
    for dimension, values in trend.index.items():
        recent = [v for v in values[-BASELINE_WEEKS:] if v is not None]
        if recent and dimension in DIMENSION_LABELS:
            means[dimension] = sum(recent) / len(recent)
    if not means:
        return None
    lowest = min(means, key=lambda d: (means[d], DIMENSION_ORDER.get(d, 99)))
    tips = [t for t in bank.tips_for(lowest, Audience.MANAGER) if t.do] or bank.tips_for(
        lowest, Audience.MANAGER
    )
    tip = tips[zlib.crc32(f"{team_key}:{period_start}".encode()) % len(tips)]
    focus = Focus(
        dimension=lowest,
        label=DIMENSION_LABELS[lowest],
        tip_id=tip.id,
        tip=tip.text,
        seed=list(tip.seed),
        since=period_start,
    )
    return _with_action(focus, 1, bank, team_key, trend)


def _with_action(focus: Focus, week: int, bank: PromptBank, team_key: str, trend: Trend) -> Focus:
    """The focus for week ``week`` of its cycle: its latest shown index and the week's action
    (the focus tip's own first, then the dimension's other manager tips in turn)."""
    tips = [t for t in bank.tips_for(focus.dimension, Audience.MANAGER) if t.do]
    ordered = [t for t in tips if t.id == focus.tip_id] + [t for t in tips if t.id != focus.tip_id]
    action = ordered[(week - 1) % len(ordered)].do if ordered else None
    values = trend.index.get(focus.dimension, [])
    latest = next((v for v in reversed(values) if v is not None), None)
    return focus.model_copy(update={"week": week, "action": action, "index": latest})


def _trend(
    dimensions: Sequence[DimensionFigure],
    history: Mapping[str, Sequence[float | None]],
    periods: Sequence[str],
    previous: Trend | None,
    *,
    overall: TeamIndex | None,
    participation: Participation,
) -> Trend:
    own = {d.dimension: d.index for d in dimensions}
    before: list[float | None] = [None] * (len(periods) - 1)
    index: dict[str, list[float | None]] = {}
    for name in sorted(set(history) | set(own), key=_dimension_key):
        values = [*(history.get(name) or before), own.get(name)]
        if any(v is not None for v in values):
            index[name] = values
    carried = _carried(previous, periods[:-1])
    return Trend(
        periods=list(periods),
        index=index,
        overall=[*carried["overall"], None if overall is None else overall.index],
        answered=[*carried["answered"], participation.answered],
        asked=[*carried["asked"], participation.asked],
    )


def _carried(previous: Trend | None, earlier: Sequence[str]) -> dict[str, list[Any]]:
    """The team index and participation of the ``earlier`` weeks from the previous trend."""
    trend = previous or Trend()
    position = {p: i for i, p in enumerate(trend.periods)}
    out: dict[str, list[Any]] = {}
    for name in ("overall", "answered", "asked"):
        values = getattr(trend, name)
        out[name] = [
            values[position[p]] if p in position and position[p] < len(values) else None
            for p in earlier
        ]
    return out


def _not_shown(
    dimensions: Sequence[DimensionFigure],
    goal: GoalMix | None,
    moments: Moments | None,
    data: PeriodData,
    period_start: date,
) -> list[str]:
    """What the k rule withholds this week, named once (the digest says it in one line)."""
    items = [d.label for d in dimensions if d.index is None]
    if any(d.index is not None and d.distribution is None for d in dimensions):
        items.append("how scores spread")
    if data.goal and goal is None:
        items.append("the goal mix")
    elif data.goal and not goal_exact(goal, period_start):
        items.append("this week's exact goal split")
    if data.reflections and not moments_shown(moments):
        items.append("deal moments")
    elif moments is not None and (moments.breakdown.other or not moments.breakdown.cells):
        items.append("smaller deal moments")
    return items


def build_figures(
    data: PeriodData,
    *,
    period_start: date,
    k: int,
    notes_k: int,
    previous: Trend | None,
    bank: PromptBank,
    tip_key: str,
    withheld: str | None = None,
    previous_focus: Focus | None = None,
    blocks: Sequence[Block] = (),
    previous_goal: GoalMix | None = None,
) -> Figures:
    """The week's figures: everything a digest may show, and nothing else.

    ``previous`` is the trend of the latest stored figures before this week (within the
    trend window), which carries the weeks before it, and ``previous_focus`` its focus.
    ``blocks`` are the current blocks of weeks counted for the team (shortest first): their
    figures are used when the week alone cannot show the goal mix or the deal moments, and
    they are stored as they are, for later weeks to carry. ``withheld`` (a reason) keeps
    every figure built from answers out, participation counts only.
    """
    k, notes_k = anonymity.threshold(k), anonymity.threshold(notes_k)
    periods = [p.isoformat() for p in trend_periods(period_start)]
    assert len(periods) == TREND_PERIODS
    history = _history(previous, periods[:-1])
    participation = Participation(asked=data.asked, answered=data.answered)
    team_key = tip_key.rsplit(":", 1)[0]

    def figures(trend: Trend, **shown: Any) -> Figures:
        """The week's frame (period, thresholds, participation, trend and focus) + ``shown``."""
        return Figures(
            period_start=period_start,
            period_end=period_start + timedelta(days=6),
            k=k,
            notes_k=notes_k,
            participation=participation,
            focus=_focus(trend, previous_focus, period_start, bank, team_key),
            trend=trend,
            blocks=list(blocks),
            **shown,
        )

    if withheld is not None:
        trend = _trend([], history, periods, previous, overall=None, participation=participation)
        return figures(
            trend, notes=Notes(reason=withheld) if data.notes else Notes(), withheld=withheld
        )
    dimensions = _dimensions(data, k, history)
    overall = _overall(data, k, _carried(previous, periods[:-1])["overall"])
    goal_block = next((b.goal_mix for b in blocks if b.goal_mix is not None), None)
    moments_block = next((b.moments for b in blocks if moments_shown(b.moments)), None)
    goal = (
        _goal_week(data, k, period_start)
        or goal_block
        or _goal_banded(data, k, period_start)
        or previous_goal  # shown before, so shown again as it was, with its week
    )
    moments = _moments(data, k, bank)
    if not (moments is not None and moments.breakdown.cells) and moments_shown(moments_block):
        moments = moments_block
    trend = _trend(
        dimensions, history, periods, previous, overall=overall, participation=participation
    )
    return figures(
        trend,
        overall=overall,
        dimensions=dimensions,
        goal_mix=goal,
        moments=moments,
        perception_gap=_perception_gap(data, k, bank),
        notes=_notes(data, notes_k),
        not_shown=_not_shown(dimensions, goal, moments, data, period_start),
    )


def block_moments(data: PeriodData, k: int, bank: PromptBank, weeks: int, start: date) -> Moments:
    """The deal moments of a block of weeks (``data`` keyed by person, not pseudonym)."""
    moments = _moments(data, k, bank) or Moments()
    return moments.model_copy(update={"weeks": weeks, "start": start})
