"""The error codes Slack answers about users and channels the app may not reach, and expired
triggers, set up with the emulator's own methods."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import SlackEmulator
from slack_emulator.api_methods import USER_ERRORS
from tests.emulator.conftest import BOT_TOKEN

MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Note"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
}


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=emu.api_url)


def _error(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    assert info.value.response.status_code == 200
    return str(info.value.response["error"])


@pytest.mark.parametrize("code", sorted(USER_ERRORS))
def test_user_errors_for_dms(emu: SlackEmulator, client: WebClient, code: str) -> None:
    """conversations.open documents user_not_visible ("The calling user is restricted from
    seeing the requested user."), invalid_user_combination, restricted_action, user_not_found,
    user_disabled (slack-api-ref docs.slack.dev/methods/conversations.open.json);
    account_inactive is chat.postMessage's (methods/chat/chat.postMessage.json). That a post to
    the user's ID, or to their DM, answers the same is our reading: chat.postMessage opens the
    DM itself, and Slack documents no other code for it."""
    dm = emu.dm_channel_id("U1")
    emu.set_user_error("U1", code)
    assert _error(lambda: client.conversations_open(users="U1")) == code
    assert _error(lambda: client.chat_postMessage(channel="U1", text="x")) == code
    assert _error(lambda: client.chat_postMessage(channel=dm, text="x")) == code
    assert emu.dm_messages("U1") == []
    emu.set_user_error("U1", None)
    assert client.chat_postMessage(channel="U1", text="x")["ok"]


def test_users_info_answers_the_codes_it_documents(emu: SlackEmulator, client: WebClient) -> None:
    """users.info documents user_not_found and user_not_visible ("The requested user is not
    visible to the calling user", slack-api-ref docs.slack.dev/methods/users.info.json); the
    other codes leave it alone."""
    emu.hide_user("U1")
    assert _error(lambda: client.users_info(user="U1")) == "user_not_visible"
    emu.restrict_user("U2")
    assert client.users_info(user="U2")["ok"]
    assert _error(lambda: client.conversations_open(users="U2")) == "restricted_action"
    with pytest.raises(ValueError):
        emu.set_user_error("U1", "not_a_slack_code")


def test_deleted_users_stay_user_disabled(emu: SlackEmulator, client: WebClient) -> None:
    """A deactivated user: conversations.open answers user_disabled ("A specified `user` has
    been disabled."); what chat.postMessage answers is not documented, so it is the emulator's
    ``deleted_user_dm_error`` (user_disabled by default)."""
    assert _error(lambda: client.conversations_open(users="U3")) == "user_disabled"
    assert _error(lambda: client.chat_postMessage(channel="U3", text="x")) == "user_disabled"
    emu.set_user("U1", deleted=True)
    assert _error(lambda: client.chat_postMessage(channel="U1", text="x")) == "user_disabled"


def test_public_channel_without_the_bot(emu: SlackEmulator, client: WebClient) -> None:
    """not_in_channel: "Cannot post user messages to a channel they are not in."
    (chat.postMessage.json); conversations.history: "Only user tokens can access public
    channels they are not in." (conversations.history.json). conversations.info still
    describes it (channels:read covers every public channel)."""
    emu.remove_bot_from_channel("C1")
    assert _error(lambda: client.chat_postMessage(channel="C1", text="x")) == "not_in_channel"
    assert _error(lambda: client.conversations_history(channel="C1")) == "not_in_channel"
    assert client.conversations_info(channel="C1")["channel"]["is_member"] is False
    emu.invite_bot("C1")
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_private_channel_without_the_bot_does_not_exist(
    emu: SlackEmulator, client: WebClient
) -> None:
    """A private channel the bot was not invited to answers channel_not_found, as if it did not
    exist: Slack's reference does not say it; apps observe it (getsentry/sentry#119600 "If
    channel is private and @sentry not in the channel the error will be 404 - the same as the
    channel does not really exist"; 18F/standup-slack-bot#82)."""
    emu.add_channel("G1", name="secret", is_private=True, is_member=False)
    assert _error(lambda: client.chat_postMessage(channel="G1", text="x")) == "channel_not_found"
    assert _error(lambda: client.chat_postMessage(channel="#secret", text="x")) == (
        "channel_not_found"
    )
    assert _error(lambda: client.conversations_history(channel="G1")) == "channel_not_found"
    assert _error(lambda: client.conversations_info(channel="G1")) == "channel_not_found"
    emu.invite_bot("G1")
    assert client.chat_postMessage(channel="G1", text="x")["ok"]
    emu.remove_bot_from_channel("G1")
    ts = emu.messages("G1")[0]["ts"]
    assert _error(lambda: client.chat_update(channel="G1", ts=ts, text="y")) == (
        "channel_not_found"
    )


def test_archived_channel(emu: SlackEmulator, client: WebClient) -> None:
    """is_archived: "Channel has been archived." (chat.postMessage.json); chat.update there:
    is_inactive, "cannot be edited within a frozen, archived or deleted channel"
    (chat.update.json). Its history can still be read."""
    ts = client.chat_postMessage(channel="C1", text="before")["ts"]
    emu.archive_channel("C1")
    assert _error(lambda: client.chat_postMessage(channel="C1", text="x")) == "is_archived"
    assert _error(lambda: client.chat_update(channel="C1", ts=ts, text="y")) == "is_inactive"
    assert [m["text"] for m in client.conversations_history(channel="C1")["messages"]] == ["before"]
    assert client.conversations_info(channel="C1")["channel"]["is_archived"] is True
    emu.archive_channel("C1", archived=False)
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_deleted_channel(emu: SlackEmulator, client: WebClient) -> None:
    """channel_not_found: "Value passed for `channel` was invalid." (chat.postMessage.json,
    conversations.history.json)."""
    client.chat_postMessage(channel="C1", text="x")
    emu.delete_channel("C1")
    assert _error(lambda: client.chat_postMessage(channel="C1", text="x")) == "channel_not_found"
    assert _error(lambda: client.conversations_history(channel="C1")) == "channel_not_found"
    assert emu.messages("C1") == []
    with pytest.raises(KeyError):
        emu.archive_channel("C1")


def test_expired_trigger(emu: SlackEmulator, client: WebClient) -> None:
    """expired_trigger_id: "The trigger_id is expired." (slack-api-ref docs.slack.dev/methods/
    views.open.json); a trigger lives 3 s, so apps must open a modal within the ack. Expired
    by the emulator's clock or on demand."""
    old = emu.issue_trigger("U1")
    emu.clock.advance(3.01)
    assert _error(lambda: client.views_open(trigger_id=old, view=MODAL)) == "expired_trigger_id"
    fresh = emu.issue_trigger("U1")
    emu.expire_trigger(fresh)
    assert _error(lambda: client.views_open(trigger_id=fresh, view=MODAL)) == "expired_trigger_id"
    assert _error(lambda: client.views_push(trigger_id=fresh, view=MODAL)) == "expired_trigger_id"
    assert client.views_open(trigger_id=emu.issue_trigger("U1"), view=MODAL)["ok"]
