"""Block Kit builders: plain dicts that stay within Slack's limits."""

from __future__ import annotations

from typing import Any

from bot.core.trust.commands import Reply
from bot.core.trust.grammar import CommandError
from bot.core.trust.registry import COMMANDS

Block = dict[str, Any]


def mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def message(text: str, blocks: list[Block]) -> dict[str, Any]:
    """Keyword arguments for ``ack``/``respond``/``chat_postMessage``: fallback text plus blocks."""
    return {"text": text, "blocks": blocks}


def help_message() -> dict[str, Any]:
    """Every ``/trust`` subcommand with what it does; admin ones marked."""
    mine = [f"`{c.usage}` — {c.summary}" for c in COMMANDS if not c.admin]
    admin = [f"`{c.usage}` — {c.summary}" for c in COMMANDS if c.admin]
    blocks = [
        header("Trustbot"),
        mrkdwn(
            "Short reflective check-ins and deal nudges that help us earn our clients' trust, "
            "and an *anonymised* weekly picture of the team's trust culture."
        ),
        mrkdwn("*About you*\n" + "\n".join(mine)),
        mrkdwn("*For admins*\n" + "\n".join(admin)),
        context("Your answers are stored under a pseudonym. Managers only ever see team figures."),
    ]
    return message("Trustbot commands: /trust help", blocks)


def error_message(error: CommandError) -> dict[str, Any]:
    """What was wrong, and the right form when there is one."""
    text = f":warning: {error.message}"
    blocks = [mrkdwn(text)]
    if error.usage:
        blocks.append(
            mrkdwn("Use:\n" + "\n".join(f"`{line}`" for line in error.usage.splitlines()))
        )
    return message(text, blocks)


def notice(text: str) -> dict[str, Any]:
    return message(text, [mrkdwn(text)])


def reply(result: Reply) -> dict[str, Any]:
    """A command's outcome; a refusal looks like a parse error, with the right form."""
    if not result.ok:
        return error_message(CommandError(result.text, result.usage))
    return message(result.text[:3000], [mrkdwn(chunk) for chunk in _chunks(result.text)])


def _chunks(text: str, size: int = 2900) -> list[str]:
    """Split long text on line breaks into section-sized pieces (at most 45 of them)."""
    chunks: list[str] = []
    for line in text.splitlines():
        if chunks and len(chunks[-1]) + len(line) + 1 <= size:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:size])
    return chunks[:45] or [" "]
