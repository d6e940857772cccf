"""What a nudge DM says about its deal: the data the Slack layer renders."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.core import recipients
from bot.core.deals.rules import moment_for
from bot.core.prompts import DealChange, InvestmentRule, PromptBank, default_bank
from bot.runtime import Runtime
from bot.runtime.pseudonyms import Pseudonyms, Purpose
from bot.storage.models import DealEvent, Delivery, DeliveryKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NudgeContent:
    """What a nudge DM says, for the renderer: the deal, the change, the moment's prompts.

    ``answer_context`` is the opaque ``Response.context`` for answers to this nudge (keyed,
    so the database alone cannot link it to the deal event, which names the rep).
    """

    delivery_id: int
    deal_event_id: int
    workspace_id: str
    user_id: str
    team_id: int | None
    deal_id: str
    deal_name: str
    change: DealChange
    moment: DealChange
    from_value: str | None
    to_value: str | None
    occurred_at: datetime
    title: str
    intro: str
    prompt_ids: tuple[str, ...]
    rule: InvestmentRule | None
    answer_context: str


def answer_context(pseudonyms: Pseudonyms, workspace_id: str, deal_event_id: int) -> str:
    """``nudge:<keyed hash>``: unique per deal event, not linkable without the key."""
    return "nudge:" + pseudonyms.of(workspace_id, str(deal_event_id), Purpose.NUDGE)


async def nudge_context(
    runtime: Runtime, delivery: Delivery, bank: PromptBank | None = None
) -> NudgeContent:
    """Everything the nudge renderer needs for a ``nudge`` delivery (``LookupError`` if its
    deal event is gone)."""
    bank = bank or default_bank()
    if delivery.kind != DeliveryKind.NUDGE or delivery.deal_event_id is None:
        raise LookupError(f"delivery {delivery.id} is not a deal nudge")
    async with runtime.db.session() as session:
        event = await session.get(DealEvent, delivery.deal_event_id)
        if event is None:
            raise LookupError(f"deal event {delivery.deal_event_id} is gone")
        team = await recipients.first_team(session, delivery.workspace_id, delivery.recipient)
    change = DealChange(event.change)
    moment_name = moment_for(change, event.to_value, event.from_value)
    moment = bank.moment(moment_name)
    assert event.id is not None and delivery.id is not None
    return NudgeContent(
        delivery_id=delivery.id,
        deal_event_id=event.id,
        workspace_id=event.workspace_id,
        user_id=delivery.recipient,
        team_id=team.id if team else None,
        deal_id=event.deal_id,
        deal_name=event.deal_name,
        change=change,
        moment=moment_name,
        from_value=event.from_value,
        to_value=event.to_value,
        occurred_at=event.occurred_at,
        title=moment.title,
        intro=moment.intro,
        prompt_ids=moment.prompts,
        rule=moment.rule,
        answer_context=answer_context(runtime.pseudonyms, event.workspace_id, event.id),
    )
