"""``/trust``: parse, answer at once, then carry it out. Every command's grammar, rights and
handler are one entry of :mod:`bot.core.trust.registry`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.core.trust import registry
from bot.core.trust.commands import Caller, Reply
from bot.core.trust.grammar import CommandError
from bot.runtime import Runtime
from bot.slack import followups, timezones
from bot.slack.home_publish import publish_home
from bot.slack.kit.blocks import notice
from bot.slack.kit.replies import error_message, help_message
from bot.slack.middleware import AfterAck
from bot.slack.users import is_admin

log = logging.getLogger(__name__)

DATABASE_BUSY = (
    ":warning: Trustbot's database is busy or unreachable, so this command could not be "
    "completed. Please try again in a minute."
)


def register(app: AsyncApp, runtime: Runtime, after_ack: AfterAck) -> None:
    @app.command("/trust")
    @after_ack
    async def trust(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        try:
            cmd = registry.parse(str(command.get("text") or ""))
        except CommandError as error:
            await ack(**error_message(error))
            return
        if cmd.name == "help":
            await ack(**help_message())
            return
        await ack()
        spec = registry.spec(cmd)
        team_id, user_id = command["team_id"], command["user_id"]
        try:
            admin = spec.admin and await is_admin(runtime, client, team_id, user_id)
            caller = Caller(workspace_id=team_id, user_id=user_id, is_admin=admin)
            outcome = await registry.execute(runtime, caller, cmd)
            if isinstance(outcome, Reply) and outcome.learn_timezones:
                await timezones.learn(runtime, client, team_id, list(outcome.learn_timezones))
            answer = await followups.answer(runtime, client, command, outcome)
        except (OperationalError, InterfaceError):  # acked already: say so, never go silent
            log.exception("/trust %s: database unavailable", cmd.name)
            answer = notice(DATABASE_BUSY)
            outcome = None
        if answer is None:  # a modal opened instead
            return
        await respond(response_type="ephemeral", replace_original=False, **answer)
        if spec.refreshes_home and isinstance(outcome, Reply) and outcome.ok:
            await publish_home(runtime, client, team_id, user_id)
