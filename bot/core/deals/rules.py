"""Which moment a deal change is: the seeds' moments, each with its own prompts.

:func:`route` reads a change with what it means (:mod:`~bot.core.deals.stages`): where the
deal moved and in which direction, how far a close date slipped, which way the amount went,
how large a discount is, and answers a :class:`DealMoment`. :func:`moment_key` names the
prompt bank's moment for it (:class:`~bot.core.prompts.MomentKey`: a discount by its size, an
amount by its direction, a close date pushed again), whose questions the nudge asks.

A new deal created at a stage where the CRM says nobody has met the buyer yet (a lead, a
prospect, an appointment scheduled) *waits for first contact* (:attr:`Moment.AWAITING_CONTACT`,
no nudge): seed 000's three questions are asked at the first move past it
(:attr:`Moment.FIRST_CONTACT`). :func:`moment_for` keeps the seven moments of the webhook's
``change`` values (:attr:`DealMoment.legacy`), for callers that only know those.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final

from bot.core.deals.stages import (
    EXISTING_CUSTOMER,
    NO_FACTS,
    DealType,
    Direction,
    StageFacts,
    StageKind,
    classify_stage,
    deal_type_of,
    direction,
    is_pre_contact,
)
from bot.core.prompts import DealChange, MomentKey

log = logging.getLogger(__name__)


class Moment(enum.StrEnum):
    """The moment a deal change is, finer than the prompt bank's :class:`DealChange`."""

    EARLY = "early"  # a new deal, or a forward move into an early stage
    AWAITING_CONTACT = "awaiting_contact"  # new, at a stage before anyone met: no nudge yet
    FIRST_CONTACT = "first_contact"  # the first move past a pre-contact stage
    RENEWAL_OR_EXPANSION = "renewal_or_expansion"  # the same, with an existing customer
    EVALUATION = "evaluation"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    TOWARD_CONTRACT = "toward_contract"  # a commitment stage: contract sent, verbal commit
    STAGE_CHANGED = "stage_changed"  # into a stage we cannot place
    BACKWARD_MOVE = "backward_move"  # back to an earlier open stage
    REOPENED = "reopened"  # from an outcome back to an open stage
    CLOSE_DATE_PUSHED = "close_date_pushed"
    CLOSE_DATE_PULLED_IN = "close_date_pulled_in"
    CLOSE_DATE_CHANGED = "close_date_changed"  # which way is not known
    AMOUNT_CHANGED = "amount_changed"
    DISCOUNT_REQUESTED = "discount_requested"
    WON = "won"
    LOST = "lost"
    NO_DECISION = "no_decision"
    DISQUALIFIED = "disqualified"  # we qualified out: a good decision, not a loss


LEGACY: Final[Mapping[Moment, DealChange]] = {
    Moment.EARLY: DealChange.CREATED,
    Moment.AWAITING_CONTACT: DealChange.CREATED,
    Moment.FIRST_CONTACT: DealChange.CREATED,
    Moment.RENEWAL_OR_EXPANSION: DealChange.STAGE_CHANGED,
    Moment.EVALUATION: DealChange.STAGE_CHANGED,
    Moment.PROPOSAL: DealChange.STAGE_CHANGED,
    Moment.NEGOTIATION: DealChange.STAGE_CHANGED,
    Moment.TOWARD_CONTRACT: DealChange.STAGE_CHANGED,
    Moment.STAGE_CHANGED: DealChange.STAGE_CHANGED,
    Moment.BACKWARD_MOVE: DealChange.STAGE_CHANGED,
    Moment.REOPENED: DealChange.STAGE_CHANGED,
    Moment.CLOSE_DATE_PUSHED: DealChange.CLOSE_DATE_CHANGED,
    Moment.CLOSE_DATE_PULLED_IN: DealChange.CLOSE_DATE_CHANGED,
    Moment.CLOSE_DATE_CHANGED: DealChange.CLOSE_DATE_CHANGED,
    Moment.AMOUNT_CHANGED: DealChange.AMOUNT_CHANGED,
    Moment.DISCOUNT_REQUESTED: DealChange.DISCOUNT_REQUESTED,
    Moment.WON: DealChange.WON,
    Moment.LOST: DealChange.LOST,
    Moment.NO_DECISION: DealChange.LOST,
    Moment.DISQUALIFIED: DealChange.LOST,
}
"""The nearest of the prompt bank's seven moments. A lost, no-decision or disqualified stage
is never the "toward contract" moment; only a new deal or a forward move into an early stage
asks seed 000's investment questions (a backward move there, a reopened deal or an existing
customer's renewal does not; a *created* renewal keeps the ``created`` moment it has always
had, :attr:`DealMoment.legacy`)."""

_OUTCOMES: Final[Mapping[StageKind, Moment]] = {
    StageKind.WON: Moment.WON,
    StageKind.LOST: Moment.LOST,
    StageKind.NO_DECISION: Moment.NO_DECISION,
    StageKind.DISQUALIFIED: Moment.DISQUALIFIED,
}
_BY_STAGE: Final[Mapping[StageKind, Moment]] = {
    StageKind.EARLY: Moment.EARLY,
    StageKind.EVALUATION: Moment.EVALUATION,
    StageKind.PROPOSAL: Moment.PROPOSAL,
    StageKind.NEGOTIATION: Moment.NEGOTIATION,
    StageKind.COMMIT: Moment.TOWARD_CONTRACT,
    StageKind.UNKNOWN: Moment.STAGE_CHANGED,
    **_OUTCOMES,
}


class Trend(enum.StrEnum):
    """Which way an amount moved."""

    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


class DiscountBand(enum.StrEnum):
    """How large a requested discount is (our bands: under 10 %, 10-25 %, over 25 %)."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


@dataclass(frozen=True)
class DealMoment:
    """A deal change read for its meaning: the moment, and the context that goes with it."""

    moment: Moment
    change: DealChange
    from_stage: StageKind | None = None
    to_stage: StageKind | None = None
    direction: Direction | None = None  # stage moves
    deal_type: DealType | None = None
    slip_days: int | None = None  # close date: later (> 0) or earlier (< 0), in days
    amount_trend: Trend | None = None
    amount_delta: Decimal | None = None
    discount_percent: Decimal | None = None
    discount_band: DiscountBand | None = None

    @property
    def legacy(self) -> DealChange:
        """The prompt bank's moment nearest to this one (:data:`LEGACY`)."""
        if self.change is DealChange.CREATED and self.moment not in _OUTCOMES.values():
            return DealChange.CREATED
        return LEGACY[self.moment]


_CLOSING: Final = (DealChange.WON, DealChange.LOST)
_ONWARD: Final = frozenset({Direction.FORWARD, Direction.SAME, Direction.UNKNOWN})
_PERCENT = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s*%")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"^[^\d\-+]*")  # "$", "USD ", "EUR" before the number


def _date(value: str | None) -> date | None:
    if not value or not _ISO_DATE.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _amount(value: str | None) -> Decimal | None:
    if not value:
        return None
    text = _CURRENCY.sub("", value.strip().replace(",", "").replace(" ", ""))
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def discount_percent(value: str | None) -> Decimal | None:
    """The percentage a discount value carries (``"15%"``, ``"12.5 % off list"``), or
    ``None`` when it names no percentage (an amount, or free text)."""
    match = _PERCENT.search(value or "")
    if match is None:
        return None
    percent = Decimal(match.group(1).replace(",", "."))
    return percent if 0 < percent <= 100 else None


def discount_band(percent: Decimal) -> DiscountBand:
    if percent < 10:
        return DiscountBand.SMALL
    if percent < 25:
        return DiscountBand.MEDIUM
    return DiscountBand.LARGE


def route(
    change: DealChange | str,
    from_value: str | None = None,
    to_value: str | None = None,
    *,
    facts: StageFacts = NO_FACTS,
    deal_type: DealType | str | None = None,
    overrides: Mapping[str, StageKind] | None = None,
) -> DealMoment:
    """The moment to ask about for a deal change.

    ``from_value`` / ``to_value`` are the change's values (stage names for a stage change,
    ISO dates for a close date, amounts, a discount). ``facts`` is what the CRM says about the
    new stage (Salesforce's ``IsClosed``/``IsWon``, HubSpot's stage metadata) and decides won
    or lost over the stage's name. ``deal_type`` is the deal's type (a :class:`DealType`, or the
    CRM's text such as "Existing Customer - Upgrade"); stage names may name it too ("Closed Won
    (Renewal)"). ``overrides`` maps a workspace pipeline's stage names to kinds.
    """
    change = DealChange(change)
    stage_names = change in (DealChange.CREATED, DealChange.STAGE_CHANGED, *_CLOSING)
    kind_of_deal = (
        deal_type
        if isinstance(deal_type, DealType)
        else deal_type_of(deal_type, to_value if stage_names else None)
    )
    if change is DealChange.CLOSE_DATE_CHANGED:
        return _close_date(change, from_value, to_value, kind_of_deal)
    if change is DealChange.AMOUNT_CHANGED:
        return _amount_changed(change, from_value, to_value, kind_of_deal)
    if change is DealChange.DISCOUNT_REQUESTED:
        percent = discount_percent(to_value)
        return DealMoment(
            Moment.DISCOUNT_REQUESTED,
            change,
            deal_type=kind_of_deal,
            discount_percent=percent,
            discount_band=discount_band(percent) if percent is not None else None,
        )
    if change is DealChange.WON:
        to_kind = classify_stage(to_value, facts, overrides) if to_value else None
        return DealMoment(Moment.WON, change, to_stage=to_kind, deal_type=kind_of_deal)
    if change is DealChange.LOST:  # the change says closed and not won: the name says how
        lost = StageFacts(is_closed=True, is_won=False)
        to_kind = classify_stage(to_value, lost, overrides)
        return DealMoment(_OUTCOMES[to_kind], change, to_stage=to_kind, deal_type=kind_of_deal)
    to_kind = classify_stage(to_value, facts, overrides)
    new_business = kind_of_deal not in EXISTING_CUSTOMER
    if change is DealChange.CREATED:  # a new deal: its first stage matters if closed or unmet
        if to_value and to_kind in _OUTCOMES:
            return DealMoment(_OUTCOMES[to_kind], change, to_stage=to_kind, deal_type=kind_of_deal)
        waits = new_business and is_pre_contact(to_value, overrides)
        return DealMoment(
            Moment.AWAITING_CONTACT if waits else _opening(kind_of_deal),
            change,
            to_stage=to_kind if to_value else None,
            deal_type=kind_of_deal,
        )
    from_kind = classify_stage(from_value, NO_FACTS, overrides) if from_value else None
    moved = direction(from_kind, to_kind)
    if to_kind in _OUTCOMES:
        moment = _OUTCOMES[to_kind]
    elif new_business and is_pre_contact(to_value, overrides) and moved is not Direction.BACKWARD:
        moment = Moment.AWAITING_CONTACT  # still nobody has met them
    elif new_business and is_pre_contact(from_value, overrides) and moved in _ONWARD:
        moment = Moment.FIRST_CONTACT
    elif moved is Direction.BACKWARD:
        moment = Moment.BACKWARD_MOVE
    elif moved is Direction.REOPENED:
        moment = Moment.REOPENED
    elif to_kind is StageKind.EARLY:
        moment = _opening(kind_of_deal)
    elif to_kind is StageKind.UNKNOWN and deal_type_of(to_value) in EXISTING_CUSTOMER:
        moment = Moment.RENEWAL_OR_EXPANSION  # a stage named "Renewal" or "Upsell"
    else:
        moment = _BY_STAGE[to_kind]
    return DealMoment(
        moment,
        change,
        from_stage=from_kind,
        to_stage=to_kind,
        direction=moved,
        deal_type=kind_of_deal,
    )


def _opening(deal_type: DealType | None) -> Moment:
    return Moment.RENEWAL_OR_EXPANSION if deal_type in EXISTING_CUSTOMER else Moment.EARLY


def _close_date(
    change: DealChange, before: str | None, after: str | None, deal_type: DealType | None
) -> DealMoment:
    old, new = _date(before), _date(after)
    if old is None or new is None or old == new:
        return DealMoment(Moment.CLOSE_DATE_CHANGED, change, deal_type=deal_type)
    slip = (new - old).days
    moment = Moment.CLOSE_DATE_PUSHED if slip > 0 else Moment.CLOSE_DATE_PULLED_IN
    return DealMoment(moment, change, deal_type=deal_type, slip_days=slip)


def _amount_changed(
    change: DealChange, before: str | None, after: str | None, deal_type: DealType | None
) -> DealMoment:
    old, new = _amount(before), _amount(after)
    if old is None or new is None or old == new:
        return DealMoment(
            Moment.AMOUNT_CHANGED, change, deal_type=deal_type, amount_trend=Trend.UNKNOWN
        )
    trend = Trend.UP if new > old else Trend.DOWN
    return DealMoment(
        Moment.AMOUNT_CHANGED,
        change,
        deal_type=deal_type,
        amount_trend=trend,
        amount_delta=new - old,
    )


def moment_for(
    change: DealChange | str, to_value: str | None = None, from_value: str | None = None
) -> DealChange:
    """The moment whose prompts a nudge asks, among the prompt bank's seven (PRODUCT.md's
    moments, from the seeds): :func:`route`'s moment mapped to the nearest (:data:`LEGACY`).

    A stage change reads the stages: into won it is won; into lost, no decision or
    disqualified it is lost (never "toward contract"); a forward move into an early stage
    (lead, prospecting, qualification, discovery, HubSpot's ``appointmentscheduled`` ...) asks
    seed 000's three investment questions (the ``created`` moment), a backward move there does
    not; any other stage is the ``stage_changed`` moment.
    """
    return route(change, from_value, to_value).legacy


_KEYS: Final[Mapping[Moment, MomentKey]] = {
    Moment.EARLY: MomentKey.CREATED,
    Moment.AWAITING_CONTACT: MomentKey.CREATED,  # never sent: planning waits for contact
    Moment.FIRST_CONTACT: MomentKey.FIRST_CONTACT,
    Moment.RENEWAL_OR_EXPANSION: MomentKey.RENEWAL_OR_EXPANSION,
    Moment.EVALUATION: MomentKey.EVALUATION,
    Moment.PROPOSAL: MomentKey.PROPOSAL,
    Moment.NEGOTIATION: MomentKey.NEGOTIATION,
    Moment.TOWARD_CONTRACT: MomentKey.TOWARD_CONTRACT,
    Moment.STAGE_CHANGED: MomentKey.STAGE_CHANGED,
    Moment.BACKWARD_MOVE: MomentKey.BACKWARD_MOVE,
    Moment.REOPENED: MomentKey.REOPENED,
    Moment.CLOSE_DATE_PUSHED: MomentKey.CLOSE_DATE_PUSHED,
    Moment.CLOSE_DATE_PULLED_IN: MomentKey.CLOSE_DATE_PULLED_IN,
    Moment.CLOSE_DATE_CHANGED: MomentKey.CLOSE_DATE_CHANGED,
    Moment.AMOUNT_CHANGED: MomentKey.AMOUNT_CHANGED,
    Moment.DISCOUNT_REQUESTED: MomentKey.DISCOUNT_REQUESTED,
    Moment.WON: MomentKey.WON,
    Moment.LOST: MomentKey.LOST,
    Moment.NO_DECISION: MomentKey.NO_DECISION,
    Moment.DISQUALIFIED: MomentKey.DISQUALIFIED,
}
_AMOUNTS: Final = {Trend.UP: MomentKey.AMOUNT_UP, Trend.DOWN: MomentKey.AMOUNT_DOWN}
_DISCOUNTS: Final = {
    DiscountBand.SMALL: MomentKey.DISCOUNT_SMALL,
    DiscountBand.MEDIUM: MomentKey.DISCOUNT_MEDIUM,
    DiscountBand.LARGE: MomentKey.DISCOUNT_LARGE,
}


def moment_key(found: DealMoment, pushed_before: int = 0) -> MomentKey:
    """The prompt bank's moment for a routed change: a discount by its band, an amount by
    its direction, and a close date pushed out again (``pushed_before``: how many earlier
    pushes of the same deal) as a repeated slip: the second push asks what is holding it up,
    the third and later ones whether I still believe the deal is real."""
    if found.moment is Moment.CLOSE_DATE_PUSHED and pushed_before > 1:
        return MomentKey.CLOSE_DATE_PUSHED_REPEATEDLY
    if found.moment is Moment.CLOSE_DATE_PUSHED and pushed_before > 0:
        return MomentKey.CLOSE_DATE_PUSHED_AGAIN
    if found.moment is Moment.AMOUNT_CHANGED and found.amount_trend in _AMOUNTS:
        return _AMOUNTS[found.amount_trend]
    if found.moment is Moment.DISCOUNT_REQUESTED and found.discount_band is not None:
        return _DISCOUNTS[found.discount_band]
    return _KEYS[found.moment]


_MAY_WAIT: Final = frozenset({DealChange.CREATED, DealChange.STAGE_CHANGED})


def waits_for_contact(
    change: DealChange | str,
    from_value: str | None = None,
    to_value: str | None = None,
    overrides: Mapping[str, StageKind] | None = None,
) -> bool:
    """Whether a change leaves a deal where nobody has met the buyer yet, so its nudge waits
    for the first move past it (seed 000's questions are asked then)."""
    if change not in _MAY_WAIT:  # only a new deal or a stage move can (asked of every update)
        return False
    try:
        found = route(change, from_value, to_value, overrides=overrides)
        return found.moment is Moment.AWAITING_CONTACT
    except ValueError:  # not a change we know: nothing to wait for
        return False
