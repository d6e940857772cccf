"""The answers to ``/trust``: help, a command's reply, and what was wrong with a bad one."""

from __future__ import annotations

from typing import Any

from bot.core.trust.commands import Reply
from bot.core.trust.grammar import CommandError
from bot.core.trust.registry import COMMANDS
from bot.slack.kit.blocks import context, header, message, section


def help_message() -> dict[str, Any]:
    """Every ``/trust`` subcommand with what it does; admin ones marked."""
    mine = [f"`{c.usage}` — {c.summary}" for c in COMMANDS if not c.admin]
    admin = [f"`{c.usage}` — {c.summary}" for c in COMMANDS if c.admin]
    blocks = [
        header("Trustbot"),
        section(
            "Short reflective check-ins and deal nudges that help us earn our clients' trust, "
            "and an *anonymised* weekly picture of the team's trust culture."
        ),
        section("*About you*\n" + "\n".join(mine)),
        section("*For admins*\n" + "\n".join(admin)),
        context("Your answers are stored under a pseudonym. Managers only ever see team figures."),
    ]
    return message("Trustbot commands: /trust help", blocks)


def error_message(error: CommandError) -> dict[str, Any]:
    """What was wrong, and the right form when there is one."""
    text = f":warning: {error.message}"
    blocks = [section(text)]
    if error.usage:
        blocks.append(
            section("Use:\n" + "\n".join(f"`{line}`" for line in error.usage.splitlines()))
        )
    return message(text, blocks)


def reply(result: Reply) -> dict[str, Any]:
    """A command's outcome; a refusal looks like a parse error, with the right form."""
    if not result.ok:
        return error_message(CommandError(result.text, result.usage))
    return message(result.text[:3000], [section(chunk) for chunk in _chunks(result.text)])


def _chunks(text: str, size: int = 2900) -> list[str]:
    """Split long text on line breaks into section-sized pieces (at most 45 of them)."""
    chunks: list[str] = []
    for line in text.splitlines():
        if chunks and len(chunks[-1]) + len(line) + 1 <= size:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:size])
    return chunks[:45] or [" "]
