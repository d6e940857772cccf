"""The manager's check-in DM as a conversation: redraw it from what is stored after a click."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import answers, manager_checkin
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.slack.kit.manager_checkin import manager_message

log = logging.getLogger(__name__)


async def refresh_manager_checkin(
    runtime: Runtime, client: AsyncWebClient, workspace_id: str, user_id: str, delivery_id: int
) -> None:
    """Redraw the manager's check-in (open or closed) from what is stored now, where the
    outbox posted it: never where a click says it came from."""
    try:
        state = await manager_checkin.manager_state(runtime, workspace_id, user_id, delivery_id)
    except answers.AnswerError:
        return
    if not state.channel_id or not state.message_ts:
        return
    message = manager_message(default_bank(), state)
    try:
        await client.chat_update(channel=state.channel_id, ts=state.message_ts, **message)
    except SlackApiError as error:
        log.warning("could not update manager check-in %s: %s", delivery_id, error)
