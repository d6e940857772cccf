"""The periodic sweep over sent check-ins: one reminder, then closing them at expiry."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.core import checkins
from bot.runtime import Runtime
from bot.slack.checkin_dm import refresh_checkin
from bot.slack.client import ClientSource, client_for
from bot.slack.kit.checkin import reminder_message
from bot.storage.models import CheckinRound

log = logging.getLogger(__name__)


async def sweep(runtime: Runtime, clients: ClientSource) -> tuple[int, int]:
    """Send due reminders and close expired check-ins, each with its workspace's client (a
    workspace that uninstalled the app is skipped); returns (reminded, closed)."""
    reminded = 0
    for delivery in await checkins.claim_reminders(runtime):
        async with runtime.db.session() as session:
            rnd = await session.get(CheckinRound, delivery.round_id)
        client = await client_for(clients, delivery.workspace_id)
        if rnd is None or client is None:
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
        client = await client_for(clients, delivery.workspace_id)
        if client is None:
            continue
        await refresh_checkin(
            runtime, client, delivery.workspace_id, delivery.user_id, delivery.round_id
        )
        closed += 1
    return reminded, closed
