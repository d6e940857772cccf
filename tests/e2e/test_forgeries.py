"""Requests Slack would never send on its own, sent to the running app: deal metadata from an
app nobody allowed, a click that names another rep's DM, the setup modal's team picker used
by someone who is not an admin. Each is refused and changes nothing."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from bot.storage.models import DealEvent, SlackEventSeen
from slack_emulator import payloads
from tests.support.checkin_dm import REP, SCALE, current, primary, send_checkin
from tests.support.db import rows
from tests.support.deals import deal, metadata_event, settled, team_with
from tests.support.stack import BOT_TOKEN, Stack, start_app, trust
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

OTHER = "U0REP2"

# -- deal metadata ---------------------------------------------------------------------------


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "TRUSTBOT_DEAL_APP_IDS" in r.getMessage()]


def test_attack_deal_metadata_from_an_app_nobody_allowed_is_stored_nowhere(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Attack: any app in the workspace posts ``deal_updated`` message metadata (the manifest
    subscribes to every app's, ``app_id: "*"``) to get a deal name of its choosing DM'd to a
    rep. On main it was stored and the rep nudged."""
    caplog.set_level(logging.WARNING, logger="bot.core.deals.planning")
    team_with(stack, "U0REP1")
    emu = stack.emulator
    for n in (1, 2):
        forged = metadata_event(deal(f"evil-{n}", {"slack_user_id": "U0REP1"}))
        forged["app_id"] = "A0EVIL"
        assert emu.send_event(forged, event_id=f"Ev-evil-{n}").status == 200
    wait_for(lambda: refusals(caplog))
    allowed = metadata_event(deal("crm-1", {"slack_user_id": "U0REP1"}))  # the CRM's app
    emu.send_event(allowed, event_id="Ev-crm-1")
    wait_for(lambda: settled(stack, 1))
    assert [e.event_id for e in rows(stack.database_url, DealEvent)] == ["crm-1"]
    seen = [e.event_id for e in rows(stack.database_url, SlackEventSeen)]
    assert "Ev-crm-1" in seen and not any(e.startswith("Ev-evil") for e in seen)
    assert len(refusals(caplog)) == 1  # once per app, not per event
    assert "A0EVIL" in refusals(caplog)[0]


def test_with_no_app_allowed_no_deal_metadata_is_accepted(
    http_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """TRUSTBOT_DEAL_APP_IDS is empty by default: metadata from any app is refused."""
    caplog.set_level(logging.WARNING, logger="bot.core.deals.planning")
    http_stack.server.stop()
    http_stack.server = start_app(
        http_stack.emulator, http_stack.database_url, "http", TRUSTBOT_DEAL_APP_IDS=""
    )
    team_with(http_stack, "U0REP1")
    http_stack.emulator.send_event(metadata_event(deal("crm-1", {"slack_user_id": "U0REP1"})))
    wait_for(lambda: refusals(caplog))
    assert rows(http_stack.database_url, DealEvent) == []


# -- a click that names another rep's DM --------------------------------------------------------


def test_attack_a_forged_click_cannot_redraw_another_reps_dm(http_stack: Stack) -> None:
    """Attack: a rep answers their own check-in with a click whose container names another
    rep's DM message. On main the redraw went where the payload said: the bot overwrote the
    other rep's message with the first rep's check-in and answers."""
    emu = http_stack.emulator
    sent = send_checkin(http_stack)
    bot = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    theirs = bot.chat_postMessage(channel=OTHER, text="Your check-in is on its way")
    their_message = emu.message(theirs["channel"], theirs["ts"])
    assert their_message is not None
    block_id, element = payloads.find_element(current(http_stack, sent)["blocks"], answer_id())
    forged = emu.send_block_action(
        REP,
        [payloads.click_action(block_id, element)],
        message={**their_message, "channel": theirs["channel"]},
        channel_id=theirs["channel"],
    )
    assert forged.status == 200
    assert wait_for(lambda: primary(current(http_stack, sent), SCALE)) == ["4"]  # their own DM
    assert emu.message(theirs["channel"], theirs["ts"]) == their_message  # untouched
    updated = {c.args.get("channel") for c in emu.calls_to("chat.update")}
    assert updated == {sent.channel}


def answer_id() -> str:
    return f"checkin.answer:{SCALE}:4"


# -- the setup modal's team picker -----------------------------------------------------------


def test_attack_the_setup_team_picker_gives_a_non_admin_no_roster(
    http_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Attack: a rep sends the setup modal's ``setup.pick`` action (with an admin's modal,
    or any modal of their own) to have it redrawn with a team's reps and managers. On main
    the picker answered anyone."""
    caplog.set_level(logging.WARNING, logger="handlers.actions")
    emu = http_stack.emulator
    trust(http_stack, "team create sales <#C0SALES>")
    trust(http_stack, "team add sales <@U0REP1> <@U0REP2>")
    emu.send_command("/trust", "setup", user_id="U0ADMIN", channel_id="C0SALES")
    view = wait_for(lambda: emu.views_opened("U0ADMIN"))[0]
    assert emu.send_click(REP, "setup.pick", view=view, value="sales").status == 200
    wait_for(lambda: [r for r in caplog.records if "setup team picker" in r.getMessage()])
    assert emu.calls_to("views.update") == []
    # an admin's pick still fills the modal in
    emu.send_click("U0ADMIN", "setup.pick", view=view, value="sales")
    updated = wait_for(lambda: emu.calls_to("views.update"))
    assert "U0REP2" in str(updated[0].args)
