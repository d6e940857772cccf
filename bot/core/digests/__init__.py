"""The weekly team digest: figures aggregated in SQL, checked by the k rule, frozen once shown.

Plain Python over storage (no Slack). A digest covers one ISO week (``period_start`` is its
Monday), so windows never overlap. Its figures are computed the first time anyone sees them
(a preview, a post, or the trend of a later week) and stored in :class:`Digest` ``figures``;
every later preview, post or re-run shows those stored figures verbatim, so two views of a
week can never be subtracted to isolate a late or deleted answer. What may be shown at all
is decided in :mod:`bot.core.anonymity`.

Cost: every query reads only the period's rows through ``ix_response_team_period``
(``team_id, period_start, moment, dimension, pseudonym, prompt_id, score``: the trust index
and the respondents read the index alone, the per-person GROUP BY in its order, and the nudge
answers are a range of it); the trend reads the previous week's stored figures,
which already carry the weeks before it. Many teams are computed in one batch
(:func:`prepare`): the weekly tick does the same few GROUP BY queries for all due teams.

Modules: :mod:`~bot.core.digests.periods` (weeks, due times), :mod:`~.aggregate` (SQL),
:mod:`~.figures` (the typed figures and how they are built), :mod:`~.freezing` (computed
once, stored, shown verbatim), :mod:`~.publishing` (claim, post, due teams).
"""

from bot.core.digests.aggregate import DimensionData, PeriodData, aggregate
from bot.core.digests.figures import (
    DIMENSION_LABELS,
    FIGURES_VERSION,
    GOAL_LABELS,
    Figures,
    Trend,
    build_figures,
)
from bot.core.digests.freezing import StoredDigest, prepare
from bot.core.digests.periods import (
    TREND_PERIODS,
    WEEK,
    DigestError,
    digest_slot,
    latest_period,
)
from bot.core.digests.publishing import (
    CHANNEL_ERRORS,
    DM_ONLY,
    DigestResult,
    Due,
    Unpostable,
    WeekInProgress,
    digest_for,
    dm_copies,
    due_digests,
    mark_posted,
    mark_unpostable,
    posted,
    release,
    summary_for,
    unpostable,
    unsettled,
    week_in_progress,
    what_to_do,
)

__all__ = [
    "CHANNEL_ERRORS",
    "DIMENSION_LABELS",
    "DM_ONLY",
    "FIGURES_VERSION",
    "GOAL_LABELS",
    "TREND_PERIODS",
    "WEEK",
    "DigestError",
    "DigestResult",
    "DimensionData",
    "Due",
    "Figures",
    "PeriodData",
    "StoredDigest",
    "Trend",
    "Unpostable",
    "WeekInProgress",
    "aggregate",
    "build_figures",
    "digest_for",
    "digest_slot",
    "dm_copies",
    "due_digests",
    "latest_period",
    "mark_posted",
    "mark_unpostable",
    "posted",
    "prepare",
    "release",
    "summary_for",
    "unpostable",
    "unsettled",
    "week_in_progress",
    "what_to_do",
]
