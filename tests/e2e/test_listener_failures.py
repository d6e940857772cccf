"""A listener that fails after its ack tells the user what happened and logs one line; Slack
always gets its ack (bot/slack/middleware.py AfterAck)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from slack_emulator import SlackEmulator
from tests.support.checkin_dm import REP, send_checkin
from tests.support.slack_app import APP_SCOPES
from tests.support.stack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, Stack, start_app, trust
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(params=["http", "socket"])
def late_stack(request: pytest.FixtureRequest, database_url: str) -> Iterator[Stack]:
    """The app against a Slack whose trigger_ids have always expired by the time the app
    uses them (a trigger lives 3 s: a slow database or network is enough)."""
    with SlackEmulator(
        scopes=APP_SCOPES,
        signing_secret=SIGNING_SECRET,
        bot_token=BOT_TOKEN,
        app_token=APP_TOKEN,
        trigger_ttl=-1.0,
    ) as emu:
        emu.add_user("U0ADMIN", name="alex", is_admin=True)
        emu.add_user(REP, name="ana", tz="America/New_York")
        emu.add_channel("C0SALES", name="sales-managers")
        stack = Stack(emu, start_app(emu, database_url, request.param), request.param, database_url)
        yield stack
        stack.server.stop()


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.slack.middleware" and r.levelno >= logging.ERROR
    ]


def test_attack_an_expired_trigger_on_trust_setup_is_told_and_acked(
    late_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """views.open answers ``expired_trigger_id`` (slack-api-ref docs.slack.dev/methods/
    views.open.json): on main the error escaped to Bolt, the admin saw nothing, and a
    failure soon after the ack made Bolt answer 404 after 3 s."""
    emu = late_stack.emulator
    caplog.set_level(logging.ERROR, logger="bot.slack.middleware")
    reply = emu.send_command("/trust", "setup", user_id="U0ADMIN", channel_id="C0SALES")
    assert reply.status == 200 and not reply.timed_out
    posts = wait_for(lambda: emu.response_url_posts(reply.response_url))
    answer = posts[0].body
    assert answer.get("response_type") == "ephemeral"
    assert "expired_trigger_id" in str(answer) and "try again" in str(answer)
    assert emu.views_opened("U0ADMIN") == []
    wait_for(lambda: failures(caplog))
    assert failures(caplog) == [
        "trust failed: Slack no longer let Trustbot open the window (`expired_trigger_id`)"
    ]


def test_an_expired_trigger_on_a_check_ins_note_button_is_told_in_the_dm(
    late_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    emu = late_stack.emulator
    caplog.set_level(logging.ERROR, logger="bot.slack.middleware")
    send_checkin(late_stack)
    reply = emu.send_click(REP, "checkin.note")
    assert reply.status == 200 and not reply.timed_out
    posts = wait_for(lambda: emu.response_url_posts(reply.response_url))
    assert posts[0].body.get("response_type") == "ephemeral"
    assert posts[0].body.get("replace_original") is False  # the check-in itself stays
    assert "expired_trigger_id" in str(posts[0].body)
    wait_for(lambda: failures(caplog))
    assert len(failures(caplog)) == 1


SETUP_VALUES = {
    "name": {"value": {"type": "plain_text_input", "value": "north"}},
    "channel": {"value": {"type": "conversations_select", "selected_conversation": "C0SALES"}},
    "reps": {"value": {"type": "multi_users_select", "selected_users": [REP]}},
    "managers": {"value": {"type": "multi_users_select", "selected_users": []}},
    "day": {"value": {"type": "static_select", "selected_option": {"value": "mon"}}},
    "time": {"value": {"type": "timepicker", "selected_time": "09:00"}},
    "k": {"value": {"type": "number_input", "value": "5"}},
    "paused": {"value": {"type": "checkboxes", "selected_options": []}},
}


def test_attack_a_setup_submission_while_users_info_is_slow_is_acked_in_time(
    stack: Stack,
) -> None:
    """Attack on the ack: submit the setup modal as someone whose admin rights are not yet
    known while Slack's users.info takes 4 s. On main the save asked users.info before its
    ack, so Slack gave up on the ack (3 s) and showed the user an error."""
    emu = stack.emulator
    emu.send_command("/trust", "setup", user_id="U0ADMIN", channel_id="C0SALES")
    view = wait_for(lambda: emu.views_opened("U0ADMIN"))[0]
    emu.inject_failure("users.info", kind="delay", delay=4.0, times=1)
    reply = emu.send_view_submission("U0MGR", view, SETUP_VALUES)
    assert reply.status == 200 and not reply.timed_out
    refused = wait_for(lambda: [m for m in emu.dm_messages("U0MGR") if "Only Trustbot" in str(m)])
    assert "nothing was saved" in str(refused[0])
    assert "north" not in trust(stack, "team list")


def test_a_setup_submission_by_an_admin_is_saved_after_the_ack(stack: Stack) -> None:
    emu = stack.emulator
    emu.send_command("/trust", "setup", user_id="U0ADMIN", channel_id="C0SALES")
    view = wait_for(lambda: emu.views_opened("U0ADMIN"))[0]
    reply = emu.send_view_submission("U0ADMIN", view, SETUP_VALUES)
    assert reply.status == 200 and not reply.body  # acked: the modal closes
    wait_for(lambda: [m for m in emu.dm_messages("U0ADMIN") if "`north` saved" in str(m)])
    assert "north" in trust(stack, "team list")
