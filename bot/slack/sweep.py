"""The periodic sweep over sent DMs: one reminder for a check-in, then closing check-ins and
nudges at expiry; a closed DM then forgets whom it was sent to."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.core import checkins, outbox
from bot.core.answers import AnswerError
from bot.runtime import Runtime
from bot.slack.checkin_dm import refresh_checkin
from bot.slack.client import ClientSource, client_for
from bot.slack.kit.checkin import reminder_message
from bot.slack.manager_dm import refresh_manager_checkin
from bot.slack.nudge_dm import refresh_nudge
from bot.storage.models import CheckinRound, DeliveryKind

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
                channel=delivery.channel_id or delivery.recipient, **reminder_message(rnd)
            )
            reminded += 1
        except SlackApiError as error:  # at most one reminder: a failed one is not retried
            log.warning("reminder %s not sent: %s", delivery.id, error.response.get("error"))
    closed = 0
    expired = await checkins.claim_expiries(runtime)
    for delivery in expired:
        client = await client_for(clients, delivery.workspace_id)
        if client is None:
            continue
        try:  # the DM shows it closed (and the rep's own answers, to them only)
            if delivery.kind == DeliveryKind.CHECKIN:
                assert delivery.round_id is not None
                await refresh_checkin(
                    runtime, client, delivery.workspace_id, delivery.recipient, delivery.round_id
                )
            elif delivery.kind == DeliveryKind.MANAGER and delivery.id is not None:
                await refresh_manager_checkin(
                    runtime, client, delivery.workspace_id, delivery.recipient, delivery.id
                )
            elif delivery.kind == DeliveryKind.NUDGE and delivery.id is not None:
                await refresh_nudge(
                    runtime, client, delivery.workspace_id, delivery.recipient, delivery.id
                )
        except (SlackApiError, AnswerError) as error:
            log.warning("delivery %s not redrawn closed: %s", delivery.id, error)
        closed += 1
    # then nothing of a closed DM points at its person any more
    await outbox.forget_recipients(runtime.db, [d.id for d in expired if d.id is not None])
    return reminded, closed
