"""Web API methods through real slack_sdk clients."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from tests.emulator.conftest import APP_TOKEN, BOT_TOKEN

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=emu.api_url)


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def test_urls_use_a_free_loopback_port(emu: SlackEmulator) -> None:
    assert emu.port > 0
    assert emu.base_url == f"http://127.0.0.1:{emu.port}"
    assert emu.api_url == f"http://127.0.0.1:{emu.port}/api/"


def test_auth_test_answers_as_the_bot(client: WebClient) -> None:
    response = client.auth_test()
    assert response["ok"] is True
    assert response["team_id"] == "T0001"
    assert response["user_id"] == "U0BOT"
    assert response["bot_id"] == "B0BOT"


def test_tokens_missing_wrong_or_of_the_wrong_type(emu: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=emu.api_url).auth_test()
    assert _error(missing) == "not_authed"
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-nope", base_url=emu.api_url).auth_test()
    assert _error(wrong) == "invalid_auth"
    with pytest.raises(SlackApiError) as app_token:
        WebClient(token=APP_TOKEN, base_url=emu.api_url).auth_test()
    assert _error(app_token) == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as bot_for_socket:
        WebClient(token=BOT_TOKEN, base_url=emu.api_url).apps_connections_open(app_token=BOT_TOKEN)
    assert _error(bot_for_socket) == "not_allowed_token_type"


def test_unknown_methods_answer_200_unknown_method(emu: SlackEmulator) -> None:
    with urllib.request.urlopen(emu.api_url + "reactions.add") as resp:
        assert resp.status == 200
        assert json.loads(resp.read()) == {"ok": False, "error": "unknown_method"}


def test_api_test_echoes_args_without_a_token(emu: SlackEmulator) -> None:
    response = WebClient(base_url=emu.api_url).api_test(foo="bar")
    assert response["args"] == {"foo": "bar"}


def test_post_to_a_user_id_opens_the_dm(client: WebClient, emu: SlackEmulator) -> None:
    first = client.chat_postMessage(channel="U1", text="hi", blocks=[SECTION])
    second = client.chat_postMessage(channel="U1", text="again")
    assert first["channel"].startswith("D")
    assert second["channel"] == first["channel"] == emu.dm_channel_id("U1")
    assert first["message"]["bot_id"] == "B0BOT"
    assert first["message"]["blocks"][0]["block_id"]  # Slack assigns block_ids
    assert [m["text"] for m in emu.dm_messages("U1")] == ["hi", "again"]
    assert float(second["ts"]) > float(first["ts"])


def test_post_to_a_channel_with_thread_and_metadata(client: WebClient, emu: SlackEmulator) -> None:
    parent = client.chat_postMessage(channel="C1", text="digest")
    metadata = {"event_type": "digest_posted", "event_payload": {"week": "2026-W48"}}
    reply = client.chat_postMessage(
        channel="C1", text="details", thread_ts=parent["ts"], metadata=metadata
    )
    stored = emu.message("C1", reply["ts"])
    assert stored is not None
    assert stored["thread_ts"] == parent["ts"]
    assert stored["metadata"] == metadata
    assert [m["ts"] for m in emu.messages("C1")] == [parent["ts"], reply["ts"]]


def test_form_encoded_and_json_bodies_are_both_accepted(emu: SlackEmulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    client.api_call("chat.postMessage", data={"channel": "C1", "text": "form"})
    client.api_call("chat.postMessage", json={"channel": "C1", "text": "json"})
    client.api_call("chat.postMessage", params={"channel": "C1", "text": "query"})
    assert [m["text"] for m in emu.messages("C1")] == ["form", "json", "query"]
    assert [c.args["text"] for c in emu.calls_to("chat.postMessage")] == ["form", "json", "query"]


def test_post_errors(client: WebClient, emu: SlackEmulator) -> None:
    emu.add_channel("C9", name="archived", is_archived=True)
    emu.add_channel("C8", name="not-joined", is_member=False)
    emu.add_user("UB", name="otherbot", is_bot=True)
    cases = {
        "C404": "channel_not_found",
        "U404": "channel_not_found",
        "C9": "is_archived",
        "C8": "not_in_channel",
        "U3": "user_disabled",
        "UB": "cannot_dm_bot",
    }
    for channel, error in cases.items():
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel=channel, text="x")
        assert _error(exc) == error, channel
    with pytest.raises(SlackApiError) as no_text:
        client.api_call("chat.postMessage", json={"channel": "C1"})
    assert _error(no_text) == "no_text"


def test_update_and_delete(client: WebClient, emu: SlackEmulator) -> None:
    posted = client.chat_postMessage(channel="U1", text="v1", blocks=[SECTION])
    channel, ts = posted["channel"], posted["ts"]
    updated = client.chat_update(channel=channel, ts=ts, text="v2", blocks=[])
    assert updated["text"] == "v2"
    assert updated["ts"] == ts
    stored = emu.message(channel, ts)
    assert stored is not None and stored["text"] == "v2" and stored["blocks"] == []
    assert "edited" in stored
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel=channel, ts="1.000001", text="x")
    assert _error(missing) == "message_not_found"
    with pytest.raises(SlackApiError) as by_user:
        client.chat_update(channel="U1", ts=ts, text="x")
    assert _error(by_user) == "channel_not_found"
    assert client.chat_delete(channel=channel, ts=ts)["ts"] == ts
    assert emu.dm_messages("U1") == []
    with pytest.raises(SlackApiError) as gone:
        client.chat_delete(channel=channel, ts=ts)
    assert _error(gone) == "message_not_found"


def test_post_ephemeral(client: WebClient, emu: SlackEmulator) -> None:
    response = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert response["message_ts"]
    [ephemeral] = emu.ephemerals("U1")
    assert ephemeral["channel"] == "C1"
    assert ephemeral["text"] == "only you"
    assert emu.messages("C1") == []
    with pytest.raises(SlackApiError) as exc:
        client.chat_postEphemeral(channel="C1", user="U404", text="x")
    assert _error(exc) == "user_not_in_channel"


def test_conversations_open_and_info(client: WebClient, emu: SlackEmulator) -> None:
    opened = client.conversations_open(users="U1")
    channel_id = opened["channel"]["id"]
    again = client.conversations_open(users=["U1"], return_im=True)
    assert again["already_open"] is True
    assert again["channel"]["id"] == channel_id
    assert again["channel"]["user"] == "U1"
    info = client.conversations_info(channel=channel_id)["channel"]
    assert info["is_im"] is True
    channel = client.conversations_info(channel="C1")["channel"]
    assert channel["name"] == "sales-managers"
    assert channel["is_channel"] is True
    with pytest.raises(SlackApiError) as disabled:
        client.conversations_open(users="U3")
    assert _error(disabled) == "user_disabled"
    with pytest.raises(SlackApiError) as unknown:
        client.conversations_open(users="U404")
    assert _error(unknown) == "user_not_found"
    with pytest.raises(SlackApiError) as missing:
        client.conversations_info(channel="C404")
    assert _error(missing) == "channel_not_found"


def test_users_info_reports_tz_for_now(client: WebClient) -> None:
    ana = client.users_info(user="U1")["user"]
    assert ana["tz"] == "America/New_York"
    assert ana["tz_offset"] in (-18000, -14400)
    assert ana["tz_label"] in ("Eastern Standard Time", "Eastern Daylight Time")
    assert ana["profile"]["email"] == "ana@example.com"
    ben = client.users_info(user="U2")["user"]
    assert ben["is_admin"] is True and ben["is_owner"] is False
    assert ben["tz_offset"] in (3600, 7200)
    assert client.users_info(user="U3")["user"]["deleted"] is True
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="U404")
    assert _error(exc) == "user_not_found"


def test_users_lookup_by_email(client: WebClient) -> None:
    assert client.users_lookupByEmail(email="BEN@example.com")["user"]["id"] == "U2"
    with pytest.raises(SlackApiError) as exc:
        client.users_lookupByEmail(email="nobody@example.com")
    assert _error(exc) == "users_not_found"


def test_team_info(client: WebClient) -> None:
    team = client.team_info()["team"]
    assert team["id"] == "T0001"
    assert team["name"] == "Acme"
    assert team["domain"] == "acme"


def test_invalid_blocks_are_refused_and_recorded(client: WebClient, emu: SlackEmulator) -> None:
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x", blocks=[too_long])
    body = exc.value.response.data
    assert body["error"] == "invalid_blocks"
    assert body["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert body["response_metadata"]["messages"][0].startswith("[ERROR] must be less than 3001")
    assert emu.messages("C1") == []
    [failure] = emu.validation_failures
    assert failure.source == "chat.postMessage"
    [call] = emu.calls_to("chat.postMessage")
    assert call.error == "invalid_blocks"
    with pytest.raises(SlackApiError) as fmt:
        client.api_call("chat.postMessage", data={"channel": "C1", "blocks": "[not json"})
    assert _error(fmt) == "invalid_blocks_format"


def test_calls_are_recorded_and_reset(client: WebClient, emu: SlackEmulator) -> None:
    client.auth_test()
    client.chat_postMessage(channel="C1", text="x")
    assert [c.method for c in emu.calls] == ["auth.test", "chat.postMessage"]
    call = emu.calls_to("chat.postMessage")[0]
    assert call.status == 200 and call.ok and call.response is not None
    assert call.args == {"channel": "C1", "text": "x"}
    emu.reset_calls()
    assert emu.calls == []
    assert emu.messages("C1")  # the workspace itself is kept


async def test_async_client(emu: SlackEmulator) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    response = await client.chat_postMessage(channel="U2", text="bonjour")
    assert response["ok"]
    assert emu.dm_messages("U2")[0]["text"] == "bonjour"


def test_transcript_has_one_json_line_per_call(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    with SlackEmulator(transcript_path=path) as emu:
        client = WebClient(token="xoxb-test", base_url=emu.api_url)
        client.auth_test()
        client.team_info()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["direction"], e["method"]) for e in lines] == [
        ("app->slack", "auth.test"),
        ("app->slack", "team.info"),
    ]
    assert all("time" in e and "response" in e for e in lines)
