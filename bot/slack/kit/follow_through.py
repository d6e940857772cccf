"""Block Kit for a nudge's follow-through: its buttons, the form for the rep's words, and what
the bot posts on the rep's behalf (the rep's words always inert, quoted as they wrote them)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bot.core.deals.follow_through import LABELS, WORDS_MAX, Action, FollowThrough
from bot.slack.kit.blocks import Block, button, context, inert, message, plain, quote, section

FOLLOW_ACTION = "nudge.follow"
"""Action ids ``nudge.follow:<action>``; the value is the nudge's delivery id."""
WORDS_CALLBACK = "nudge.follow.words"
WORDS_BLOCK, WORDS_INPUT = "words", "words_input"

_ASK: Final = {
    Action.COMMITMENT: (
        "Flag a commitment",
        "What have I promised, or implied, that delivery must honour?",
        "e.g. go-live by 1 March with the two integrations they rely on",
    ),
    Action.HANDOVER: (
        "Hand over the deal",
        "What did I promise the client that delivery must now keep?",
        "One commitment a line: dates, scope, people, service levels",
    ),
}


def follow_block(delivery_id: int, offers: Sequence[Action]) -> list[Block]:
    """The nudge's follow-through buttons (none when it offers none)."""
    if not offers:
        return []
    buttons = [
        button(f"{FOLLOW_ACTION}:{action.value}", LABELS[action], value=str(delivery_id))
        for action in offers
    ]
    return [
        context("Want to act on it? Optional, and only if you choose:", block_id="follow_hint"),
        {"type": "actions", "block_id": "follow", "elements": buttons},
    ]


def parse_follow(action: object) -> tuple[int, str]:
    """``(delivery id, action)`` of a follow-through click; ``ValueError`` if unreadable."""
    if not isinstance(action, Mapping):
        raise ValueError("not a follow-through click")
    action_id, value = str(action.get("action_id", "")), str(action.get("value", ""))
    prefix = FOLLOW_ACTION + ":"
    if not action_id.startswith(prefix) or not value.isdecimal() or len(value) > 18:
        raise ValueError("not a follow-through click")
    return int(value), action_id[len(prefix) :]


def words_modal(action: Action, delivery_id: int, deal_name: str) -> dict[str, Any]:
    """The form asking the rep for the words the bot will post."""
    title, label, placeholder = _ASK[action]
    return {
        "type": "modal",
        "callback_id": WORDS_CALLBACK,
        "private_metadata": json.dumps({"d": delivery_id, "a": action.value}),
        "title": plain(title, 24),
        "submit": plain("Post", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(f"About *{inert(deal_name)}*. Posted as you write it, with your name."),
            {
                "type": "input",
                "block_id": WORDS_BLOCK,
                "label": plain(label, 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": WORDS_INPUT,
                    "multiline": True,
                    "max_length": WORDS_MAX,
                    "placeholder": plain(placeholder, 150),
                },
            },
        ],
    }


def words_submission(view: Mapping[str, Any]) -> tuple[int, str, str]:
    """``(delivery id, action, words)`` of a submitted form; ``ValueError`` if unreadable."""
    try:
        meta = json.loads(str(view.get("private_metadata") or ""))
        delivery_id, action = int(meta["d"]), str(meta["a"])
        values = (view.get("state") or {}).get("values") or {}
        typed = ((values.get(WORDS_BLOCK) or {}).get(WORDS_INPUT) or {}).get("value")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("not a follow-through form") from None
    return delivery_id, action, typed if isinstance(typed, str) else ""


def commitment_post(plan: FollowThrough) -> dict[str, Any]:
    """What the delivery channel gets: the rep's words, quoted, and why it is there."""
    deal = f"*{inert(plan.deal_name)}*"
    if plan.action is Action.HANDOVER:
        head = f":handshake: *Handover:* {deal} is won. What <@{plan.user_id}> promised the client:"
        why = (
            "Everything here was promised in the sale. If delivery can't keep any of it, "
            "say so in the thread."
        )
    else:
        head = f":pushpin: *Commitment to check* on {deal}, flagged by <@{plan.user_id}>:"
        why = (
            "What sales promises, delivery must be able to keep. If this can't be honoured "
            "as written, please say so in the thread, before the contract."
        )
    body = quote(plan.words or "", WORDS_MAX)
    fallback = (
        f"{'Handover' if plan.action is Action.HANDOVER else 'Commitment'}: {inert(plan.deal_name)}"
    )
    return message(
        fallback,
        [
            section(head),
            section(body),
            context(why + " (Posted by Trustbot at the rep's request.)"),
        ],
    )


def reference_draft(plan: FollowThrough) -> dict[str, Any]:
    """A draft ask for the rep to adapt and send themselves (DM to the rep)."""
    deal = f"*{inert(plan.deal_name)}*"
    draft = (
        "> “I'm glad we got here together. Once you've seen the difference it makes, would you "
        "be willing to tell a peer about your experience, or introduce me to someone who faces "
        "the same problem? And if there's anyone I can introduce you to, just ask.”"
    )
    body = (
        f":speech_balloon: A reference ask for {deal}, to adapt and send when the value is real "
        "to them:\n" + draft
    )
    tip = (
        "A client who trusts you is often happy to act as a reference. Ask once they've seen "
        "the value, and offer something back: an introduction that helps them."
    )
    return message(f"A reference ask for {inert(plan.deal_name)}", [section(body), context(tip)])


def qualify_out_note(plan: FollowThrough) -> dict[str, Any]:
    """The note a manager gets, in the rep's first person."""
    deal = f"*{inert(plan.deal_name)}*"
    body = (
        f"From <@{plan.user_id}>: I've qualified out of {deal}. After asking myself whether I "
        "like them, whether they focus on value or only on price, and whether it's worth the "
        "time, I don't think it is worth investing in. I'd rather put my time where I can "
        "help. Happy to talk it through."
    )
    why = "Sent by Trustbot at the rep's request. Qualifying out is a good decision, not a failure."
    return message(f"Qualified out: {inert(plan.deal_name)}", [section(body), context(why)])
