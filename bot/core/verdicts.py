"""Seed 000's verdict on a new deal: decisive, kept per deal, compared with the outcome.

Plain Python over storage (no Slack). Once a rep has answered the three investment questions
(do I like them? value or price? worth the time?), :func:`decide` gives the verdict:

- ``go``: yes to all three;
- ``stop``: no to all three (qualifying out: a good decision, never scored);
- ``find_out``: a "not sure yet" among them: find out first;
- ``think``: some yes, some no: a harder call.

Every No and every "not sure yet" comes with its own next step (:class:`FollowUp`): which
question got it, and what to do (a price-focused client: "ask once what a wrong choice would
cost them").

:func:`keep` stores the verdict per deal (:class:`~bot.storage.models.DealVerdict`), keyed by
the workspace and a keyed hash of the deal, never by the rep and with no time; answers
changed later update it. :func:`outcomes` compares the verdicts with what became of the deals
(won, lost, no decision, disqualified, still open), for a workspace or a team.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.answers import upsert
from bot.core.deals.rules import Moment, route
from bot.core.deals.stages import StageKind
from bot.core.prompts import (
    NO,
    NOT_SURE,
    VERDICTS,
    YES,
    DealChange,
    InvestmentRule,
    PromptBank,
    Verdict,
    VerdictName,
    default_bank,
)
from bot.runtime import Runtime
from bot.runtime.pseudonyms import Pseudonyms, Purpose
from bot.storage.models import DealEvent, DealVerdict

OPEN: Final = "open"
"""The outcome of a deal with no closing update yet (or reopened since)."""
OUTCOMES: Final = (
    Moment.WON.value,
    Moment.LOST.value,
    Moment.NO_DECISION.value,
    Moment.DISQUALIFIED.value,
    OPEN,
)
"""What can become of a deal, for :func:`outcomes`."""
_CLOSED: Final = frozenset(OUTCOMES) - {OPEN}


@dataclass(frozen=True)
class FollowUp:
    """One question answered No or "not sure yet", and what to do about it."""

    prompt_id: str
    name: str  # the rule's short name for the question, e.g. "Value or price"
    answer: str  # "no" or "not_sure"
    next: str  # the next step the question's feedback gives for that answer


@dataclass(frozen=True)
class Decided:
    """Seed 000's verdict on a deal and the next steps that go with it."""

    name: VerdictName
    said: Verdict
    follow_ups: tuple[FollowUp, ...]


def decide(
    rule: InvestmentRule | None, given: Mapping[str, str], bank: PromptBank | None = None
) -> Decided | None:
    """The verdict once every question of ``rule`` is answered (``given``: prompt id to the
    stored answer, ``"yes"`` / ``"no"`` / ``"not_sure"``); ``None`` before that, or without a
    rule."""
    if rule is None:
        return None
    bank = bank or default_bank()
    answers: dict[str, str] = {}
    for prompt_id in rule.prompts:
        value = given.get(prompt_id)
        if value not in (YES, NO, NOT_SURE):
            return None
        answers[prompt_id] = value
    name = rule.verdict(answers)
    follow_ups = []
    for prompt_id, answer in rule.open_questions(answers):
        said = bank.prompt(prompt_id).feedback_for(answer)
        if said is not None:
            follow_ups.append(FollowUp(prompt_id, rule.names[prompt_id], answer, said.next))
    return Decided(name, rule.outcome(name), tuple(follow_ups))


def deal_ref(pseudonyms: Pseudonyms, workspace_id: str, deal_id: str) -> str:
    """The keyed hash a deal's verdict is kept under (not linkable without the key)."""
    return pseudonyms.of(workspace_id, deal_id, Purpose.DEAL)


async def keep(
    session: AsyncSession,
    runtime: Runtime,
    workspace_id: str,
    deal_id: str,
    rule: InvestmentRule | None,
    given: Mapping[str, str],
    bank: PromptBank | None = None,
    team_id: int | None = None,
) -> Decided | None:
    """Store (or update) the deal's verdict when ``given`` answers all of ``rule``'s questions,
    in the caller's transaction; the verdict, or ``None`` when there is none yet."""
    decided = decide(rule, given, bank)
    if decided is None:
        return None
    values = {
        "workspace_id": workspace_id,
        "deal_ref": deal_ref(runtime.pseudonyms, workspace_id, deal_id),
        "verdict": decided.name,
        "team_id": team_id,
    }
    await session.exec(
        upsert(runtime.db.dialect, DealVerdict, values, ("workspace_id", "deal_ref"))
    )
    return decided


def outcome_of(
    changes: list[tuple[str, str | None, str | None]],
    overrides: Mapping[str, StageKind] | None = None,
) -> str:
    """What became of a deal, from its updates ``(change, from, to)`` oldest first: the
    outcome its latest update closed it with, or :data:`OPEN` (``overrides``: the admin's
    stage mapping, ``/trust stages``)."""
    if not changes:
        return OPEN
    change, before, after = changes[-1]
    try:
        moment = route(DealChange(change), before, after, overrides=overrides).moment.value
    except ValueError:
        return OPEN
    return moment if moment in _CLOSED else OPEN


async def outcomes(
    runtime: Runtime, workspace_id: str, team_id: int | None = None
) -> dict[str, dict[str, int]]:
    """Seed 000's verdicts against what became of the deals: ``{verdict: {outcome: deals}}``
    for every verdict (:data:`~bot.core.prompts.VERDICTS`) and outcome (:data:`OUTCOMES`).

    ``team_id`` counts only the deals decided by the team's reps (the verdict's team: deal
    updates forget their rep once planned).
    These are counts of deals, not of people: a digest showing them still applies its own
    anonymity rule.
    """
    counts: dict[str, dict[str, int]] = {v: dict.fromkeys(OUTCOMES, 0) for v in VERDICTS}
    async with runtime.db.session() as session:
        kept = dict(
            (
                await session.exec(
                    select(DealVerdict.deal_ref, DealVerdict.verdict).where(
                        DealVerdict.workspace_id == workspace_id,
                        *([DealVerdict.team_id == team_id] if team_id is not None else []),
                    )
                )
            ).all()
        )
        if not kept:
            return counts
        query = select(
            DealEvent.deal_id, DealEvent.change, DealEvent.from_value, DealEvent.to_value
        ).where(DealEvent.workspace_id == workspace_id)
        rows = (
            await session.exec(query.order_by(col(DealEvent.occurred_at), col(DealEvent.id)))
        ).all()
    by_deal: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for deal_id, change, before, after in rows:
        by_deal.setdefault(deal_id, []).append((change, before, after))
    for deal_id, changes in by_deal.items():
        verdict = kept.get(deal_ref(runtime.pseudonyms, workspace_id, deal_id))
        if verdict in counts:
            counts[verdict][outcome_of(changes)] += 1
    return counts
