"""Answers to a deal nudge: a click per question, stored like a check-in's answers.

Plain Python over storage (no Slack). A nudge is a ``nudge`` :class:`Delivery` planned by
:mod:`bot.core.deals`; its answers are :class:`Response` rows under the rep's pseudonym of
the week they were given in, with the nudge's opaque ``answer_context`` (so the database
alone cannot tie them to the deal event) and the deal ``moment``.
The digest shows them only in aggregate (:mod:`bot.digests`, deal-moment reflections).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import answers, deals, verdicts
from bot.core.checkins import week_start, zone
from bot.core.prompts import PromptBank, Verdict, default_bank
from bot.runtime import Runtime
from bot.storage.models import Delivery, DeliveryKind, Response, Team

__all__ = ["NudgeState", "nudge_state", "record_nudge_answer", "verdict"]

GONE = "This nudge no longer exists."
NOT_YOURS = "This nudge was not sent to you, so it cannot take your answers."
CLOSED = "This nudge has closed: answers can no longer change."
NO_TEAM = "You are not in a Trustbot team any more, so this answer cannot be counted."


class NudgeClosed(answers.AnswerError):
    """The nudge expired: its message should now show the closed state."""

    def __init__(self) -> None:
        super().__init__(CLOSED)


@dataclass(frozen=True)
class NudgeState:
    """What the rep's nudge DM shows: the deal moment, their answers, open or closed."""

    content: deals.NudgeContent
    answers: dict[str, str]
    closed: bool
    channel_id: str | None
    message_ts: str | None


async def _delivery(
    session: AsyncSession, workspace_id: str, user_id: str, delivery_id: int
) -> Delivery:
    delivery = await session.get(Delivery, delivery_id)
    if (
        delivery is None
        or delivery.workspace_id != workspace_id
        or delivery.kind != DeliveryKind.NUDGE
    ):
        raise answers.AnswerError(GONE)
    if delivery.user_id is None:  # closed: it has forgotten whom it was sent to
        raise NudgeClosed()
    if delivery.user_id != user_id:
        raise answers.AnswerError(NOT_YOURS)
    return delivery


async def _content(runtime: Runtime, delivery: Delivery, bank: PromptBank) -> deals.NudgeContent:
    try:
        return await deals.nudge_context(runtime, delivery, bank)
    except LookupError:
        raise answers.AnswerError(GONE) from None


async def _answered_in(session: AsyncSession, context: str) -> date | None:
    """The week the nudge's answers count in, once it has one: the week of its first answer,
    so a nudge answered across midnight on Sunday stays one reflection in one digest (a
    nudge's context is its own: one deal event, one rep)."""
    return (
        await session.exec(select(col(Response.period_start)).where(Response.context == context))
    ).first()


async def nudge_state(
    runtime: Runtime,
    workspace_id: str,
    user_id: str,
    delivery_id: int,
    bank: PromptBank | None = None,
) -> NudgeState:
    """Everything the user's nudge DM shows, and where it was posted.

    Raises :class:`~bot.answers.AnswerError` if the nudge is unknown or was not sent to them.
    """
    bank = bank or default_bank()
    async with runtime.db.session() as session:
        delivery = await _delivery(session, workspace_id, user_id, delivery_id)
    content = await _content(runtime, delivery, bank)
    async with runtime.db.session() as session:
        period = await _answered_in(session, content.answer_context)
        given = {}
        if period is not None:
            who = answers.pseudonym_of(runtime, workspace_id, user_id, period)
            given = await answers.given_answers(session, content.answer_context, who)
    return NudgeState(
        content=content,
        answers=given,
        closed=answers.is_closed(delivery, runtime.clock.now()),
        channel_id=delivery.channel_id,
        message_ts=delivery.message_ts,
    )


async def record_nudge_answer(
    runtime: Runtime,
    workspace_id: str,
    user_id: str,
    delivery_id: int,
    prompt_id: str,
    raw_value: str,
) -> dict[str, str]:
    """Record (or change) the user's answer to one of the nudge's questions; their answers
    to the nudge after. Raises :class:`~bot.answers.AnswerError` (:class:`NudgeClosed` once
    the nudge expired) for anything wrong; nothing is written then."""
    bank = default_bank()
    state = await nudge_state(runtime, workspace_id, user_id, delivery_id, bank)
    content = state.content
    if state.closed:
        raise NudgeClosed()
    if prompt_id not in content.prompt_ids or not bank.has_prompt(prompt_id):
        raise answers.AnswerError("That question is not part of this nudge.")
    prompt = bank.prompt(prompt_id)
    value = raw_value.strip() if isinstance(raw_value, str) else ""
    if value not in {option.value for option in prompt.answer.choices()}:
        raise answers.AnswerError("That is not one of the answers to this question.")
    if content.team_id is None:
        raise answers.AnswerError(NO_TEAM)
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        team = await session.get(Team, content.team_id)
        if team is None:
            raise answers.AnswerError(NO_TEAM)
        period = await _answered_in(session, content.answer_context) or week_start(
            now.astimezone(zone(team.timezone)).date()
        )
        who = answers.pseudonym_of(runtime, workspace_id, user_id, period)
        values = answers.response_row(
            bank, workspace_id, who, period, content.answer_context, prompt, value,
            moment=content.moment.value,
        )  # fmt: skip
        keys = ("context", "pseudonym", "prompt_id")
        await session.exec(answers.upsert(runtime.db.dialect, Response, values, keys))
        given = await answers.given_answers(session, content.answer_context, who)
        # seed 000's verdict, kept per deal (never per rep) to compare with the outcome
        await verdicts.keep(
            session,
            runtime,
            workspace_id,
            content.deal_id,
            content.rule,
            given,
            team_id=content.team_id,
        )
        return given


def verdict(
    content: deals.NudgeContent, given: Mapping[str, str], bank: PromptBank | None = None
) -> tuple[str, Verdict] | None:
    """Seed 000's verdict (``go`` / ``stop`` / ``think`` / ``find_out`` and what it says) once
    every question of the moment's rule is answered; ``None`` before that or without a rule.
    The next steps that go with it: :func:`bot.core.verdicts.decide`."""
    found = verdicts.decide(content.rule, given, bank)
    return None if found is None else (found.name, found.said)
