"""The deal nudge DM as a conversation: redraw it from what is stored after a click."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import answers, nudges
from bot.core.deals import follow_through
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.slack.kit.nudge import nudge_message

log = logging.getLogger(__name__)


async def refresh_nudge(
    runtime: Runtime,
    client: AsyncWebClient,
    workspace_id: str,
    user_id: str,
    delivery_id: int,
) -> None:
    """Redraw the user's nudge DM (open or closed) from what is stored now, where the outbox
    posted it: never where a click says it came from."""
    bank = default_bank()
    try:
        state = await nudges.nudge_state(runtime, workspace_id, user_id, delivery_id, bank)
    except answers.AnswerError:
        return
    channel, ts = state.channel_id, state.message_ts
    if not channel or not ts:
        return
    try:
        offers = follow_through.offers_for(state)
        await client.chat_update(channel=channel, ts=ts, **nudge_message(bank, state, offers))
    except SlackApiError as error:
        log.warning("could not update nudge %s: %s", delivery_id, error.response.get("error"))
