"""What the outbox posts for a row: the check-in, the manager's check-in, the team summary or
the deal nudge DM (or nothing, with the reason)."""

from __future__ import annotations

from typing import Any

from bot.core import answers, digests, manager_checkin, nudges, rotation
from bot.core.deals import follow_through
from bot.core.deals.superseding import superseded_by
from bot.core.outbox import Skip
from bot.core.prompts import default_bank
from bot.core.recipients import Hold, decide
from bot.runtime import Runtime
from bot.slack.kit.checkin import checkin_message, checkin_tip
from bot.slack.kit.digest import digest_message
from bot.slack.kit.manager_checkin import manager_message
from bot.slack.kit.nudge import nudge_message
from bot.slack.team_summary import team_summary_message
from bot.storage.models import Delivery, DeliveryKind, DeliveryStatus

DELIVERED_KINDS = tuple(DeliveryKind)
"""The kinds of outbox row the worker posts."""


async def compose(runtime: Runtime, delivery: Delivery) -> dict[str, Any] | Skip:
    decision = await decide(runtime, delivery)
    if isinstance(decision, Hold):
        return Skip(decision.reason)
    bank = default_bank()
    if delivery.kind == DeliveryKind.NUDGE:
        assert delivery.id is not None
        obsolete = await superseded_by(runtime, delivery)
        if obsolete is not None:  # the deal has left the state this nudge is about
            return Skip(obsolete, DeliveryStatus.SUPERSEDED)
        try:
            state = await nudges.nudge_state(
                runtime, delivery.workspace_id, delivery.recipient, delivery.id, bank
            )
        except answers.AnswerError as error:
            return Skip(error.message)
        return nudge_message(bank, state, follow_through.offers_for(state))
    if decision.round is None or decision.round.id is None:
        return Skip(f"nothing to send for a {delivery.kind}")
    if delivery.kind == DeliveryKind.MANAGER:
        assert delivery.id is not None
        try:
            mine = await manager_checkin.manager_state(
                runtime, delivery.workspace_id, delivery.recipient, delivery.id
            )
        except answers.AnswerError as error:
            return Skip(error.message)
        return manager_message(bank, mine)
    if delivery.kind == DeliveryKind.SUMMARY:
        return await team_summary_message(runtime, decision.round)
    if delivery.kind == DeliveryKind.DIGEST:
        found = await digests.summary_for(runtime, decision.round.id)
        if found is None:
            return Skip("the week's digest is not posted")
        team, figures = found
        return digest_message(figures, team_name=team.name, team_id=team.id)
    rnd = decision.round
    deal = await rotation.delivery_deal(runtime, delivery)  # the deal it asks about, if any
    return checkin_message(bank, rnd, {}, None, state="open", tip=checkin_tip(bank, rnd), deal=deal)
