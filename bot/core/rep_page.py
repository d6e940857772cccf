"""The rep's own page (App Home and ``/trust me``): what their own answers say back to them.

- **Behaviour trends**, one per dimension: only answers about the rep's own conduct
  (``measures: behaviour``); a situation or a decision (admitting a risk, qualifying out) is
  never scored against them. Each trend has a rolling **baseline**: the rep's own mean over
  the :data:`BASELINE_WEEKS` weeks before their latest one, so "up" and "down" compare them
  with themselves, never with anyone else.
- **Trust evidence per deal** (seed 004): what the buyer has shared with them (who else
  decides, criteria, budget, how they'll decide, something they'd not tell every vendor), as
  they reported it in deal nudges.
- **The blind spot** (seed 004's 18%): how they rate their own client-first conduct next to
  what buyers actually shared. Shown only to them, and only once they logged evidence.
- **One practice for next week**, from the seeds: for the thinnest evidence, or else for the
  behaviour they rated lowest lately.

Anonymity: answers are stored under weekly keyed pseudonyms and nothing else ties them to a
person, so the page recomputes the requesting user's own pseudonyms
(:meth:`~bot.runtime.pseudonyms.Pseudonyms.weeks`) and reads only the rows stored under them.
It takes no other user's ID, so no one can read another person's page. A nudge's answers are
tied to their deal the same way: by recomputing the keyed context of the deal updates around
the week they were given (:func:`bot.core.deals.answer_context`), in memory, never stored.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean

from sqlmodel import col, select

from bot.core import deals
from bot.core.checkins import week_start
from bot.core.prompts import Audience, Dimension, PromptBank, default_bank
from bot.runtime import Runtime
from bot.storage.models import DealEvent, Response

LOOKBACK_WEEKS = 26
"""How far back the page reads the rep's own answers."""
TREND_POINTS = 8
"""Weeks a trend shows."""
BASELINE_WEEKS = 12
"""The rolling baseline: the rep's own mean over this many weeks before their latest week."""
STEADY = 0.25
"""A latest week within this of the baseline reads as steady."""
DEALS_SHOWN = 8

TOLD = "told_me"
EVIDENCE: Mapping[str, str] = {
    "evidence.key_players": "who else decides",
    "evidence.criteria": "their criteria",
    "evidence.budget": "their budget",
    "evidence.decision_process": "how they'll decide",
    "evidence.confided": "something they'd not tell every vendor",
}
"""Seed 004's observable test of trust, by prompt: what a buyer who trusts me shares."""
SELF_RATED = (Dimension.CARE, Dimension.INTEGRITY)
"""The behaviour a rep rates themselves on that seed 004's blind spot is about: acting in
the client's interest, honestly (the trusted-advisor behaviours)."""
HIGH_SELF = 4.0
THIN = 0.5  # a share of evidence items the buyer told below this is thin

EVENT_BEFORE = timedelta(days=10)  # a nudge goes out within days of its deal update (working
EVENT_AFTER = timedelta(days=8)  # hours) and closes 3 working days later
NUDGED_STATUSES = (deals.NUDGED, deals.DEFERRED)  # the updates that have a nudge


@dataclass(frozen=True)
class Trend:
    dimension: str
    points: list[tuple[date, float]]  # (week, the rep's mean behaviour score), oldest first
    baseline: float | None  # the rep's own mean over the BASELINE_WEEKS before the latest

    @property
    def latest(self) -> float:
        return self.points[-1][1]

    @property
    def direction(self) -> str:
        """``up``, ``down`` or ``steady`` against the baseline; ``new`` without one."""
        if self.baseline is None:
            return "new"
        delta = self.latest - self.baseline
        return "up" if delta >= STEADY else "down" if delta <= -STEADY else "steady"


@dataclass(frozen=True)
class DealEvidence:
    deal: str  # the CRM's deal name (outside text: the Slack layer renders it inert)
    items: list[tuple[str, str]]  # (evidence prompt id, the latest answer), in EVIDENCE order


@dataclass(frozen=True)
class BlindSpot:
    self_rating: float | None  # mean of the rep's SELF_RATED behaviour scores
    self_answers: int
    told: int  # evidence answers where the buyer had told them
    asked: int  # evidence answers in all (a guess, not yet, not sure count as not told)
    reading: str  # gap | matched | modest | underrated | unrated


@dataclass(frozen=True)
class Practice:
    text: str
    reason: str  # why this one: the evidence or the behaviour it is tied to
    seed: tuple[str, ...]


@dataclass(frozen=True)
class RepPage:
    trends: list[Trend]
    evidence: list[DealEvidence]
    blind_spot: BlindSpot | None
    practice: Practice


@dataclass(frozen=True)
class OwnAnswer:
    """One of the rep's own stored answers, as the page reads it."""

    week: date
    context: str
    moment: str | None
    prompt_id: str
    dimension: str
    value: str
    score: int | None


async def rep_page(
    runtime: Runtime, workspace_id: str, user_id: str, bank: PromptBank | None = None
) -> RepPage:
    """The page of ``user_id``, from their own answers only."""
    bank = bank or default_bank()
    this_week = week_start(runtime.clock.now().date())
    # a week ahead too: a rep east of UTC may be in next week already
    weeks = [this_week - timedelta(weeks=n) for n in range(-1, LOOKBACK_WEEKS + 1)]
    mine = runtime.pseudonyms.weeks(workspace_id, user_id, weeks)
    async with runtime.db.session() as session:
        rows = (
            await session.exec(
                select(Response).where(
                    Response.workspace_id == workspace_id,
                    col(Response.pseudonym).in_(list(mine)),
                )
            )
        ).all()
    answers = [
        OwnAnswer(r.period_start, r.context, r.moment, r.prompt_id, r.dimension, r.value, r.score)
        for r in rows
    ]
    evidence = [a for a in answers if a.moment is not None and a.prompt_id in EVIDENCE]
    named = await _deals_of(runtime, workspace_id, evidence)
    found_trends = trends(answers, bank)
    per_deal = evidence_by_deal(evidence, named)
    spot = blind_spot(answers, bank) if evidence else None
    return RepPage(
        trends=found_trends,
        evidence=per_deal,
        blind_spot=spot,
        practice=practice(found_trends, evidence, bank, key=f"{this_week}"),
    )


DealRef = tuple[str, str, datetime]  # (deal id, deal name, when the update happened)


class KnownDeals:
    """Answer contexts already tied to their deal, per process (a deal update never changes,
    so neither does its context's deal): a rep's next Home open reads nothing again. In
    memory only, never stored; at most ``limit`` of them, the oldest dropped."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._found: OrderedDict[str, DealRef] = OrderedDict()

    def get(self, context: str) -> DealRef | None:
        found = self._found.get(context)
        if found is not None:
            self._found.move_to_end(context)
        return found

    def put(self, context: str, deal: DealRef) -> None:
        self._found[context] = deal
        self._found.move_to_end(context)
        while len(self._found) > self.limit:
            self._found.popitem(last=False)


async def _deals_of(
    runtime: Runtime, workspace_id: str, given: Sequence[OwnAnswer]
) -> dict[str, DealRef]:
    """``{answer context: (deal id, deal name, when)}`` for the nudges ``given`` answered:
    the ids of the deal updates nudged around those weeks are read, their keyed contexts
    recomputed in memory, and only the matches are read in full."""
    known = runtime.service(KnownDeals)
    found = {a.context: known.get(a.context) for a in given}
    cached = {c: d for c, d in found.items() if d is not None}
    wanted = set(found) - set(cached)
    if not wanted:
        return cached
    spans: list[list[datetime]] = []  # the weeks' windows, overlapping ones merged
    for week in sorted({a.week for a in given if a.context in wanted}):
        start, end = _week_time(week) - EVENT_BEFORE, _week_time(week) + EVENT_AFTER
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    matched: dict[int, str] = {}
    async with runtime.db.session() as session:
        for start, end in spans:
            ids = (
                await session.exec(
                    select(col(DealEvent.id)).where(
                        DealEvent.workspace_id == workspace_id,
                        col(DealEvent.received_at) >= start,
                        col(DealEvent.received_at) < end,
                        col(DealEvent.status).in_(NUDGED_STATUSES),
                    )
                )
            ).all()
            for event_id in ids:
                assert event_id is not None
                context = deals.answer_context(runtime.pseudonyms, workspace_id, event_id)
                if context in wanted:
                    matched[event_id] = context
            if len(matched) == len(wanted):
                break
        rows = (
            (
                await session.exec(
                    select(
                        DealEvent.id, DealEvent.deal_id, DealEvent.deal_name, DealEvent.occurred_at
                    ).where(col(DealEvent.id).in_(list(matched)))
                )
            ).all()
            if matched
            else []
        )
    for event_id, deal_id, name, at in rows:
        assert event_id is not None
        cached[matched[event_id]] = (deal_id, name, at)
        known.put(matched[event_id], (deal_id, name, at))
    return cached


def behaviour(answers: Iterable[OwnAnswer], bank: PromptBank) -> list[OwnAnswer]:
    """The answers about the rep's own conduct that carry a score: never a situation or a
    decision, whatever a stored row says."""
    return [
        a
        for a in answers
        if a.score is not None and bank.has_prompt(a.prompt_id) and bank.prompt(a.prompt_id).scored
    ]


def trends(answers: Iterable[OwnAnswer], bank: PromptBank) -> list[Trend]:
    """Each dimension's weekly mean of the rep's behaviour scores, with its baseline."""
    scores: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(list))
    for a in behaviour(answers, bank):
        assert a.score is not None
        scores[a.dimension][a.week].append(a.score)
    found = []
    for dimension in sorted(scores, key=_dimension_order):
        by_week = scores[dimension]
        points = [(w, round(fmean(s), 2)) for w, s in sorted(by_week.items())]
        latest = points[-1][0]
        earlier = [
            s
            for w, week_scores in by_week.items()
            if latest - timedelta(weeks=BASELINE_WEEKS) <= w < latest
            for s in week_scores
        ]
        baseline = round(fmean(earlier), 2) if earlier else None
        found.append(Trend(dimension, points[-TREND_POINTS:], baseline))
    return found


def _dimension_order(dimension: str) -> int:
    names = [d.value for d in Dimension]
    return names.index(dimension) if dimension in names else len(names)


def evidence_by_deal(
    given: Iterable[OwnAnswer], named: Mapping[str, DealRef]
) -> list[DealEvidence]:
    """The latest answer to each evidence question per deal, the most recent deals first."""
    latest: dict[str, dict[str, tuple[datetime, str]]] = defaultdict(dict)
    names: dict[str, tuple[str, datetime]] = {}
    for a in given:
        deal_id, name, when = named.get(a.context, (f"?{a.context}", "", _week_time(a.week)))
        shown = latest[deal_id].get(a.prompt_id)
        if shown is None or shown[0] <= when:
            latest[deal_id][a.prompt_id] = (when, a.value)
        if deal_id not in names or names[deal_id][1] < when:
            names[deal_id] = (name or "A deal no longer in the CRM", when)
    order = sorted(names, key=lambda d: names[d][1], reverse=True)[:DEALS_SHOWN]
    return [
        DealEvidence(names[d][0], [(p, latest[d][p][1]) for p in EVIDENCE if p in latest[d]])
        for d in order
    ]


def _week_time(week: date) -> datetime:
    return datetime.combine(week, time(0), UTC)


def blind_spot(answers: Sequence[OwnAnswer], bank: PromptBank) -> BlindSpot | None:
    """How the rep rates their own client-first conduct, next to what buyers shared with
    them; ``None`` before they logged any evidence."""
    evidence = [a for a in answers if a.moment is not None and a.prompt_id in EVIDENCE]
    if not evidence:
        return None
    mine = [a.score for a in behaviour(answers, bank) if a.dimension in SELF_RATED]
    rating = round(fmean(s for s in mine if s is not None), 2) if mine else None
    told = sum(a.value == TOLD for a in evidence)
    share = told / len(evidence)
    if rating is None:
        reading = "unrated"
    elif rating >= HIGH_SELF:
        reading = "matched" if share >= THIN else "gap"
    else:
        reading = "underrated" if share >= THIN else "modest"
    return BlindSpot(rating, len(mine), told, len(evidence), reading)


def practice(
    found: Sequence[Trend], evidence: Sequence[OwnAnswer], bank: PromptBank, *, key: str
) -> Practice:
    """One practice for next week from the seeds: the next step for the evidence buyers have
    shared least when that is thin, else a tip for the behaviour rated lowest lately."""
    if evidence and sum(a.value == TOLD for a in evidence) / len(evidence) < THIN:
        missing = Counter(a.prompt_id for a in evidence if a.value != TOLD)
        prompt_id = max(EVIDENCE, key=lambda p: (missing[p], -list(EVIDENCE).index(p)))
        prompt = bank.prompt(prompt_id)
        usual = Counter(a.value for a in evidence if a.prompt_id == prompt_id and a.value != TOLD)
        said = prompt.feedback_for(usual.most_common(1)[0][0])
        assert said is not None  # every option has feedback (the bank refuses otherwise)
        return Practice(
            said.next,
            f"what buyers have shared with you least: {EVIDENCE[prompt_id]}",
            prompt.seed,
        )
    if found:
        lowest = min(found, key=lambda t: (t.latest, _dimension_order(t.dimension)))
        tip = bank.pick_tip(lowest.dimension, key, Audience.REP)
        label = lowest.dimension.replace("_", " ")
        return Practice(tip.text, f"where your own answers were lowest lately: {label}", tip.seed)
    tip = bank.pick_tip(Dimension.GOAL, key, Audience.REP)
    return Practice(tip.text, "to start with", tip.seed)
