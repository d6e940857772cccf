"""One-click follow-through from a deal nudge: each optional, only by the rep's choice.

After reflecting, a rep can act on it from the nudge itself:

- **flag a commitment** to the team's delivery channel (seed 002: commitments are made with
  the knowledge and acceptance of the people who deliver them), in the rep's own words,
  posted by the bot; offered from proposal to contract and on renewals;
- **hand over** a won deal: the list of what was promised, in the rep's words, to the same
  channel;
- **ask for a reference or an introduction** after a win (seed 000: a client who trusts you
  is happy to act as a reference, and introductions grow the network): a draft for the rep
  to adapt and send themselves;
- **tell my manager I qualified out** after seed 000's verdict was *stop*, or the deal was
  disqualified: a first-person note to the team's managers (a good decision, not a failure).

Nothing is sent unless the rep clicks, and only from their own open nudge of a moment that
offers it (:func:`check`): a click on another rep's nudge, an unknown one, a closed one, or an
action the nudge does not offer is refused with the reason, and nothing is posted.
Plain Python: the Slack layer (:mod:`bot.slack.follow_through`) renders and posts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from sqlmodel import col, select

from bot.core import answers, nudges, verdicts
from bot.core.prompts import MomentKey, default_bank
from bot.core.teams import MANAGER
from bot.core.untrusted import invisible
from bot.runtime import Runtime
from bot.storage.models import Member


class Action(enum.StrEnum):
    COMMITMENT = "commitment"
    HANDOVER = "handover"
    REFERENCE = "reference"
    QUALIFY_OUT = "qualify_out"


LABELS: Final = {
    Action.COMMITMENT: "Flag a commitment to delivery",
    Action.HANDOVER: "Hand over to delivery",
    Action.REFERENCE: "Draft a reference ask",
    Action.QUALIFY_OUT: "Tell my manager I qualified out",
}
NEEDS_WORDS: Final = frozenset({Action.COMMITMENT, Action.HANDOVER})
"""The actions that post the rep's own words (asked for in a form first)."""
NEEDS_CHANNEL: Final = NEEDS_WORDS
WORDS_MAX: Final = 1000

_COMMITTING: Final = frozenset(
    {
        MomentKey.PROPOSAL,
        MomentKey.NEGOTIATION,
        MomentKey.TOWARD_CONTRACT,
        MomentKey.RENEWAL_OR_EXPANSION,
        MomentKey.AMOUNT_UP,
    }
)

NOT_OFFERED = "This nudge does not offer that: nothing was sent."
NO_CHANNEL = (
    "Your team has no delivery channel yet, so there is nowhere to post this. "
    "Ask an admin: `/trust delivery <team> <#channel>`."
)
NO_MANAGER = "Your team has no manager in Trustbot, so there is nobody to tell."


class FollowError(answers.AnswerError):
    """A follow-through that cannot be done: the message says why; nothing was sent."""


@dataclass(frozen=True)
class FollowThrough:
    """A checked follow-through, for the Slack layer to carry out."""

    action: Action
    user_id: str
    deal_name: str
    delivery_id: int
    delivery_channel: str | None  # commitment, handover
    managers: tuple[str, ...]  # qualify-out
    words: str | None  # the rep's, for commitment and handover


def offered(moment: MomentKey, verdict: str | None, has_channel: bool) -> tuple[Action, ...]:
    """The follow-throughs a nudge of ``moment`` offers (``verdict``: seed 000's, once its
    questions are answered)."""
    found = []
    if moment in _COMMITTING and has_channel:
        found.append(Action.COMMITMENT)
    if moment is MomentKey.WON:
        found += [Action.HANDOVER] if has_channel else []
        found.append(Action.REFERENCE)
    if verdict == "stop" or moment is MomentKey.DISQUALIFIED:
        found.append(Action.QUALIFY_OUT)
    return tuple(found)


def check_words(words: str | None) -> str:
    """The rep's words, trimmed, or :class:`FollowError` saying what is wrong."""
    text = "".join(c for c in (words or "") if c in "\n\t" or not invisible(c)).strip()
    if not text:
        raise FollowError("Write what you promised first: nothing was sent.")
    if len(text) > WORDS_MAX:
        raise FollowError(f"Keep it under {WORDS_MAX} characters: nothing was sent.")
    return text


async def _managers(runtime: Runtime, workspace_id: str, team_id: int) -> tuple[str, ...]:
    async with runtime.db.session() as session:
        found = (
            await session.exec(
                select(Member.user_id)
                .where(
                    Member.workspace_id == workspace_id,
                    Member.team_id == team_id,
                    Member.role == MANAGER,
                )
                .order_by(col(Member.user_id))
            )
        ).all()
    return tuple(found)


async def check(
    runtime: Runtime,
    workspace_id: str,
    user_id: str,
    delivery_id: int,
    action: Action | str,
    words: str | None = None,
) -> FollowThrough:
    """What a rep's click asks for, once it is known to be theirs to ask: their own open
    nudge (:class:`~bot.core.answers.AnswerError` otherwise), a moment that offers ``action``
    and, for the actions that need them, a delivery channel or a manager, and the rep's words
    when given (:class:`FollowError`; ``words=None`` checks the click before asking for them)."""
    try:
        wanted = Action(action)
    except ValueError:
        raise FollowError(NOT_OFFERED) from None
    bank = default_bank()
    state = await nudges.nudge_state(runtime, workspace_id, user_id, delivery_id, bank)
    if state.closed:
        raise nudges.NudgeClosed()
    content = state.content
    channel = content.delivery_channel
    decided = verdicts.decide(content.rule, state.answers, bank)
    offers = offered(content.moment, decided.name if decided else None, channel is not None)
    if wanted not in offers:
        if wanted in NEEDS_CHANNEL and channel is None:
            raise FollowError(NO_CHANNEL)
        raise FollowError(NOT_OFFERED)
    managers: tuple[str, ...] = ()
    if wanted is Action.QUALIFY_OUT:
        found = (
            ()
            if content.team_id is None
            else await _managers(runtime, workspace_id, content.team_id)
        )
        managers = tuple(m for m in found if m != user_id)
        if not managers:
            raise FollowError(NO_MANAGER)
    return FollowThrough(
        action=wanted,
        user_id=user_id,
        deal_name=content.deal_name or content.deal_id,
        delivery_id=delivery_id,
        delivery_channel=channel,
        managers=managers,
        words=check_words(words) if wanted in NEEDS_WORDS and words is not None else None,
    )


def offers_for(state: nudges.NudgeState) -> tuple[Action, ...]:
    """The follow-throughs to show on an open nudge (nothing to read: the nudge's content
    carries its team's delivery channel)."""
    if state.closed:
        return ()
    content = state.content
    decided = verdicts.decide(content.rule, state.answers)
    return offered(
        content.moment, decided.name if decided else None, content.delivery_channel is not None
    )
