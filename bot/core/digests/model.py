"""The typed digest figures (stored as JSON in ``Digest.figures``): what a digest, the
manager's Home, the team summary and the chart may show, and nothing else. How they are
built is in :mod:`bot.core.digests.figures`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core import anonymity
from bot.core.prompts import TRUST_AND_VALUE, Dimension

FIGURES_VERSION = 2
BASELINE_WEEKS = 4  # the team's baseline: its mean of the previous 4 weeks shown
BASELINE_MIN = 2  # ... from at least 2 of them
SD_FLOOR = 0.5  # a spread below half a scale point is not trusted (few, identical answers)
CYCLE_WEEKS = 4  # a coaching focus holds this long
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
    change: float | None = None  # v2: against the baseline; v1: since the week before
    reason: str | None = None
    se: float | None = None  # standard error of the index
    baseline: float | None = None  # the team's own mean of the previous weeks
    marked: int = 0  # +1 / -1: a change beyond what the sample can tell apart


class TeamIndex(_Figure):
    """The team's trust index over every dimension asked, against its own baseline."""

    index: float
    people: int
    se: float
    baseline: float | None = None
    change: float | None = None
    marked: int = 0


class GoalMix(_Figure):
    breakdown: Split = Split()
    labels: dict[str, str] = {}
    weeks: int = 1  # 1: people in one week; 4 or 13: answers over that block of weeks
    start: date | None = None  # the block's first Monday (weeks > 1)
    week_of: date | None = None  # weeks == 1: the week whose answers these are
    answered: int | None = None  # banded: how many people answered the goal question
    at_least: int | None = None  # banded: trust and value, rounded down to a multiple of k


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
    weeks: int = 1  # as for GoalMix
    start: date | None = None


BLOCK_FIGURES = ("goal_mix", "moments")
"""The figures a block of weeks is counted for."""
SHOWN = "shown"
"""In stored figures, a block's figure that is the one the digest shows (stored once)."""


class Block(_Figure):
    """A fixed block of weeks counted for a team whose week was too thin to show its goal
    mix or deal moments, and what it could show (None: nothing, by the k rule). A block is
    counted once per team and figure, the first week it is needed (``counted`` names the
    figures); later digests carry it as it was, shown or not, so two views of a block can
    never be subtracted and its query runs once."""

    weeks: int
    start: date
    goal_mix: GoalMix | None = None
    moments: Moments | None = None
    counted: tuple[str, ...] = BLOCK_FIGURES


class GapFigure(_Figure):
    prompt_id: str
    text: str
    manager_text: str | None = None
    managers: int = 0  # v1: their mean estimate, percent
    managers_count: int
    team: int | None = None  # v1: percent of the team averaging 4 or more
    reason: str | None = None
    managers_mean: float | None = None  # v2: their estimate of the team's mean (1-5)
    team_mean: float | None = None  # v2: the team's mean, from k people or more


class Notes(_Figure):
    texts: list[str] = []
    reason: str | None = None


class Focus(_Figure):
    """The dimension the manager works on for a cycle of :data:`CYCLE_WEEKS` weeks, why, and
    one thing to do this week (``action``, a different one each week of the cycle)."""

    dimension: str
    label: str
    index: float | None = None
    tip_id: str
    tip: str
    seed: list[str] = []
    since: date | None = None  # the cycle's first week
    week: int = 1  # which week of the cycle
    action: str | None = None


class Trend(_Figure):
    """Each dimension's index over :data:`TREND_PERIODS` weeks (ISO Mondays, oldest first);
    ``None`` where nothing was shown."""

    periods: list[str] = []
    index: dict[str, list[float | None]] = {}
    overall: list[float | None] = []  # the team index
    answered: list[int | None] = []  # participation
    asked: list[int | None] = []

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
    overall: TeamIndex | None = None
    dimensions: list[DimensionFigure] = []
    goal_mix: GoalMix | None = None
    moments: Moments | None = None
    perception_gap: list[GapFigure] = []
    notes: Notes = Notes()
    focus: Focus | None = None
    trend: Trend = Trend()
    withheld: str | None = None  # why every answer figure of the week is withheld
    not_shown: list[str] = []  # what is withheld by the k rule (said once, in one line)
    blocks: list[Block] = []  # the current blocks counted for this team, carried each week

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Figures:
        """The figures of a ``Digest.figures`` JSON value (any version written so far)."""
        return cls.model_validate(stored_blocks(stored))

    def stored(self) -> dict[str, Any]:
        """The JSON value stored in ``Digest.figures``: a block's figure that the digest
        shows is stored once, as the digest's, and marked :data:`SHOWN` in the block."""
        stored = self.model_dump(mode="json")
        for block in stored["blocks"]:
            for name in BLOCK_FIGURES:
                if block[name] is not None and block[name] == stored[name]:
                    block[name] = SHOWN
        return stored

    def labels(self) -> dict[str, str]:
        """Each dimension's label."""
        return {d.dimension: d.label for d in self.dimensions}


def stored_blocks(stored: Mapping[str, Any]) -> Mapping[str, Any]:
    """``stored`` with each block's :data:`SHOWN` figure put back (:meth:`Figures.stored`)."""
    blocks = stored.get("blocks")
    if not blocks:
        return stored
    return {
        **stored,
        "blocks": [
            {k: stored[k] if k in BLOCK_FIGURES and v == SHOWN else v for k, v in b.items()}
            for b in blocks
        ],
    }
