"""What the outbox posts for a row: the check-in DM (or nothing, with the reason)."""

from __future__ import annotations

from typing import Any

from bot.compose import Hold, decide
from bot.outbox import Skip
from bot.prompts import default_bank
from bot.runtime import Runtime
from bot.slack.checkin_blocks import checkin_message, checkin_tip
from bot.storage.models import Delivery


async def compose(runtime: Runtime, delivery: Delivery) -> dict[str, Any] | Skip:
    decision = await decide(runtime, delivery)
    if isinstance(decision, Hold):
        return Skip(decision.reason)
    if decision.round is None:
        return Skip(f"nothing to send for a {delivery.kind}")
    bank = default_bank()
    return checkin_message(
        bank, decision.round, {}, None, state="open", tip=checkin_tip(bank, decision.round)
    )
