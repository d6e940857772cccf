"""``/trust``: parse, then answer. The grammar lives in :mod:`bot.commands`."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import CommandError, parse
from bot.runtime import Runtime
from bot.slack import blocks


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.command("/trust")
    async def trust(ack: AsyncAck, command: dict[str, Any]) -> None:
        try:
            cmd = parse(str(command.get("text") or ""))
        except CommandError as error:
            await ack(**blocks.error_message(error))
            return
        if cmd.name == "help":
            await ack(**blocks.help_message())
            return
        await ack(**blocks.notice(f"`/trust {cmd.name}` is understood but not available yet."))
