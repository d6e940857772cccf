"""The Block Kit builders every Trustbot message, modal and Home view is made of: plain dicts
that stay within Slack's limits (section text 3000 characters, button and option text 75).

Text typed by people (notes, CRM deal names, team names) goes through :func:`escape` before it
reaches mrkdwn, so it can neither mention anyone nor inject a link or formatting.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

SECTION_MAX = 3000
LABEL_MAX = 75  # button and option text


def escape(text: str) -> str:
    """mrkdwn-safe text: ``&``, ``<`` and ``>`` escaped (no mentions, links or commands)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int = LABEL_MAX) -> dict[str, Any]:
    """A ``plain_text`` object, cut to ``limit`` characters."""
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def text(body: str) -> dict[str, Any]:
    """A ``mrkdwn`` text object, cut to Slack's limit."""
    return {"type": "mrkdwn", "text": _fit(body)}


def section(body: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    """A section of mrkdwn; over 3000 characters it ends with an ellipsis."""
    block: Block = {"type": "section", "text": text(body)}
    if block_id is not None:
        block["block_id"] = block_id
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(*bodies: str, block_id: str | None = None) -> Block:
    """A context block: one small mrkdwn line per text."""
    block: Block = {"type": "context", "elements": [text(b) for b in bodies]}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def header(body: str) -> Block:
    return {"type": "header", "text": plain(body, 150)}


DIVIDER: Block = {"type": "divider"}


def button(
    action_id: str, label: str, *, value: str | None = None, style: str | None = None
) -> Block:
    found: Block = {"type": "button", "action_id": action_id, "text": plain(label)}
    if value is not None:
        found["value"] = value
    if style is not None:
        found["style"] = style
    return found


def quote(body: str, limit: int) -> str:
    """``body`` escaped as a mrkdwn block quote, cut to ``limit`` characters."""
    if len(body) > limit:
        body = body[: limit - 1].rstrip() + "…"
    return "\n".join(f"> {line}" if line else ">" for line in escape(body).splitlines() or [""])


def message(fallback: str, blocks: list[Block]) -> dict[str, Any]:
    """Keyword arguments for ``ack``/``respond``/``chat_postMessage``: fallback text plus blocks."""
    return {"text": fallback, "blocks": blocks}


def notice(body: str) -> dict[str, Any]:
    return message(body, [section(body)])


def _fit(body: str) -> str:
    return body if len(body) <= SECTION_MAX else body[: SECTION_MAX - 1] + "…"
