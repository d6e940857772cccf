"""``/trust``: parse, answer at once, then carry it out. The grammar is :mod:`bot.commands`,
the work :mod:`bot.trust_command`."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import admins
from bot.commands import CommandError, parse
from bot.runtime import Runtime
from bot.slack import blocks
from bot.slack.users import UserDirectory
from bot.trust_command import Caller, execute


def register(app: AsyncApp, runtime: Runtime) -> None:
    directory = UserDirectory()

    @app.command("/trust")
    async def trust(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        try:
            cmd = parse(str(command.get("text") or ""))
        except CommandError as error:
            await ack(**blocks.error_message(error))
            return
        if cmd.name == "help":
            await ack(**blocks.help_message())
            return
        await ack()
        team_id, user_id = command["team_id"], command["user_id"]
        user = await directory.get(client, team_id, user_id) if cmd.admin_only else None
        caller = Caller(
            workspace_id=team_id,
            user_id=user_id,
            is_admin=cmd.admin_only
            and await admins.is_admin(
                runtime.db,
                team_id,
                user_id,
                configured=runtime.settings.TRUSTBOT_ADMINS,
                workspace_admin=bool(user and user.workspace_admin),
            ),
        )
        reply = await execute(runtime, caller, cmd)
        await respond(response_type="ephemeral", replace_original=False, **blocks.reply(reply))
