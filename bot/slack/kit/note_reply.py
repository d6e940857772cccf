"""Block Kit for a manager's anonymous reply to a shared note: the digest's Reply button, the
modal, what the manager sees once it is sent (never who received it) and the DM its writer
gets (the note as the parent message, the reply in its thread)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.note_replies import REPLY_MAX, NoteTarget
from bot.slack.kit.blocks import Block, button, context, message, plain, quote, section

REPLY_ACTION = "note.reply"
REPLY_CALLBACK = "note.reply"
REPLY_BLOCK, REPLY_INPUT = "note_reply", "text"
NOTE_EXCERPT = 700


def reply_button(ref: str) -> Block:
    """The Reply button of one shared note (its value names the team, week and note's place,
    never a person)."""
    return button(REPLY_ACTION, "Reply", value=ref)


def reply_modal(ref: str, note: NoteTarget) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": REPLY_CALLBACK,
        "private_metadata": ref,
        "title": plain("Reply to a note", 24),
        "submit": plain("Send", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(quote(note.text, NOTE_EXCERPT)),
            {
                "type": "input",
                "block_id": REPLY_BLOCK,
                "label": plain("Your reply", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REPLY_INPUT,
                    "multiline": True,
                    "max_length": REPLY_MAX,
                },
                "hint": plain(
                    "Only the person who wrote the note reads it, in their DM with Trustbot. "
                    "You will not learn who that is, and they see it comes from a manager of "
                    "the team, not which one.",
                    2000,
                ),
            },
        ],
    }


def reply_submission(view: Mapping[str, Any]) -> tuple[str, str]:
    """``(ref, text)`` of a submitted reply modal (the text as typed, maybe empty)."""
    values = (view.get("state") or {}).get("values") or {}
    typed = ((values.get(REPLY_BLOCK) or {}).get(REPLY_INPUT) or {}).get("value")
    ref = view.get("private_metadata")
    return (ref if isinstance(ref, str) else ""), (typed if isinstance(typed, str) else "")


def sent_view() -> dict[str, Any]:
    """What the manager sees once the reply is on its way: nothing about its reader."""
    return {
        "type": "modal",
        "title": plain("Reply sent", 24),
        "close": plain("Done", 24),
        "blocks": [
            section(
                "Your reply is on its way to the person who wrote the note. You will not "
                "learn who that is."
            )
        ],
    }


def note_parent(note: NoteTarget) -> dict[str, Any]:
    """The writer's DM: the note they shared, the reply follows in its thread."""
    body = "A manager of your team replied to a note you shared anonymously:"
    return message(body, [section(body), section(quote(note.text, NOTE_EXCERPT))])


def reply_in_thread(text: str) -> dict[str, Any]:
    return message(
        "A manager's reply",
        [
            section(quote(text, REPLY_MAX - 10)),
            context(
                "Your manager does not know you wrote the note, and is not told you read this."
            ),
        ],
    )
