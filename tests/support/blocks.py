"""Block Kit payloads to start from: a section, a button, an option, the note modal."""

from __future__ import annotations

from typing import Any


def section(text: str = "hi") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Yes", value: str = "1", action_id: str = "a") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "value": value,
        "action_id": action_id,
    }


def option(text: str = "One", value: str = "1") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def modal(**overrides: Any) -> dict[str, Any]:
    """A note modal (an input and a checkbox), with ``overrides`` of its top-level fields."""
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "note",
        "title": {"type": "plain_text", "text": "Add a note"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
            },
            {
                "type": "input",
                "block_id": "share",
                "optional": True,
                "label": {"type": "plain_text", "text": "Sharing"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "anon",
                    "options": [option("Share anonymously", "yes")],
                },
            },
        ],
    }
    view.update(overrides)
    return view
