"""The periodic sweep over sent check-ins: one reminder, then closing them at expiry."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import checkins
from bot.runtime import Runtime
from bot.slack.checkin_blocks import reminder_message
from bot.slack.checkin_dm import refresh_checkin
from bot.storage.models import CheckinRound

log = logging.getLogger(__name__)


async def sweep(runtime: Runtime, client: AsyncWebClient) -> tuple[int, int]:
    """Send due reminders and close expired check-ins; returns (reminded, closed)."""
    reminded = 0
    for delivery in await checkins.claim_reminders(runtime):
        async with runtime.db.session() as session:
            rnd = await session.get(CheckinRound, delivery.round_id)
        if rnd is None:
            continue
        try:
            await client.chat_postMessage(
                channel=delivery.channel_id or delivery.user_id, **reminder_message(rnd)
            )
            reminded += 1
        except SlackApiError as error:  # at most one reminder: a failed one is not retried
            log.warning("reminder %s not sent: %s", delivery.id, error.response.get("error"))
    closed = 0
    for delivery in await checkins.claim_expiries(runtime):
        assert delivery.round_id is not None
        await refresh_checkin(
            runtime, client, delivery.workspace_id, delivery.user_id, delivery.round_id
        )
        closed += 1
    return reminded, closed
