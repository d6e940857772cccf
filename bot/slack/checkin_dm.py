"""The check-in DM as a conversation: redraw it from what is stored, tell the rep what
went wrong where they clicked."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import answers, rotation
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.slack.kit.blocks import notice
from bot.slack.kit.checkin import checkin_message, checkin_tip

log = logging.getLogger(__name__)


def clicked_in(body: dict[str, Any]) -> str | None:
    """The channel a block action says it came from, when it names one: where to answer the
    user privately (:func:`tell`), never what to redraw."""
    container = body.get("container") or {}
    return _text(container.get("channel_id") or (body.get("channel") or {}).get("id"))


def _text(value: object) -> str | None:
    """Only a string is passed on to Slack as an id (a forged payload may hold anything)."""
    return value if isinstance(value, str) and value else None


async def tell(client: AsyncWebClient, channel: str | None, user_id: str, text: str) -> None:
    """An ephemeral note to the user where they clicked, or in their DM with the app when
    they cannot see that channel (a forged or replayed click from someone else's DM)."""
    where = [channel, user_id] if channel and channel != user_id else [user_id]
    for place in where:
        try:
            await client.chat_postEphemeral(
                channel=place, user=user_id, **notice(f":warning: {text}")
            )
            return
        except SlackApiError as error:
            log.warning("could not tell %s in %s: %s", user_id, place, error.response.get("error"))


async def refresh_checkin(
    runtime: Runtime,
    client: AsyncWebClient,
    workspace_id: str,
    user_id: str,
    round_id: int,
) -> None:
    """Redraw the user's check-in DM (open or closed) from what is stored now, where the
    outbox posted it: never where a click says it came from (a forged click could name
    another rep's DM, which the bot may edit too)."""
    try:
        state = await answers.checkin_state(runtime, workspace_id, user_id, round_id)
    except answers.AnswerError:
        return
    channel, ts = state.channel_id, state.message_ts
    if not channel or not ts:
        return
    bank = default_bank()
    message = checkin_message(
        bank,
        state.round,
        state.answers,
        state.note,
        state="closed" if state.closed else "open",
        tip=checkin_tip(bank, state.round),
        deal=await rotation.anchor_deal(runtime, workspace_id, user_id, round_id),
    )
    try:
        await client.chat_update(channel=channel, ts=ts, **message)
    except SlackApiError as error:
        log.warning("could not update check-in %s for %s: %s", round_id, user_id, error)
