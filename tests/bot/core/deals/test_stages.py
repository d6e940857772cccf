"""Stage meaning: real stage names from Salesforce's and HubSpot's default pipelines and from
real orgs' custom pipelines, each with what it means for the deal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.deals.stages import (
    CLOSED_KINDS,
    DealType,
    Direction,
    StageFacts,
    StageKind,
    classify_stage,
    deal_type_of,
    direction,
    is_pre_contact,
    kind_by_name,
    normalise,
)

E, V, P, N, C = (
    StageKind.EARLY,
    StageKind.EVALUATION,
    StageKind.PROPOSAL,
    StageKind.NEGOTIATION,
    StageKind.COMMIT,
)
W, L, ND, DQ, U = (
    StageKind.WON,
    StageKind.LOST,
    StageKind.NO_DECISION,
    StageKind.DISQUALIFIED,
    StageKind.UNKNOWN,
)

# Where each name comes from (the research note /tmp/research/crm19.md, §2 and §3):
SF = "Salesforce default OpportunityStage value set (Mokshshrm/Sample-Org, standardValueSets/OpportunityStage.standardValueSet-meta.xml; SFDC-Assets/adoption-sales agrees)"  # noqa: E501
HS_ID = "HubSpot default pipeline stage id (legacydocs.hubspot.com/docs/methods/deal-pipelines/overview)"  # noqa: E501
HS_LABEL = "HubSpot default pipeline stage label (same page)"
GUSTO = "Gusto/sfdc OpportunityStage.standardValueSet-meta.xml (a real org's custom stages)"
GTM = "SalesOpsSalesforce/SalesforceGTMSys OpportunityStage.standardValueSet-meta.xml"
DREAMCARS = "Kvazar103/DreamCars OpportunityStage.standardValueSet-meta.xml"
NOVOPAYMENT = "a production org's Outbound Message (stored GitHub file 27757725820)"
ISSUE = "issue #19 / common custom names (no primary metadata found, research note §2.2)"

STAGES: list[tuple[str, StageKind, str]] = [
    # Salesforce's ten defaults
    ("Prospecting", E, SF),
    ("Qualification", E, SF),
    ("Needs Analysis", V, SF),
    ("Value Proposition", V, SF),
    ("Id. Decision Makers", V, SF),
    ("Perception Analysis", V, SF),
    ("Proposal/Price Quote", P, SF),
    ("Negotiation/Review", N, SF),
    ("Closed Won", W, SF),
    ("Closed Lost", L, SF),
    # HubSpot's default "Sales Pipeline": internal ids and labels
    ("appointmentscheduled", E, HS_ID),
    ("qualifiedtobuy", E, HS_ID),
    ("presentationscheduled", V, HS_ID),
    ("decisionmakerboughtin", C, HS_ID),
    ("contractsent", C, HS_ID),
    ("closedwon", W, HS_ID),
    ("closedlost", L, HS_ID),
    ("Appointment Scheduled", E, HS_LABEL),
    ("Qualified To Buy", E, HS_LABEL),
    ("Presentation Scheduled", V, HS_LABEL),
    ("Decision Maker Bought-In", C, HS_LABEL),
    ("Contract Sent", C, HS_LABEL),
    # real orgs' custom stages
    ("New", E, GUSTO),
    ("Raw", E, GUSTO),
    ("MQL", E, GUSTO),
    ("Attempting Contact", E, GUSTO),
    ("Engaged", E, GUSTO),
    ("Discovery Call Scheduled", E, GUSTO),
    ("SAL", E, GUSTO),
    ("Discovery", E, GUSTO),
    ("Qualified", E, GUSTO),
    ("Solution Design", V, GUSTO),
    ("Final Evaluation", V, GUSTO),
    ("Commit", C, GUSTO),
    ("Current Partner", W, GUSTO),
    ("Order Lost", L, GUSTO),
    ("Pending PR", U, GUSTO),
    ("Backlog", U, GUSTO),
    ("S0: Pre-Pipeline", E, GTM),
    ("S1: Discovery", E, GTM),
    ("S2: Building Value", V, GTM),
    ("S3: Solution Development", V, GTM),
    ("S4: Decision Process", V, GTM),
    ("S5: Negotiation", N, GTM),
    ("<NEEDS RESOLUTION>", U, GTM),
    ("Contract Sent", C, DREAMCARS),
    ("Pre-Calificación", E, NOVOPAYMENT),
    # names the issue lists, and common custom ones
    ("Closed Lost – No Decision", ND, ISSUE),  # an en dash
    ("Closed Lost - No Decision", ND, ISSUE),
    ("No decision", ND, ISSUE),
    ("Stalled", ND, ISSUE),
    ("Lost to competitor", L, ISSUE),
    ("Closed Lost (Competitor)", L, ISSUE),
    ("Disqualified", DQ, ISSUE),
    ("Unqualified", DQ, ISSUE),
    ("Closed - Not a fit", DQ, ISSUE),
    ("Closed Won (Renewal)", W, ISSUE),
    ("Closed Won – Expansion", W, ISSUE),
    ("Lead", E, ISSUE),
    ("Demo", V, ISSUE),
    ("Demo Scheduled", V, ISSUE),
    ("Proposal", P, ISSUE),
    ("Quote sent", P, ISSUE),
    ("Contract Negotiation", N, ISSUE),
    ("Verbal Commit", C, ISSUE),
    ("Closing", C, ISSUE),
    ("Contract Signed", W, ISSUE),
]


def test_the_table_is_large_enough_and_covers_every_kind() -> None:
    assert len(STAGES) >= 40
    assert {kind for _, kind, _ in STAGES} == set(StageKind)


@pytest.mark.parametrize(("name", "kind", "source"), STAGES, ids=[s[0] for s in STAGES])
def test_a_stage_means_its_kind(name: str, kind: StageKind, source: str) -> None:
    assert classify_stage(name) is kind, source


@pytest.mark.parametrize(
    "name", ["Closed Lost – No Decision", "Lost to competitor", "Disqualified"]
)
def test_no_loss_is_ever_a_contract_stage(name: str) -> None:
    assert classify_stage(name) in CLOSED_KINDS


@pytest.mark.parametrize(
    "name",
    [
        "CLOSED WON",
        "closed-won",
        "Closed_Won",
        "  Closed   Won ",
        "closed—won",  # em dash
        "(Closed Won)",
        "Closed.Won",
    ],
)
def test_punctuation_dashes_case_and_parentheses_do_not_matter(name: str) -> None:
    assert classify_stage(name) is StageKind.WON


def test_normalise() -> None:
    assert normalise("Closed Lost – No Decision") == "closed lost no decision"
    assert normalise("Pre-Calificación") == "pre calificacion"
    assert normalise("Id. Decision Makers") == "id decision makers"


@pytest.mark.parametrize(
    "name",
    ["5230659805", "1f4f1ec1-8174-49f3-a112-4eaa4748e38e", "Stage 7", "", None, "—", "Pending PR"],
)
def test_unknown_names_are_unknown_never_a_contract_stage(name: str | None) -> None:
    assert classify_stage(name) is StageKind.UNKNOWN


@given(st.text(max_size=80))
def test_any_name_gets_a_kind_and_only_contract_words_make_a_commitment(name: str) -> None:
    kind = kind_by_name(name)
    assert kind in set(StageKind)
    if kind is StageKind.COMMIT:
        assert any(
            w in normalise(name).replace(" ", "")
            for w in ("contract", "verbal", "commit", "closing", "boughtin", "signature", "order")
        )


# --------------------------------------------------------------------------- the CRM's facts


def test_salesforce_is_won_beats_the_name() -> None:
    won = StageFacts(is_closed=True, is_won=True)
    assert classify_stage("Current Partner", won) is StageKind.WON
    assert classify_stage("Closed Lost", won) is StageKind.WON  # the org's stage says won
    assert classify_stage("Paid", won) is StageKind.WON


def test_salesforce_closed_not_won_is_lost_unless_the_name_says_how() -> None:
    lost = StageFacts(is_closed=True, is_won=False)
    assert classify_stage("Closed Admin", lost) is StageKind.LOST  # Gusto: closed, not won
    assert classify_stage("Closed Won", lost) is StageKind.LOST
    assert classify_stage("Closed Lost – No Decision", lost) is StageKind.NO_DECISION
    assert classify_stage("Closed - Not a fit", lost) is StageKind.DISQUALIFIED


def test_an_open_stage_is_never_won_or_lost_by_its_name() -> None:
    open_stage = StageFacts(is_closed=False, is_won=False)
    assert classify_stage("Closed Won", open_stage) is StageKind.UNKNOWN
    assert classify_stage("Negotiation/Review", open_stage) is StageKind.NEGOTIATION
    assert classify_stage("Stalled", open_stage) is StageKind.NO_DECISION


def test_hubspot_stage_metadata_decides_a_custom_stage() -> None:
    # real portals rename stages and add numeric ids (research note §3.1)
    won = StageFacts.from_hubspot({"probability": "1.0", "isClosed": "true"})
    lost = StageFacts.from_hubspot({"probability": "0.0", "isClosed": "true"})
    open_ = StageFacts.from_hubspot({"probability": "0.8", "isClosed": "false"})
    assert classify_stage("5230659805", won) is StageKind.WON
    assert classify_stage("5230659805", lost) is StageKind.LOST
    assert classify_stage("New Referral", lost) is StageKind.LOST
    assert classify_stage("5230659805", open_) is StageKind.UNKNOWN
    assert classify_stage("Closed", StageFacts(is_closed=True)) is StageKind.UNKNOWN
    assert StageFacts.from_hubspot({"probability": "x", "isClosed": "maybe"}) == StageFacts()


# --------------------------------------------------------------------------- overrides


def test_an_admins_override_wins_over_the_rules_but_not_over_the_crm() -> None:
    overrides = {"Pending PR": StageKind.COMMIT, "closed – admin": StageKind.DISQUALIFIED}
    assert classify_stage("pending-pr", overrides=overrides) is StageKind.COMMIT
    assert classify_stage("Closed Admin", overrides=overrides) is StageKind.DISQUALIFIED
    lost = StageFacts(is_closed=True, is_won=False)
    assert classify_stage("Closed Admin", lost, overrides) is StageKind.DISQUALIFIED
    assert classify_stage("Pending PR", lost, overrides) is StageKind.LOST  # closed beats it
    assert classify_stage("Backlog", overrides=overrides) is StageKind.UNKNOWN


# --------------------------------------------------------------------------- direction, type


@pytest.mark.parametrize(
    ("before", "after", "moved"),
    [
        ("Proposal/Price Quote", "Discovery", Direction.BACKWARD),
        ("Negotiation/Review", "Needs Analysis", Direction.BACKWARD),
        ("Qualification", "Needs Analysis", Direction.FORWARD),
        ("Needs Analysis", "Value Proposition", Direction.SAME),
        ("Negotiation/Review", "Closed Lost", Direction.FORWARD),
        ("Closed Lost", "Qualification", Direction.REOPENED),
        ("Closed Won", "Closed Lost", Direction.UNKNOWN),
        ("Backlog", "Discovery", Direction.UNKNOWN),
    ],
)
def test_direction(before: str, after: str, moved: Direction) -> None:
    assert direction(classify_stage(before), classify_stage(after)) is moved


def test_direction_without_a_previous_stage_is_unknown() -> None:
    assert direction(None, StageKind.EARLY) is Direction.UNKNOWN


@pytest.mark.parametrize(
    ("text", "deal_type"),
    [
        ("Existing Customer - Upgrade", DealType.EXPANSION),  # dreamhouse-lwc OpportunityType
        ("Existing Customer - Replacement", DealType.RENEWAL),
        ("Existing Customer - Downgrade", DealType.RENEWAL),
        ("New Customer", DealType.NEW_BUSINESS),
        ("newbusiness", DealType.NEW_BUSINESS),  # HubSpot dealtype
        ("existingbusiness", DealType.EXISTING),
        ("Renewal", DealType.RENEWAL),
        ("Upsell", DealType.EXPANSION),
        ("Cross-sell", DealType.EXPANSION),
        ("Closed Won (Renewal)", DealType.RENEWAL),
        ("Closed Won – Expansion", DealType.EXPANSION),
        ("Negotiation/Review", None),
    ],
)
def test_deal_type(text: str, deal_type: DealType | None) -> None:
    assert deal_type_of(text) is deal_type


def test_renewal_is_a_type_not_a_stage() -> None:
    assert classify_stage("Renewal") is StageKind.UNKNOWN
    assert deal_type_of(None, "", "Renewal") is DealType.RENEWAL


@pytest.mark.parametrize(
    ("name", "before_contact"),
    [
        ("Prospecting", True),
        ("appointmentscheduled", True),
        ("Appointment Scheduled", True),
        ("Lead", True),
        ("New Lead", True),
        ("Open - Not Contacted", True),
        ("Attempting contact", True),
        ("Meeting scheduled", True),
        ("MQL", True),
        ("Qualification", False),
        ("qualifiedtobuy", False),
        ("Discovery", False),
        ("Working - Contacted", False),
        ("Lead qualified", False),
        ("Needs Analysis", False),
        ("Closed Lost", False),
        (None, False),
        ("", False),
    ],
)
def test_stages_before_first_contact(name: str | None, before_contact: bool) -> None:
    """Where the CRM says nobody has met the buyer yet, seed 000's questions wait."""
    assert is_pre_contact(name) is before_contact


def test_an_override_can_make_a_stage_past_contact() -> None:
    assert is_pre_contact("Intake") is False  # a name no rule knows is not early
    assert is_pre_contact("New") is True
    assert is_pre_contact("New", {"new": StageKind.EVALUATION}) is False
