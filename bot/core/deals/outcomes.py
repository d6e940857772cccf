"""Does trust pay? A team's win and slip rates by seed 000's verdict and by trust evidence.

For the deals of a team's reps that moved in a period (a week, or a quarter when a week is too
thin), :func:`team_outcomes` gives, per group of deals:

- by **seed 000's verdict** (``go``, ``think``, ``find_out``, ``stop``: what the rep decided
  after the first conversation);
- by **trust evidence** (seed 004: how many of the five things a buyer tells only a seller
  they trust the rep said they had been told: who else decides, the criteria, the budget, how
  they will decide, something confided): ``strong`` (3 or more), ``some`` (1-2), ``none``,
  ``not_asked``;

the deals, how many closed and were won (the **win rate**, of the closed ones), and how many
had their close date pushed out (the **slip rate**). A group is shown only with ``k`` deals or
more (the team's ``k``), and the groups held back together cover none or at least ``k``
(:func:`~bot.core.anonymity.safe_partition`): a verdict and its evidence are a rep's answers.

Plain Python over storage: deals are tied to the team through their verdict (which names no
rep), to their answers through the keyed nudge context, so this needs the pseudonym key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlmodel import col, select

from bot.core.anonymity import safe_partition, threshold
from bot.core.deals import stage_map
from bot.core.deals.nudge_content import answer_context
from bot.core.deals.rules import Moment, route
from bot.core.prompts import VERDICTS, DealChange
from bot.core.verdicts import deal_ref, outcome_of
from bot.runtime import Runtime
from bot.storage.models import DealEvent, DealVerdict, Response, Team

WEEK: Final = "week"
QUARTER: Final = "quarter"
PERIODS: Final = {WEEK: timedelta(days=7), QUARTER: timedelta(days=91)}
EVIDENCE_PROMPT: Final = "evidence."
TOLD_ME: Final = "told_me"
EVIDENCE_LEVELS: Final = ("strong", "some", "none", "not_asked")
_CLOSED: Final = frozenset(
    {Moment.WON.value, Moment.LOST.value, Moment.NO_DECISION.value, Moment.DISQUALIFIED.value}
)


@dataclass(frozen=True)
class Rates:
    """One group of deals: how many, how many closed and won, how many slipped."""

    group: str
    deals: int
    closed: int
    won: int
    slipped: int

    @property
    def win_rate(self) -> float | None:
        """Won among the closed deals; ``None`` before any closed."""
        return self.won / self.closed if self.closed else None

    @property
    def slip_rate(self) -> float:
        return self.slipped / self.deals if self.deals else 0.0


@dataclass(frozen=True)
class TeamOutcomes:
    """A team's outcomes over ``[start, end)``; ``by_verdict`` / ``by_evidence`` hold only
    the groups ``k`` allows (empty when none does)."""

    team_id: int
    period: str  # week | quarter
    start: date
    end: date
    k: int
    deals: int  # every deal of the team's reps that moved in the period, shown or not
    by_verdict: tuple[Rates, ...]
    by_evidence: tuple[Rates, ...]

    @property
    def shown(self) -> bool:
        return bool(self.by_verdict or self.by_evidence)


@dataclass
class _Deal:
    verdict: str
    outcome: str = "open"
    slipped: bool = False
    evidence: int | None = None  # distinct evidence prompts answered "told me"; None: not asked


def evidence_level(told: int | None) -> str:
    if told is None:
        return "not_asked"
    if told >= 3:
        return "strong"
    return "some" if told else "none"


def _rates(deals: Sequence[_Deal], group_of: Callable[[_Deal], str], group: str) -> Rates:
    mine = [d for d in deals if group_of(d) == group]
    closed = [d for d in mine if d.outcome in _CLOSED]
    return Rates(
        group=group,
        deals=len(mine),
        closed=len(closed),
        won=sum(d.outcome == Moment.WON.value for d in closed),
        slipped=sum(d.slipped for d in mine),
    )


def _verdict(deal: _Deal) -> str:
    return deal.verdict


def _evidence(deal: _Deal) -> str:
    return evidence_level(deal.evidence)


def _allowed(rates: Sequence[Rates], k: int) -> tuple[Rates, ...]:
    """The groups the k rule lets through (deals are in exactly one group)."""
    shown = safe_partition({r.group: r.deals for r in rates}, k)
    keep = {key for key, _ in shown.shown}
    return tuple(r for r in rates if r.group in keep)


async def _team_deals(
    runtime: Runtime, workspace_id: str, team_id: int, start: datetime, end: datetime
) -> dict[str, _Deal]:
    """The team's deals (with a verdict) that had an update in ``[start, end)``."""
    async with runtime.db.session() as session:
        verdict_of = dict(
            (
                await session.exec(
                    select(DealVerdict.deal_ref, DealVerdict.verdict).where(
                        DealVerdict.workspace_id == workspace_id, DealVerdict.team_id == team_id
                    )
                )
            ).all()
        )
        if not verdict_of:
            return {}
        moved = (
            await session.exec(
                select(DealEvent.deal_id)
                .where(
                    DealEvent.workspace_id == workspace_id,
                    col(DealEvent.occurred_at) >= start,
                    col(DealEvent.occurred_at) < end,
                )
                .distinct()
            )
        ).all()
        refs = {d: deal_ref(runtime.pseudonyms, workspace_id, d) for d in moved}
        ours = {d: _Deal(verdict_of[r]) for d, r in refs.items() if r in verdict_of}
        if not ours:
            return {}
        history = (
            await session.exec(
                select(DealEvent)
                .where(
                    DealEvent.workspace_id == workspace_id,
                    col(DealEvent.deal_id).in_(sorted(ours)),
                )
                .order_by(col(DealEvent.occurred_at), col(DealEvent.id))
            )
        ).all()
        changes: dict[str, list[tuple[str, str | None, str | None]]] = {}
        contexts: dict[str, str] = {}
        source: dict[str, str] = {}
        for event in history:
            source[event.deal_id] = event.source  # the latest update's CRM reads the outcome
            event_id, deal_id, change = event.id, event.deal_id, event.change
            before, after = event.from_value, event.to_value
            changes.setdefault(deal_id, []).append((change, before, after))
            assert event_id is not None
            contexts[answer_context(runtime.pseudonyms, workspace_id, event_id)] = deal_id
            if change == DealChange.CLOSE_DATE_CHANGED.value:
                pushed = route(change, before, after).moment is Moment.CLOSE_DATE_PUSHED
                ours[deal_id].slipped |= pushed
        mapped = {
            crm: await stage_map.overrides_for(runtime, workspace_id, crm)
            for crm in set(source.values())
        }
        for deal_id, found in changes.items():
            ours[deal_id].outcome = outcome_of(found, mapped[source[deal_id]])
        answers = (
            await session.exec(
                select(Response.context, Response.prompt_id, Response.value).where(
                    Response.workspace_id == workspace_id,
                    col(Response.context).in_(sorted(contexts)),
                    col(Response.prompt_id).startswith(EVIDENCE_PROMPT),
                )
            )
        ).all()
    told: dict[str, set[str]] = {}
    for context, prompt_id, value in answers:
        deal = told.setdefault(contexts[context], set())
        if value == TOLD_ME:
            deal.add(prompt_id)
    for deal_id, prompts in told.items():
        ours[deal_id].evidence = len(prompts)
    return ours


def _bounds(period: str, today: date) -> tuple[date, date]:
    end = today + timedelta(days=1)
    return end - PERIODS[period], end


async def team_outcomes(runtime: Runtime, team: Team, today: date | None = None) -> TeamOutcomes:
    """The team's outcomes over the last week, or the last quarter when the k rule shows
    nothing for the week."""
    assert team.id is not None
    today = today or runtime.clock.now().date()
    k = threshold(team.k)
    found = TeamOutcomes(team.id, QUARTER, today, today, k, 0, (), ())
    for period in (WEEK, QUARTER):
        start, end = _bounds(period, today)
        deals = list(
            (
                await _team_deals(
                    runtime,
                    team.workspace_id,
                    team.id,
                    datetime.combine(start, time(), UTC),
                    datetime.combine(end, time(), UTC),
                )
            ).values()
        )
        by_verdict = _allowed([_rates(deals, _verdict, v) for v in VERDICTS], k)
        by_evidence = _allowed([_rates(deals, _evidence, e) for e in EVIDENCE_LEVELS], k)
        found = TeamOutcomes(team.id, period, start, end, k, len(deals), by_verdict, by_evidence)
        if found.shown:
            return found
    return found


VERDICT_NAMES: Final[Mapping[str, str]] = {
    "go": "go",
    "think": "a harder call",
    "find_out": "find out first",
    "stop": "stop",
}


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


def summary(found: TeamOutcomes) -> str:
    """One line for ``/trust status`` and the demo: the groups shown, or why none is."""
    when = "this week" if found.period == WEEK else "the last quarter"
    if not found.shown:
        return (
            f"Outcomes: not enough deals yet ({found.deals} with a seed 000 verdict moved in "
            f"{when}; each group needs {found.k})."
        )
    parts = [
        f"{VERDICT_NAMES.get(r.group, r.group)}: won {_percent(r.win_rate)} of "
        f"{r.closed} closed, slipped {_percent(r.slip_rate)}"
        for r in found.by_verdict
    ]
    parts += [
        f"{r.group.replace('_', ' ')} trust evidence: won {_percent(r.win_rate)}, "
        f"slipped {_percent(r.slip_rate)}"
        for r in found.by_evidence
    ]
    return f"Outcomes, {when} ({found.deals} deals): " + "; ".join(parts) + "."
