"""A week's digest figures: a typed model (stored as JSON in ``Digest.figures``) and how
they are built from the week's aggregates.

Everything a digest, the manager's Home or the chart may show is here, already checked by
:mod:`bot.core.anonymity`; nothing else is ever rendered. What is counted:

* ``participation``: asked = the week's check-in deliveries that reached a rep (not skipped,
  not failed); answered = distinct people with at least one answer in the week;
* ``dimensions``: the trust index averages the 1-5 *scale* answers to check-in questions only
  (a yes/no or choice answer as a mean would give its exact split away, so those are shown as
  breakdowns, and nudge answers never mix into the index); the distribution counts people by
  their own mean (rounded half up), a partition of the respondents;
* ``goal_mix``: trust and value vs something else, one answer per person;
* ``moments``: deal-moment reflections per moment, and per prompt the split of answers;
* ``perception_gap``: the managers' mean estimate against the share of the team averaging
  4 or more;
* ``notes``: notes reps chose to share; ``focus``: the lowest dimension and a manager tip;
* ``trend``: 8 weeks of each dimension's index, carried from the previous stored figures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core import anonymity
from bot.core.digests.aggregate import PeriodData
from bot.core.digests.periods import TREND_PERIODS, trend_periods
from bot.core.prompts import (
    TRUST_AND_VALUE,
    Audience,
    ChoiceAnswer,
    Dimension,
    PromptBank,
    YesNoAnswer,
)

__all__ = [
    "DIMENSION_LABELS",
    "FIGURES_VERSION",
    "GOAL_LABELS",
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
    "Trend",
    "build_figures",
]

FIGURES_VERSION = 1
SCORES = (1, 2, 3, 4, 5)
_BIN_KEYS = tuple((score, str(score)) for score in reversed(SCORES))  # shown 5 down to 1
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
DIMENSION_ORDER = {d.value: i for i, d in enumerate(Dimension)}
OVERLAP = (
    "not shown this week: another team's digest covers almost the same people, and "
    "comparing the two could reveal a few people's answers"
)
"""Why a week's figures are withheld when another team's respondents differ by under k."""


# --------------------------------------------------------------------------- the model


class _Figure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Split(_Figure):
    """A total split into cells, as :func:`bot.core.anonymity.safe_breakdown` allows it to be
    shown (``total`` is ``None`` when the whole split is withheld)."""

    total: int | None = None
    cells: list[tuple[str, int]] = []
    other: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, breakdown: anonymity.Breakdown) -> Split:
        return cls.model_validate(breakdown.as_dict())

    def view(self) -> anonymity.Breakdown:
        return anonymity.Breakdown.from_dict(self.model_dump())


class Participation(_Figure):
    asked: int = 0
    answered: int = 0


class DimensionFigure(_Figure):
    """One dimension's trust index, or the reason it is withheld."""

    dimension: str
    label: str
    index: float | None = None
    people: int | None = None
    distribution: Split | None = None
    change: float | None = None  # since the week before
    reason: str | None = None


class GoalMix(_Figure):
    breakdown: Split = Split()
    labels: dict[str, str] = {}


class MomentPrompt(_Figure):
    prompt_id: str
    text: str
    labels: dict[str, str] = {}
    breakdown: Split = Split()


class MomentDetail(_Figure):
    moment: str
    prompts: list[MomentPrompt] = []


class Moments(_Figure):
    breakdown: Split = Split()
    labels: dict[str, str] = {}
    details: list[MomentDetail] = []


class GapFigure(_Figure):
    prompt_id: str
    text: str
    manager_text: str | None = None
    managers: int  # their mean estimate, percent
    managers_count: int
    team: int | None = None  # percent of the team averaging 4 or more
    reason: str | None = None


class Notes(_Figure):
    texts: list[str] = []
    reason: str | None = None


class Focus(_Figure):
    dimension: str
    label: str
    index: float
    tip_id: str
    tip: str
    seed: list[str] = []


class Trend(_Figure):
    """Each dimension's index over :data:`TREND_PERIODS` weeks (ISO Mondays, oldest first);
    ``None`` where nothing was shown."""

    periods: list[str] = []
    index: dict[str, list[float | None]] = {}

    def has_points(self) -> bool:
        return any(v is not None for values in self.index.values() for v in values)


class Figures(_Figure):
    """Everything one team's digest for one week may show, and nothing else."""

    version: int = FIGURES_VERSION
    period_start: date
    period_end: date
    k: int
    notes_k: int
    participation: Participation = Participation()
    dimensions: list[DimensionFigure] = []
    goal_mix: GoalMix | None = None
    moments: Moments | None = None
    perception_gap: list[GapFigure] = []
    notes: Notes = Notes()
    focus: Focus | None = None
    trend: Trend = Trend()
    withheld: str | None = None  # why every answer figure of the week is withheld

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Figures:
        """The figures of a ``Digest.figures`` JSON value (any version written so far)."""
        return cls.model_validate(stored)

    def stored(self) -> dict[str, Any]:
        """The JSON value stored in ``Digest.figures``."""
        return self.model_dump(mode="json")

    def labels(self) -> dict[str, str]:
        """Each dimension's label."""
        return {d.dimension: d.label for d in self.dimensions}


# --------------------------------------------------------------------------- building


def _round(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0: never a "-0.0" change


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
        before = (history.get(dimension) or [None])[-1]  # the week before
        bins = {key: dim.bins.get(score, 0) for score, key in _BIN_KEYS}
        items.append(
            DimensionFigure(
                dimension=dimension,
                label=label,
                index=index,
                people=dim.people,
                distribution=Split.of(anonymity.safe_partition(bins, k)),
                change=None if before is None else _round(index - before),
            )
        )
    return items


def _goal_mix(data: PeriodData, k: int) -> GoalMix:
    """Trust and value vs anything else: one answer per person, so a partition of people."""
    trust = data.goal.get(TRUST_AND_VALUE, 0)
    rest = sum(n for choice, n in data.goal.items() if choice != TRUST_AND_VALUE)
    cells = {TRUST_AND_VALUE: trust, SOMETHING_ELSE: rest}
    return GoalMix(breakdown=Split.of(anonymity.safe_partition(cells, k)), labels=dict(GOAL_LABELS))


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


def _perception_gap(data: PeriodData, k: int, bank: PromptBank) -> list[GapFigure]:
    items: list[GapFigure] = []
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
            GapFigure(
                prompt_id=prompt_id,
                text=text,
                manager_text=manager_text,
                managers=round(total / managers),
                managers_count=managers,
                team=team,
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


def _focus(dimensions: Sequence[DimensionFigure], bank: PromptBank, tip_key: str) -> Focus | None:
    shown = [d for d in dimensions if d.index is not None]
    if not shown:
        return None
    lowest = min(shown, key=lambda d: (d.index, DIMENSION_ORDER.get(d.dimension, 99)))
    assert lowest.index is not None
    tip = bank.pick_tip(lowest.dimension, tip_key, Audience.MANAGER)
    return Focus(
        dimension=lowest.dimension,
        label=lowest.label,
        index=lowest.index,
        tip_id=tip.id,
        tip=tip.text,
        seed=list(tip.seed),
    )


def _trend(
    dimensions: Sequence[DimensionFigure],
    history: Mapping[str, Sequence[float | None]],
    periods: Sequence[str],
) -> Trend:
    own = {d.dimension: d.index for d in dimensions}
    before: list[float | None] = [None] * (len(periods) - 1)
    index: dict[str, list[float | None]] = {}
    for name in sorted(set(history) | set(own), key=_dimension_key):
        values = [*(history.get(name) or before), own.get(name)]
        if any(v is not None for v in values):
            index[name] = values
    return Trend(periods=list(periods), index=index)


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
) -> Figures:
    """The week's figures: everything a digest may show, and nothing else.

    ``previous`` is the trend of the latest stored figures before this week (within the
    trend window), which carries the weeks before it. ``withheld`` (a reason) keeps every
    figure built from answers out, participation counts only.
    """
    k, notes_k = anonymity.threshold(k), anonymity.threshold(notes_k)
    periods = [p.isoformat() for p in trend_periods(period_start)]
    assert len(periods) == TREND_PERIODS
    history = _history(previous, periods[:-1])
    if withheld is not None:
        return Figures(
            period_start=period_start,
            period_end=period_start + timedelta(days=6),
            k=k,
            notes_k=notes_k,
            participation=Participation(asked=data.asked, answered=data.answered),
            notes=Notes(reason=withheld) if data.notes else Notes(),
            trend=_trend([], history, periods),
            withheld=withheld,
        )
    dimensions = _dimensions(data, k, history)
    return Figures(
        period_start=period_start,
        period_end=period_start + timedelta(days=6),
        k=k,
        notes_k=notes_k,
        participation=Participation(asked=data.asked, answered=data.answered),
        dimensions=dimensions,
        goal_mix=_goal_mix(data, k),
        moments=_moments(data, k, bank),
        perception_gap=_perception_gap(data, k, bank),
        notes=_notes(data, notes_k),
        focus=_focus(dimensions, bank, tip_key),
        trend=_trend(dimensions, history, periods),
    )
