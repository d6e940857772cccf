"""Routing a deal change to its moment: the rich moment, its context, the prompt bank's moment
whose questions the nudge asks, and the nearest of the webhook's seven changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core import deals
from bot.core.deals.rules import (
    LEGACY,
    DealMoment,
    DiscountBand,
    Moment,
    Trend,
    moment_for,
    moment_key,
    route,
    waits_for_contact,
)
from bot.core.deals.stages import DealType, Direction, StageFacts, StageKind
from bot.core.prompts import DealChange, MomentKey, default_bank
from bot.runtime import Runtime
from tests.support.deals import accept, no_lookup, nudges, update

STAGE = DealChange.STAGE_CHANGED

# --------------------------------------------------------------------------- issue #19's errors


@pytest.mark.parametrize(
    ("to", "moment"),
    [
        ("Closed Lost – No Decision", Moment.NO_DECISION),
        ("Lost to competitor", Moment.LOST),
        ("Disqualified", Moment.DISQUALIFIED),
    ],
)
def test_losses_never_get_the_contract_questions(to: str, moment: Moment) -> None:
    routed = route(STAGE, "Negotiation/Review", to)
    assert routed.moment is moment
    assert routed.legacy is DealChange.LOST
    assert moment_for(STAGE, to) is DealChange.LOST


def test_closed_won_renewal_is_won_and_a_renewal() -> None:
    routed = route(STAGE, "Negotiation/Review", "Closed Won (Renewal)")
    assert (routed.moment, routed.deal_type) == (Moment.WON, DealType.RENEWAL)
    assert moment_for(STAGE, "Closed Won (Renewal)") is DealChange.WON


def test_a_backward_move_to_discovery_does_not_ask_the_new_deal_questions() -> None:
    routed = route(STAGE, "Proposal/Price Quote", "Discovery")
    assert routed.moment is Moment.BACKWARD_MOVE
    assert (routed.from_stage, routed.to_stage) == (StageKind.PROPOSAL, StageKind.EARLY)
    assert routed.direction is Direction.BACKWARD
    assert moment_for(STAGE, "Discovery", "Proposal/Price Quote") is DealChange.STAGE_CHANGED
    # a forward move (or the first stage we hear of) into discovery still asks them
    assert moment_for(STAGE, "Discovery", "Prospecting") is DealChange.CREATED
    assert moment_for(STAGE, "Discovery") is DealChange.CREATED


# --------------------------------------------------------------------------- stage moves


@pytest.mark.parametrize(
    ("before", "after", "moment"),
    [
        (None, "Qualification", Moment.EARLY),
        ("Qualification", "Needs Analysis", Moment.EVALUATION),
        ("Needs Analysis", "Proposal/Price Quote", Moment.PROPOSAL),
        ("Proposal/Price Quote", "Negotiation/Review", Moment.NEGOTIATION),
        ("Negotiation/Review", "Contract Sent", Moment.TOWARD_CONTRACT),
        ("presentationscheduled", "decisionmakerboughtin", Moment.TOWARD_CONTRACT),
        ("Negotiation/Review", "Closed Won", Moment.WON),
        ("Negotiation/Review", "Closed Lost", Moment.LOST),
        ("Negotiation/Review", "Stalled", Moment.NO_DECISION),
        ("Discovery", "Unqualified", Moment.DISQUALIFIED),
        ("Negotiation/Review", "Needs Analysis", Moment.BACKWARD_MOVE),
        ("Closed Lost", "Qualification", Moment.REOPENED),
        ("Qualification", "Pending PR", Moment.STAGE_CHANGED),
        (None, None, Moment.STAGE_CHANGED),
        (None, "Renewal", Moment.RENEWAL_OR_EXPANSION),
    ],
)
def test_stage_moves(before: str | None, after: str | None, moment: Moment) -> None:
    assert route(STAGE, before, after).moment is moment


def test_the_crm_facts_decide_won_or_lost_over_the_name() -> None:
    won = StageFacts(is_closed=True, is_won=True)
    lost = StageFacts(is_closed=True, is_won=False)
    assert route(STAGE, "Negotiation/Review", "Current Partner", facts=won).moment is Moment.WON
    assert route(STAGE, "Negotiation/Review", "Closed Admin", facts=lost).moment is Moment.LOST
    hubspot_won = StageFacts.from_hubspot({"isClosed": "true", "probability": "1.0"})
    assert route(STAGE, None, "5230659805", facts=hubspot_won).moment is Moment.WON


def test_overrides_place_a_custom_stage() -> None:
    overrides = {"Pending PR": StageKind.COMMIT}
    routed = route(STAGE, "Qualification", "Pending PR", overrides=overrides)
    assert routed.moment is Moment.TOWARD_CONTRACT


def test_an_existing_customers_early_stage_is_the_renewal_moment() -> None:
    routed = route(STAGE, None, "Qualification", deal_type="Existing Customer - Upgrade")
    assert (routed.moment, routed.deal_type) == (Moment.RENEWAL_OR_EXPANSION, DealType.EXPANSION)
    assert routed.legacy is DealChange.STAGE_CHANGED  # not a new deal
    assert route(STAGE, None, "Qualification", deal_type=DealType.RENEWAL).moment is (
        Moment.RENEWAL_OR_EXPANSION
    )
    created = route(DealChange.CREATED, deal_type="Renewal")
    assert (created.moment, created.legacy) == (Moment.RENEWAL_OR_EXPANSION, DealChange.CREATED)


# --------------------------------------------------------------------------- other changes


def test_created() -> None:
    assert route(DealChange.CREATED).moment is Moment.EARLY
    assert route(DealChange.CREATED, None, "Discovery").moment is Moment.EARLY
    assert route(DealChange.CREATED, None, "Proposal").moment is Moment.EARLY  # still new
    # a deal entered after the fact, already closed, is that outcome
    assert route(DealChange.CREATED, None, "Closed Won").moment is Moment.WON
    assert moment_for(DealChange.CREATED, "Closed Won") is DealChange.WON


def test_won_and_lost_changes_keep_their_outcome_and_refine_a_loss() -> None:
    assert route(DealChange.WON).moment is Moment.WON
    assert route(DealChange.WON, None, "Closed Lost").moment is Moment.WON  # the change says
    assert route(DealChange.LOST).moment is Moment.LOST
    assert route(DealChange.LOST, None, "Closed Won").moment is Moment.LOST
    assert route(DealChange.LOST, None, "No decision").moment is Moment.NO_DECISION
    assert route(DealChange.LOST, None, "Closed - Not a fit").moment is Moment.DISQUALIFIED


@pytest.mark.parametrize(
    ("before", "after", "moment", "slip"),
    [
        ("2026-11-30", "2027-01-15", Moment.CLOSE_DATE_PUSHED, 46),
        ("2027-01-15", "2026-12-31", Moment.CLOSE_DATE_PULLED_IN, -15),
        ("2026-11-30", "2026-11-30", Moment.CLOSE_DATE_CHANGED, None),
        (None, "2027-01-15", Moment.CLOSE_DATE_CHANGED, None),
        ("soon", "2027-01-15", Moment.CLOSE_DATE_CHANGED, None),
        ("2026-02-30", "2027-01-15", Moment.CLOSE_DATE_CHANGED, None),
    ],
)
def test_close_dates(before: str | None, after: str, moment: Moment, slip: int | None) -> None:
    routed = route(DealChange.CLOSE_DATE_CHANGED, before, after)
    assert (routed.moment, routed.slip_days) == (moment, slip)
    assert routed.legacy is DealChange.CLOSE_DATE_CHANGED


@pytest.mark.parametrize(
    ("before", "after", "trend", "delta"),
    [
        ("45000.0", "50000", Trend.UP, Decimal("5000.0")),
        ("$45,000", "USD 40000.50", Trend.DOWN, Decimal("-4999.50")),
        ("9000", "9000.0", Trend.UNKNOWN, None),
        (None, "9000", Trend.UNKNOWN, None),
        ("lots", "9000", Trend.UNKNOWN, None),
    ],
)
def test_amounts(before: str | None, after: str, trend: Trend, delta: Decimal | None) -> None:
    routed = route(DealChange.AMOUNT_CHANGED, before, after)
    assert (routed.moment, routed.amount_trend, routed.amount_delta) == (
        Moment.AMOUNT_CHANGED,
        trend,
        delta,
    )


@pytest.mark.parametrize(
    ("value", "percent", "band"),
    [
        ("5%", Decimal("5"), DiscountBand.SMALL),
        ("15 % off list", Decimal("15"), DiscountBand.MEDIUM),
        ("12,5%", Decimal("12.5"), DiscountBand.MEDIUM),
        ("30%", Decimal("30"), DiscountBand.LARGE),
        ("25%", Decimal("25"), DiscountBand.LARGE),
        ("5000", None, None),  # an amount, not a percentage
        ("0%", None, None),
        ("150%", None, None),
        (None, None, None),
    ],
)
def test_discounts_carry_a_band_when_they_carry_a_percentage(
    value: str | None, percent: Decimal | None, band: DiscountBand | None
) -> None:
    routed = route(DealChange.DISCOUNT_REQUESTED, None, value)
    assert (routed.moment, routed.discount_percent, routed.discount_band) == (
        Moment.DISCOUNT_REQUESTED,
        percent,
        band,
    )


def test_every_moment_has_a_nearest_existing_one_and_losses_are_never_contract() -> None:
    assert set(LEGACY) == set(Moment)
    for moment in (Moment.LOST, Moment.NO_DECISION, Moment.DISQUALIFIED):
        assert LEGACY[moment] is DealChange.LOST
    for moment in (Moment.BACKWARD_MOVE, Moment.REOPENED, Moment.RENEWAL_OR_EXPANSION):
        assert LEGACY[moment] is not DealChange.CREATED


@pytest.mark.parametrize("change", list(DealChange))
def test_every_plain_change_keeps_its_old_moment(change: DealChange) -> None:
    expected = DealChange.STAGE_CHANGED if change is STAGE else change
    assert moment_for(change) is expected


# --------------------------------------------------------------------------- through a nudge


async def test_a_nudge_for_a_backward_move_is_not_the_new_deal_moment(runtime: Runtime) -> None:
    backward = update(change=STAGE, from_value="Proposal/Price Quote", to_value="Discovery")
    [event_id] = await accept(runtime, backward)
    assert await deals.process_event(runtime, event_id, no_lookup) == deals.NUDGED
    [delivery] = await nudges(runtime)
    content = await deals.nudge_context(runtime, delivery)
    assert content.moment is MomentKey.BACKWARD_MOVE and content.rule is None


# --------------------------------------------------------------------------- first contact


@pytest.mark.parametrize(
    ("change", "before", "after", "moment"),
    [
        (DealChange.CREATED, None, "Prospecting", Moment.AWAITING_CONTACT),
        (DealChange.CREATED, None, "appointmentscheduled", Moment.AWAITING_CONTACT),
        (DealChange.CREATED, None, "New Lead", Moment.AWAITING_CONTACT),
        (DealChange.CREATED, None, "Qualification", Moment.EARLY),
        (DealChange.CREATED, None, "Contacted", Moment.EARLY),
        (STAGE, "Lead", "Appointment Scheduled", Moment.AWAITING_CONTACT),
        (STAGE, "Prospecting", "Qualification", Moment.FIRST_CONTACT),
        (STAGE, "appointmentscheduled", "qualifiedtobuy", Moment.FIRST_CONTACT),
        (STAGE, "Lead", "Proposal/Price Quote", Moment.FIRST_CONTACT),
        (STAGE, "Prospecting", "Closed - Not a fit", Moment.DISQUALIFIED),
        (STAGE, "Discovery", "Needs Analysis", Moment.EVALUATION),
        (STAGE, "Proposal/Price Quote", "Prospecting", Moment.BACKWARD_MOVE),
    ],
)
def test_first_contact(change: DealChange, before: str | None, after: str, moment: Moment) -> None:
    """A new deal at a stage where nobody has met the buyer waits; the first move past it
    asks seed 000's questions."""
    assert route(change, before, after).moment is moment
    assert waits_for_contact(change, before, after) is (moment is Moment.AWAITING_CONTACT)


def test_an_existing_customer_never_waits_for_first_contact() -> None:
    found = route(DealChange.CREATED, None, "Prospecting", deal_type=DealType.RENEWAL)
    assert found.moment is Moment.RENEWAL_OR_EXPANSION


# --------------------------------------------------------------------------- moment keys


@pytest.mark.parametrize(
    ("change", "before", "after", "pushed_before", "key"),
    [
        (DealChange.CLOSE_DATE_CHANGED, "2026-11-30", "2027-01-15", 0, MomentKey.CLOSE_DATE_PUSHED),
        (
            DealChange.CLOSE_DATE_CHANGED,
            "2026-11-30",
            "2027-01-15",
            1,
            MomentKey.CLOSE_DATE_PUSHED_AGAIN,
        ),
        (
            DealChange.CLOSE_DATE_CHANGED,
            "2027-01-15",
            "2026-11-30",
            3,
            MomentKey.CLOSE_DATE_PULLED_IN,
        ),
        (DealChange.CLOSE_DATE_CHANGED, None, "soon", 0, MomentKey.CLOSE_DATE_CHANGED),
        (DealChange.AMOUNT_CHANGED, "10000", "12000", 0, MomentKey.AMOUNT_UP),
        (DealChange.AMOUNT_CHANGED, "$12,000", "$9,000", 0, MomentKey.AMOUNT_DOWN),
        (DealChange.AMOUNT_CHANGED, None, "a lot", 0, MomentKey.AMOUNT_CHANGED),
        (DealChange.DISCOUNT_REQUESTED, None, "5%", 0, MomentKey.DISCOUNT_SMALL),
        (DealChange.DISCOUNT_REQUESTED, None, "15 %", 0, MomentKey.DISCOUNT_MEDIUM),
        (DealChange.DISCOUNT_REQUESTED, None, "30% off list", 0, MomentKey.DISCOUNT_LARGE),
        (DealChange.DISCOUNT_REQUESTED, None, "a bit", 0, MomentKey.DISCOUNT_REQUESTED),
        (STAGE, "Proposal", "Negotiation/Review", 0, MomentKey.NEGOTIATION),
        (STAGE, "Discovery", "Needs Analysis", 0, MomentKey.EVALUATION),
        (STAGE, "Needs Analysis", "Proposal/Price Quote", 0, MomentKey.PROPOSAL),
        (STAGE, "Negotiation/Review", "Contract Sent", 0, MomentKey.TOWARD_CONTRACT),
        (STAGE, "Negotiation/Review", "Closed Lost – No Decision", 0, MomentKey.NO_DECISION),
        (DealChange.LOST, None, "Disqualified", 0, MomentKey.DISQUALIFIED),
        (DealChange.CREATED, None, "Renewal", 0, MomentKey.RENEWAL_OR_EXPANSION),
        (STAGE, "Prospecting", "Discovery", 0, MomentKey.FIRST_CONTACT),
    ],
)
def test_every_routed_change_names_a_moment_with_content(
    change: DealChange, before: str | None, after: str | None, pushed_before: int, key: MomentKey
) -> None:
    found = moment_key(route(change, before, after), pushed_before)
    assert found is key
    assert default_bank().for_moment(found)


def test_every_rich_moment_has_content() -> None:
    bank = default_bank()
    for moment in Moment:
        found = DealMoment(moment, DealChange.STAGE_CHANGED)
        assert bank.for_moment(moment_key(found)), moment
