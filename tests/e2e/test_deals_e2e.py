"""Deal updates end to end: Slack message metadata into the running app, and the webhook with
its rep looked up in the emulator's ``users.lookupByEmail``."""

from __future__ import annotations

import json

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, select
from starlette.applications import Starlette

from bot.app.webhooks import DealWebhooks
from bot.core import deals, teams
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.settings import load_settings
from bot.slack.users import email_resolver
from bot.storage import Database
from bot.storage.models import DealEvent, Delivery
from slack_emulator import SlackEmulator
from tests.support.db import rows
from tests.support.deals import (
    PLANNED,
    deal,
    deal_events,
    metadata_event,
    nudge_deliveries,
    settled,
    signed_headers,
    team_with,
)
from tests.support.stack import BOT_TOKEN, PSEUDONYM_KEY, WEBHOOK_SECRET, Stack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def test_deal_metadata_plans_a_nudge_once(stack: Stack) -> None:
    team_with(stack, "U0REP1")
    emu = stack.emulator
    event = metadata_event(deal("crm-1", {"slack_user_id": "U0REP1"}))
    assert emu.send_event(event).status == 200
    [stored] = wait_for(lambda: settled(stack, 1))
    assert (stored.source, stored.event_id, stored.workspace_id) == ("slack", "crm-1", "T0001")
    assert stored.status in PLANNED
    [nudge] = nudge_deliveries(stack)
    assert (nudge.deal_event_id, nudge.user_id, nudge.status) == (stored.id, "U0REP1", "pending")
    # the CRM posts the same update again (a new Slack event): still one deal event
    assert emu.send_event(event).status == 200
    emu.send_event(metadata_event(deal("crm-2", {"slack_user_id": "U0REP1"}, deal_id="D-7")))
    wait_for(lambda: settled(stack, 2))
    assert [e.event_id for e in deal_events(stack)] == ["crm-1", "crm-2"]
    assert len(nudge_deliveries(stack)) == 2


def test_a_rep_named_by_email_is_looked_up_in_slack(http_stack: Stack) -> None:
    emu = http_stack.emulator
    emu.set_user("U0REP1", email="ana@example.com")
    team_with(http_stack, "U0REP1")
    for n in (1, 2):
        payload = deal(f"crm-{n}", {"email": "ana@example.com"}, deal_id=f"D-{n}")
        emu.send_event(metadata_event(payload))
        wait_for(lambda n=n: settled(http_stack, n))
    found = deal_events(http_stack)
    assert {e.rep_user_id for e in found} == {None}  # planned: the events forget the rep
    assert {e.status for e in found} <= set(PLANNED)
    assert {d.user_id for d in rows(http_stack.database_url, Delivery)} == {"U0REP1"}
    assert len(emu.calls_to("users.lookupByEmail")) == 1  # the second one came from the cache


def test_an_unknown_or_invalid_rep_is_never_dropped_silently(http_stack: Stack) -> None:
    emu = http_stack.emulator
    team_with(http_stack, "U0REP1")
    emu.send_event(metadata_event(deal("crm-1", {"email": "nobody@example.com"})))
    emu.send_event(metadata_event(deal("crm-2", {"slack_user_id": "U0MGR"})))  # not a rep
    found = wait_for(lambda: settled(http_stack, 2))
    assert {e.status for e in found} == {deals.UNKNOWN_REP}
    assert nudge_deliveries(http_stack) == []
    # other apps' metadata and a bad payload are not ours: nothing stored
    emu.send_event(metadata_event({"id": "TK-1"}, event_type="task_created"))
    emu.send_event(metadata_event(deal("crm-3", {"email": "nobody"})))
    emu.send_event(metadata_event(deal("crm-4", {"slack_user_id": "U0REP1"})))
    wait_for(lambda: settled(http_stack, 3))
    # events are handled side by side, so stored in any order
    assert sorted(e.event_id for e in deal_events(http_stack)) == ["crm-1", "crm-2", "crm-4"]


async def test_the_webhook_resolves_reps_with_users_lookup_by_email(
    emulator: SlackEmulator, database_url: str
) -> None:
    """The route with the real Slack half: auth.test names the workspace and
    users.lookupByEmail the rep, both against the emulator, after the 202."""
    emulator.set_user("U0REP1", email="ana@example.com")
    settings = load_settings(
        TRUSTBOT_PSEUDONYM_KEY=PSEUDONYM_KEY, TRUSTBOT_WEBHOOK_SECRET=WEBHOOK_SECRET
    )
    db = Database(database_url)
    runtime = Runtime(settings=settings, db=db)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    webhooks = DealWebhooks(
        runtime,
        workspace=deals.single_workspace(runtime, client.auth_test),
        resolve_email=email_resolver(client, deals.EmailCache(runtime.clock)),
    )
    app = Starlette(routes=webhooks.routes())
    try:
        await ensure_workspace(db, "T0001", runtime.clock)
        await teams.create(db, "T0001", "U0ADMIN", "sales", "C0SALES", runtime.clock)
        await teams.add_people(
            db, "T0001", "U0ADMIN", "sales", ["U0REP1"], teams.REP, runtime.clock
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://trustbot.example.com"
        ) as http:
            replies = []
            for n, rep in enumerate(({"email": "ana@example.com"}, {"email": "x@example.com"})):
                body = json.dumps(deal(f"crm-{n}", rep, deal_id=f"D-{n}")).encode()
                headers = signed_headers(body)
                replies.append(await http.post("/webhooks/deals", content=body, headers=headers))
            assert [r.status_code for r in replies] == [202, 202]
            await webhooks.drain()
        async with db.session() as s:
            found = list((await s.exec(select(DealEvent).order_by(col(DealEvent.id)))).all())
        assert [(e.workspace_id, e.rep_user_id, e.rep_email) for e in found] == [
            ("T0001", None, None),  # planned: forgotten (the nudge names the rep while open)
            ("T0001", None, "x@example.com"),  # unknown: kept for /trust status
        ]
        assert found[0].status in PLANNED and found[1].status == deals.UNKNOWN_REP
        assert len(emulator.calls_to("auth.test")) == 1
        assert len(emulator.calls_to("users.lookupByEmail")) == 2
    finally:
        await webhooks.aclose()
        await db.dispose()
