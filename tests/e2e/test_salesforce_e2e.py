"""Salesforce end to end: Outbound Messages in Salesforce's documented format posted to the
running app, the rep found in the emulator's ``users.lookupByEmail``, the nudge planned."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.app.salesforce_webhook import ACK
from bot.core import deals
from bot.core.deals.rules import Moment
from bot.storage.models import Delivery
from slack_emulator import SlackEmulator
from tests.support.db import rows
from tests.support.deals import (
    PLANNED,
    deal_events,
    moment_of,
    nudge_deliveries,
    settled,
    team_with,
)
from tests.support.salesforce import (
    ACCOUNT,
    BILLION_LAUGHS,
    HEADERS,
    OPP,
    ORG,
    PERCEPTION,
    lost_a_day_later,
    message,
    owner,
)
from tests.support.stack import APP_TOKEN, Stack, app_settings, serve
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def salesforce_stack(emulator: SlackEmulator, database_url: str) -> Iterator[Stack]:
    settings = app_settings(
        emulator, database_url, SLACK_APP_TOKEN=APP_TOKEN, TRUSTBOT_SALESFORCE_ORG_ID=ORG
    )
    stack = Stack(emulator, serve(emulator, settings, "http"), "http", database_url)
    yield stack
    stack.server.stop()


def test_outbound_messages_become_deal_moments(salesforce_stack: Stack) -> None:
    stack = salesforce_stack
    stack.emulator.set_user("U0REP1", email="ana@example.com")
    team_with(stack, "U0REP1")
    url = f"{stack.server.url}/webhooks/salesforce"
    with httpx.Client(timeout=10) as http:

        def post(body: bytes) -> httpx.Response:
            return http.post(url, content=body, headers=HEADERS)

        # the first message about the deal: its state is remembered, nothing to ask yet
        first = post(message("Proposal/Price Quote", extra=owner()))
        assert (first.status_code, first.text) == (200, ACK)
        # Salesforce's own sample, one stage on: into negotiation
        moved = message(
            notification="04l5w00005286hBBBQ", modified="2020-05-10T09:00:00Z", extra=owner()
        )
        assert post(moved).text == ACK
        [negotiation] = wait_for(lambda: settled(stack, 1))
        assert (negotiation.source, negotiation.deal_id, negotiation.change) == (
            "salesforce",
            OPP,
            "stage_changed",
        )
        assert negotiation.status in PLANNED and negotiation.rep_user_id is None  # forgotten
        assert [d.user_id for d in rows(stack.database_url, Delivery)] == ["U0REP1"]
        assert moment_of(negotiation) is Moment.NEGOTIATION
        # Salesforce retries: the same notification again is acknowledged, not stored again
        assert post(moved).text == ACK
        assert post(lost_a_day_later()).text == ACK
        found = wait_for(lambda: settled(stack, 2))
        assert [(e.change, e.from_value, e.to_value) for e in found] == [
            ("stage_changed", "Proposal/Price Quote", "Negotiation/Review"),
            ("lost", "Negotiation/Review", "Closed Lost"),
        ]
        assert moment_of(found[1]) is Moment.LOST
        assert found[1].status in (*PLANNED, deals.SKIPPED)  # one nudge per deal per 24 h
        assert len(nudge_deliveries(stack)) >= 1
        # other objects are acknowledged; another org and hostile XML are refused
        assert post(ACCOUNT).text == ACK
        assert post(PERCEPTION).status_code == 403
        refused = post(BILLION_LAUGHS)
        assert refused.status_code == 400
        assert "<faultcode>soapenv:Client</faultcode>" in refused.text
    assert len(deal_events(stack)) == 2
