"""The Block Kit builders every Trustbot message, modal and Home view is made of: plain dicts
that stay within Slack's limits (section text 3000 characters, button and option text 75).

Text from outside (notes, CRM deal names, team names, what someone typed) reaches Slack only
through :func:`inert`, or marked by the domain (:func:`bot.core.untrusted.mark`), which every
builder here renders inert. Every mrkdwn text object is ``verbatim``, so Slack turns no bare
URL or name into a link by itself.
"""

from __future__ import annotations

from typing import Any

from bot.core import untrusted

Block = dict[str, Any]

SECTION_MAX = 3000
LABEL_MAX = 75  # button and option text


def escape(text: str) -> str:
    """mrkdwn-safe text: ``&``, ``<`` and ``>`` escaped (no mentions, links or commands), as
    Slack's formatting reference asks; for our own words. Outside text takes :func:`inert`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inert(text: str, *, mrkdwn: bool = True) -> str:
    """Outside text made harmless for Slack: its invisible controls removed (bidi overrides
    and isolates among them: nothing can reorder what follows it on screen), every link
    broken (``https[:]//example[.]com``: Slack neither links nor unfurls it), and, for
    mrkdwn, ``&``, ``<`` and ``>`` escaped (no ``<https://…|links>``, ``<!channel>`` or
    ``<@U…>`` mentions). ``mrkdwn=False`` for plain_text objects, which show entities as
    written. Formatting characters (``*``, ``_``, ``~``, a backtick) stay: Slack's mrkdwn has
    no escape for them, and they can only style text, not link or mention."""
    disarmed = untrusted.defang(untrusted.visible(text))
    return escape(disarmed) if mrkdwn else disarmed


def render(body: str, *, mrkdwn: bool = True) -> str:
    """The domain's text with the outside text it marked made :func:`inert`."""
    if untrusted.OPEN not in body and untrusted.CLOSE not in body:
        return body
    return "".join(
        inert(piece, mrkdwn=mrkdwn) if marked else piece for piece, marked in untrusted.spans(body)
    )


def plain(text: str, limit: int = LABEL_MAX) -> dict[str, Any]:
    """A ``plain_text`` object, cut to ``limit`` characters."""
    return {"type": "plain_text", "text": render(text, mrkdwn=False)[:limit], "emoji": True}


def text(body: str) -> dict[str, Any]:
    """A ``mrkdwn`` text object, cut to Slack's limit; ``verbatim``: Slack adds no links."""
    return {"type": "mrkdwn", "text": _fit(render(body)), "verbatim": True}


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
    """Outside text (a note) made :func:`inert` as a mrkdwn block quote, cut to ``limit``
    characters."""
    body = untrusted.visible(body)
    if len(body) > limit:
        body = body[: limit - 1].rstrip() + "…"
    return "\n".join(f"> {line}" if line else ">" for line in inert(body).splitlines() or [""])


def message(fallback: str, blocks: list[Block]) -> dict[str, Any]:
    """Keyword arguments for ``ack``/``respond``/``chat_postMessage``: fallback text plus blocks."""
    return {"text": render(fallback), "blocks": blocks}


def notice(body: str) -> dict[str, Any]:
    return message(body, [section(body)])


def _fit(body: str) -> str:
    return body if len(body) <= SECTION_MAX else body[: SECTION_MAX - 1] + "…"
