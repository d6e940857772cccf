"""Answers to a weekly check-in: a click or a note, stored under the rep's pseudonym of the
week.

Plain Python over storage (no Slack). Every write checks that the round exists in the
workspace, that it was sent to this user and that it is still open; an answer can change
(an upsert on ``(context, pseudonym, prompt_id)``) until the delivery's ``expires_at``.
:class:`Response` and :class:`Note` rows hold the week and nothing finer: not the Slack user
ID, not the team or round (a person answers one check-in a week, ``checkin:<week>``), not the
click time, and nothing that points at the :class:`Delivery` that names the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.prompts import Prompt, PromptBank, default_bank
from bot.core.rotation import checkin_delivery
from bot.runtime import Runtime
from bot.storage.models import CheckinRound, Delivery, DeliveryKind, DeliveryStatus, Note, Response

__all__ = [
    "CLOSED",
    "NOTE_MAX",
    "AnswerError",
    "CheckinClosed",
    "CheckinState",
    "checkin_state",
    "context_for",
    "current_answers",
    "given_answers",
    "is_closed",
    "note_row",
    "pseudonym_of",
    "record_answer",
    "record_note",
    "response_row",
    "upsert",
]

NOTE_MAX = 3000
CLOSED = "This check-in has closed: answers can no longer change."


class AnswerError(ValueError):
    """An answer that cannot be recorded; ``message`` is written for the rep."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CheckinClosed(AnswerError):
    """The check-in expired: its message should now show the closed state."""

    def __init__(self, message: str = CLOSED) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class CheckinState:
    """What the rep's check-in DM shows: the round, their answers and note, open or closed."""

    round: CheckinRound
    answers: dict[str, str]
    note: Note | None
    closed: bool
    channel_id: str | None
    message_ts: str | None


def context_for(period_start: date) -> str:
    """The ``context`` of a person's check-in answers of a week: ``"checkin:<week>"`` (one a
    week, whichever team's round asked; the round would name the team)."""
    return f"checkin:{period_start.isoformat()}"


def is_closed(delivery: Delivery, now: datetime) -> bool:
    """Whether answers to this delivery can no longer change."""
    if delivery.status == DeliveryStatus.EXPIRED:
        return True
    return delivery.expires_at is not None and delivery.expires_at <= now


def pseudonym_of(runtime: Runtime, workspace_id: str, user_id: str, period_start: date) -> str:
    """The keyed pseudonym the user's answers of that week are stored under."""
    return runtime.pseudonyms.weekly(workspace_id, user_id, period_start)


def response_row(
    bank: PromptBank,
    workspace_id: str,
    who: str,
    period_start: date,
    context: str,
    prompt: Prompt,
    value: str,
    moment: str | None = None,
) -> dict[str, Any]:
    """The :class:`Response` columns of one answer (a check-in's, or with its ``moment`` a
    nudge's): its week and kind, nothing finer. ``who`` is :func:`pseudonym_of` the week."""
    return {
        "workspace_id": workspace_id,
        "period_start": period_start,
        "context": context,
        "moment": moment,
        "pseudonym": who,
        "prompt_id": prompt.id,
        "dimension": prompt.dimension.value,
        "value": value,
        "score": bank.score(prompt, value),  # behaviour only: never a situation or decision
    }


def note_row(
    workspace_id: str, who: str, period_start: date, context: str, text: str, shared: bool
) -> dict[str, Any]:
    """The :class:`Note` columns of a check-in's note (``shared``: the digest may quote it)."""
    return {
        "workspace_id": workspace_id,
        "period_start": period_start,
        "context": context,
        "pseudonym": who,
        "text": text,
        "shared": bool(shared),
    }


async def _round_and_delivery(
    session: AsyncSession, workspace_id: str, user_id: str, round_id: int
) -> tuple[CheckinRound, Delivery]:
    rnd = await session.get(CheckinRound, round_id)
    if rnd is None or rnd.workspace_id != workspace_id:
        raise AnswerError("This check-in no longer exists.")
    delivery = (await session.exec(checkin_delivery(workspace_id, round_id, user_id))).first()
    if delivery is None:
        forgotten = (
            await session.exec(
                select(Delivery.id).where(
                    Delivery.round_id == round_id,
                    Delivery.kind == DeliveryKind.CHECKIN,
                    col(Delivery.user_id).is_(None),
                )
            )
        ).first()
        if forgotten is not None:  # closed rows forget their person: it may have been theirs
            raise CheckinClosed()
        raise AnswerError("This check-in was not sent to you, so it cannot take your answers.")
    return rnd, delivery


async def _open_round(
    session: AsyncSession, runtime: Runtime, workspace_id: str, user_id: str, round_id: int
) -> CheckinRound:
    rnd, delivery = await _round_and_delivery(session, workspace_id, user_id, round_id)
    if is_closed(delivery, runtime.clock.now()):
        raise CheckinClosed()
    return rnd


def upsert(dialect: str, model: Any, values: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE``: atomic on SQLite and PostgreSQL alike."""
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(model.__table__)
    elif dialect == "sqlite":
        stmt = sqlite.insert(model.__table__)
    else:  # pragma: no cover - Database refuses other backends
        raise RuntimeError(f"no upsert for {dialect!r}")
    stmt = stmt.values(**values)
    changes = {name: stmt.excluded[name] for name in values if name not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)


async def given_answers(session: AsyncSession, context: str, who: str) -> dict[str, str]:
    """``{prompt_id: value}`` of the answers ``who`` gave in ``context`` (a round or a nudge)."""
    rows = await session.exec(
        select(Response.prompt_id, Response.value).where(
            Response.context == context, Response.pseudonym == who
        )
    )
    return {prompt_id: value for prompt_id, value in rows.all()}


async def _note(session: AsyncSession, context: str, who: str) -> Note | None:
    return (
        await session.exec(select(Note).where(Note.context == context, Note.pseudonym == who))
    ).first()


async def record_answer(
    runtime: Runtime,
    workspace_id: str,
    user_id: str,
    round_id: int,
    prompt_id: str,
    raw_value: str,
) -> dict[str, str]:
    """Record (or change) the user's answer to one prompt; their answers to the round after.

    Raises :class:`AnswerError` (:class:`CheckinClosed` once expired) for anything wrong.
    """
    bank = default_bank()
    async with runtime.db.session() as session:
        rnd = await _open_round(session, runtime, workspace_id, user_id, round_id)
        who = pseudonym_of(runtime, workspace_id, user_id, rnd.period_start)
        context = context_for(rnd.period_start)
        if prompt_id not in rnd.prompt_ids or not bank.has_prompt(prompt_id):
            raise AnswerError("That question is not part of this check-in.")
        prompt = bank.prompt(prompt_id)
        if prompt.kind == "text":
            raise AnswerError("That question takes a note: use the note button.")
        value = raw_value.strip() if isinstance(raw_value, str) else ""
        if value not in {option.value for option in prompt.answer.choices()}:
            raise AnswerError("That is not one of the answers to this question.")
        values = response_row(bank, workspace_id, who, rnd.period_start, context, prompt, value)
        keys = ("context", "pseudonym", "prompt_id")
        await session.exec(upsert(runtime.db.dialect, Response, values, keys))
        return await given_answers(session, context, who)


async def record_note(
    runtime: Runtime,
    workspace_id: str,
    user_id: str,
    round_id: int,
    text: str,
    shared: bool,
) -> Note:
    """Write (or rewrite) the user's note to the round; ``shared`` lets the digest quote it."""
    body = text.strip() if isinstance(text, str) else ""
    if not body:
        raise AnswerError("The note is empty: write something, or close the window.")
    if len(body) > NOTE_MAX:
        raise AnswerError(f"The note is {len(body)} characters; at most {NOTE_MAX} fit.")
    bank = default_bank()
    async with runtime.db.session() as session:
        rnd = await _open_round(session, runtime, workspace_id, user_id, round_id)
        who = pseudonym_of(runtime, workspace_id, user_id, rnd.period_start)
        context = context_for(rnd.period_start)
        if not any(bank.has_prompt(p) and bank.prompt(p).kind == "text" for p in rnd.prompt_ids):
            raise AnswerError("This check-in does not ask for a note.")
        values = note_row(workspace_id, who, rnd.period_start, context, body, shared)
        await session.exec(upsert(runtime.db.dialect, Note, values, ("context", "pseudonym")))
        note = await _note(session, context, who)
    assert note is not None
    return note


async def current_answers(
    runtime: Runtime, workspace_id: str, user_id: str, round_id: int
) -> tuple[dict[str, str], Note | None]:
    """The user's answers to the round's week (``{prompt_id: value}``) and their note."""
    async with runtime.db.session() as session:
        rnd = await session.get(CheckinRound, round_id)
        if rnd is None or rnd.workspace_id != workspace_id:
            raise AnswerError("This check-in no longer exists.")
        who = pseudonym_of(runtime, workspace_id, user_id, rnd.period_start)
        context = context_for(rnd.period_start)
        return await given_answers(session, context, who), await _note(session, context, who)


async def checkin_state(
    runtime: Runtime, workspace_id: str, user_id: str, round_id: int
) -> CheckinState:
    """Everything the user's check-in DM shows, and where it was posted.

    Raises :class:`AnswerError` if the round is unknown or was not sent to the user.
    """
    async with runtime.db.session() as session:
        rnd, delivery = await _round_and_delivery(session, workspace_id, user_id, round_id)
        who = pseudonym_of(runtime, workspace_id, user_id, rnd.period_start)
        context = context_for(rnd.period_start)
        answers = await given_answers(session, context, who)
        note = await _note(session, context, who)
    return CheckinState(
        round=rnd,
        answers=answers,
        note=note,
        closed=is_closed(delivery, runtime.clock.now()),
        channel_id=delivery.channel_id,
        message_ts=delivery.message_ts,
    )
