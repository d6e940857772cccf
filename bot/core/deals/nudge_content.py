"""What a nudge DM says about its deal: the data the Slack layer renders."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import recipients
from bot.core.deals import stage_map
from bot.core.deals.model import DEFERRED, NUDGED
from bot.core.deals.rules import DealMoment, Moment, moment_key, route
from bot.core.prompts import DealChange, InvestmentRule, MomentKey, PromptBank, default_bank
from bot.runtime import Runtime
from bot.runtime.pseudonyms import Pseudonyms, Purpose
from bot.storage.models import DealEvent, Delivery, DeliveryKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NudgeContent:
    """What a nudge DM says, for the renderer: the deal, the change, the moment's prompts.

    ``moment`` is the prompt bank's moment the change is (:func:`~.rules.moment_key`);
    ``intro`` has its placeholders filled in (how many days, which discount); ``note`` is the
    moment's extra line, if any. ``answer_context`` is the opaque ``Response.context`` for
    answers to this nudge (keyed, so the database alone cannot link it to the deal event,
    which names the rep).
    """

    delivery_id: int
    deal_event_id: int
    workspace_id: str
    user_id: str
    team_id: int | None
    deal_id: str
    deal_name: str
    change: DealChange
    moment: MomentKey
    from_value: str | None
    to_value: str | None
    occurred_at: datetime
    title: str
    intro: str
    prompt_ids: tuple[str, ...]
    rule: InvestmentRule | None
    answer_context: str
    note: str | None = None
    delivery_channel: str | None = None  # the rep's team's (/trust delivery), if named


def answer_context(pseudonyms: Pseudonyms, workspace_id: str, deal_event_id: int) -> str:
    """``nudge:<keyed hash>``: unique per deal event, not linkable without the key."""
    return "nudge:" + pseudonyms.of(workspace_id, str(deal_event_id), Purpose.NUDGE)


_ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}


def ordinal(n: int) -> str:
    """``2`` -> ``"second"`` ... ``7`` -> ``"7th"``."""
    return _ORDINALS.get(n, f"{n}th")


def percent(value: Decimal) -> str:
    """``Decimal("15")`` -> ``"15%"``, ``Decimal("12.50")`` -> ``"12.5%"``."""
    text = format(value.normalize(), "f")
    return f"{text}%"


def intro_values(found: DealMoment, pushed_before: int) -> dict[str, str]:
    """What a moment's intro placeholders stand for on this change."""
    values: dict[str, str] = {}
    if found.slip_days is not None:
        values["days"] = str(abs(found.slip_days))
    values["times"] = ordinal(pushed_before + 1)
    if found.discount_percent is not None:
        values["percent"] = percent(found.discount_percent)
    return values


OPENING: Final = frozenset({Moment.EARLY, Moment.FIRST_CONTACT})
"""The moments that ask seed 000's new-deal questions: once per deal."""
ASKED: Final = (NUDGED, DEFERRED)
"""Deal event statuses whose nudge was planned and not superseded."""


@dataclass(frozen=True)
class History:
    """What a deal's earlier updates say about this one."""

    pushes: int = 0  # how many times its close date was pushed out before
    opened: bool = False  # whether seed 000's questions were asked about it already


async def _history(session: AsyncSession, event: DealEvent) -> History:
    """How many times the same deal's close date was pushed out before this event, and
    whether an earlier nudge about it asked seed 000's questions."""
    earlier = (
        await session.exec(
            select(DealEvent.change, DealEvent.from_value, DealEvent.to_value, DealEvent.status)
            .where(
                DealEvent.workspace_id == event.workspace_id,
                DealEvent.deal_id == event.deal_id,
                col(DealEvent.id) < (event.id or 0),
            )
            .order_by(col(DealEvent.id).desc())
            .limit(50)
        )
    ).all()
    pushes, opened = 0, False
    for change, before, after, status in earlier:
        try:
            moment = route(change, before, after).moment
        except ValueError:
            continue
        pushes += moment is Moment.CLOSE_DATE_PUSHED
        opened = opened or (moment in OPENING and status in ASKED)
    return History(pushes, opened)


def once_per_deal(found: DealMoment, history: History) -> DealMoment:
    """Seed 000's new-deal questions are asked once per deal: a deal that got them already
    and moves on within the early stages (Qualification to Discovery, say) is asked the
    questions of a stage change instead."""
    if found.moment in OPENING and history.opened:
        return replace(found, moment=Moment.STAGE_CHANGED)
    return found


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
        overrides = await stage_map.overrides_for(runtime, event.workspace_id, event.source)
        found = route(change, event.from_value, event.to_value, overrides=overrides)
        history = (
            await _history(session, event)
            if found.moment in (*OPENING, Moment.CLOSE_DATE_PUSHED)
            else History()
        )
    found, pushed = once_per_deal(found, history), history.pushes
    key = moment_key(found, pushed)
    moment = bank.moment(key)
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
        moment=key,
        from_value=event.from_value,
        to_value=event.to_value,
        occurred_at=event.occurred_at,
        title=moment.title,
        intro=moment.intro_for(**intro_values(found, pushed)),
        prompt_ids=moment.prompts,
        rule=moment.rule,
        answer_context=answer_context(runtime.pseudonyms, event.workspace_id, event.id),
        note=moment.note,
        delivery_channel=team.delivery_channel_id if team else None,
    )
