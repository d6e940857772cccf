"""Signed HTTP delivery to an app's Request URL, acks, response_url and trigger_id use."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_emulator import SlackEmulator
from tests.emulator.conftest import BOT_TOKEN, Receiver
from tests.support.blocks import modal

HELP = [{"type": "section", "text": {"type": "mrkdwn", "text": "*/trust help*"}}]
QUESTION: list[dict[str, Any]] = [
    {"type": "section", "block_id": "q", "text": {"type": "mrkdwn", "text": "Honest forecast?"}},
    {
        "type": "actions",
        "block_id": "answers",
        "elements": [
            {
                "type": "button",
                "action_id": "score_5",
                "text": {"type": "plain_text", "text": "5"},
                "value": "5",
            },
            {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Pick"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Yes"}, "value": "yes"},
                    {"text": {"type": "plain_text", "text": "No"}, "value": "no"},
                ],
            },
        ],
    },
]


async def test_slash_command_is_form_encoded_and_signed(
    emu: SlackEmulator, receiver: Receiver
) -> None:
    emu.connect_http(receiver.url)
    delivery = await emu.asend_command("/trust", "help", user_id="U1", channel_id="C1")
    assert delivery.ok and delivery.via == "http" and delivery.body is None
    [request] = receiver.requests
    assert request["valid"] and request["kind"] == "command"
    form = request["payload"]
    assert form["command"] == "/trust" and form["text"] == "help"
    assert form["user_id"] == "U1" and form["user_name"] == "ana"
    assert form["channel_id"] == "C1" and form["channel_name"] == "sales-managers"
    assert form["team_id"] == "T0001" and form["api_app_id"] == "A0EMULATOR"
    assert form["response_url"].startswith(emu.base_url + "/response-url/")
    assert len(form["trigger_id"].split(".")) == 3
    headers = request["headers"]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert headers["X-Slack-Signature"].startswith("v0=")


async def test_command_defaults_to_the_users_dm(emu: SlackEmulator, receiver: Receiver) -> None:
    emu.connect_http(receiver.url)
    await emu.asend_command("/trust", "me", user_id="U2")
    form = receiver.requests[0]["payload"]
    assert form["channel_id"] == emu.dm_channel_id("U2")
    assert form["channel_name"] == "directmessage"


async def test_ack_body_is_returned_and_shown_as_ephemeral(
    emu: SlackEmulator, receiver: Receiver
) -> None:
    async def answer(kind: str, payload: dict[str, Any]) -> web.StreamResponse:
        return web.json_response({"response_type": "ephemeral", "text": "Help", "blocks": HELP})

    receiver.handler = answer
    emu.connect_http(receiver.url)
    delivery = await emu.asend_command("/trust", "help", user_id="U1", channel_id="C1")
    assert delivery.body == {"response_type": "ephemeral", "text": "Help", "blocks": HELP}
    [shown] = emu.ephemerals("U1")
    assert shown["text"] == "Help" and shown["channel"] == "C1" and shown["source"] == "ack"


async def test_invalid_ack_blocks_are_reported(emu: SlackEmulator, receiver: Receiver) -> None:
    async def answer(kind: str, payload: dict[str, Any]) -> web.StreamResponse:
        return web.json_response({"blocks": [{"type": "header", "text": {"type": "mrkdwn"}}]})

    receiver.handler = answer
    emu.connect_http(receiver.url)
    delivery = await emu.asend_command("/trust", "help", user_id="U1")
    assert delivery.errors
    assert emu.validation_failures[0].source == "ack"
    assert emu.ephemerals() == []


async def test_forged_and_stale_signatures_reach_the_app_as_sent(
    emu: SlackEmulator, receiver: Receiver
) -> None:
    emu.connect_http(receiver.url)
    forged = await emu.asend_command("/trust", "help", user_id="U1", signature="v0=forged")
    stale = await emu.asend_command(
        "/trust", "help", user_id="U1", timestamp=int(time.time()) - 600
    )
    assert forged.status == stale.status == 401
    assert [r["valid"] for r in receiver.requests] == [False, False]
    raw = await emu.asend_command(
        "/trust", user_id="U1", raw_body="command=%2Ftrust&text=raw", headers={"X-Test": "1"}
    )
    assert raw.status == 200  # a raw body is still signed correctly unless told otherwise
    assert receiver.requests[-1]["payload"] == {"command": "/trust", "text": "raw"}
    assert receiver.requests[-1]["headers"]["X-Test"] == "1"


async def test_slow_acks_time_out(emu: SlackEmulator, receiver: Receiver) -> None:
    async def slow(kind: str, payload: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(0.5)
        return web.Response()

    receiver.handler = slow
    emu.connect_http(receiver.url)
    delivery = await emu.asend_command("/trust", "help", user_id="U1", ack_timeout=0.1)
    assert delivery.timed_out and not delivery.ok and delivery.status == 0


async def test_events_and_their_retries(emu: SlackEmulator, receiver: Receiver) -> None:
    emu.connect_http(receiver.url)
    event = {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "D1"}
    first = await emu.asend_event(event)
    retry = await emu.asend_event(event, event_id=first.event_id, retry_num=1)
    reasoned = await emu.asend_event(
        event, event_id=first.event_id, retry_num=2, retry_reason="http_error"
    )
    assert first.ok and retry.ok and reasoned.ok
    payloads = [r["payload"] for r in receiver.requests]
    assert {p["event_id"] for p in payloads} == {first.event_id}
    envelope = payloads[0]
    assert envelope["type"] == "event_callback"
    assert envelope["team_id"] == "T0001" and envelope["api_app_id"] == "A0EMULATOR"
    assert envelope["event"]["type"] == "app_home_opened" and envelope["event"]["event_ts"]
    assert isinstance(envelope["event_time"], int)
    assert envelope["authorizations"][0]["user_id"] == "U0BOT"
    headers = [r["headers"] for r in receiver.requests]
    assert "X-Slack-Retry-Num" not in headers[0]
    assert headers[1]["X-Slack-Retry-Num"] == "1"
    assert headers[1]["X-Slack-Retry-Reason"] == "http_timeout"
    assert headers[2]["X-Slack-Retry-Reason"] == "http_error"
    assert headers[0]["Content-Type"] == "application/json"


async def test_command_trigger_opens_a_modal(emu: SlackEmulator, receiver: Receiver) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)

    async def open_setup(kind: str, payload: dict[str, Any]) -> web.StreamResponse:
        await client.views_open(trigger_id=payload["trigger_id"], view=modal(callback_id="setup"))
        return web.Response()

    receiver.handler = open_setup
    emu.connect_http(receiver.url)
    await emu.asend_command("/trust", "setup", user_id="U2")
    [opened] = emu.views_opened("U2")
    assert opened["callback_id"] == "setup"


async def test_click_and_respond_via_response_url(emu: SlackEmulator, receiver: Receiver) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    posted = await client.chat_postMessage(channel="U1", text="Check-in", blocks=QUESTION)

    async def record(kind: str, payload: dict[str, Any]) -> web.StreamResponse:
        webhook = AsyncWebhookClient(payload["response_url"])
        answer = payload["actions"][0].get("value") or payload["actions"][0]["selected_option"]
        result = await webhook.send(replace_original=True, text=f"Recorded {answer}")
        assert result.status_code == 200
        return web.Response()

    receiver.handler = record
    emu.connect_http(receiver.url)
    delivery = await emu.asend_click("U1", "score_5")
    payload = receiver.requests[0]["payload"]
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "score_5"
    assert payload["actions"][0]["block_id"] == "answers"
    assert payload["actions"][0]["value"] == "5"
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == posted["ts"]
    assert payload["channel"]["id"] == posted["channel"]
    assert payload["user"]["id"] == "U1"
    assert delivery.response_url == payload["response_url"]
    [message] = emu.dm_messages("U1")
    assert message["text"] == "Recorded 5" and message["blocks"] == []
    [post] = emu.response_url_posts(payload["response_url"])
    assert post.status == 200 and post.body["replace_original"] is True

    await emu.asend_click("U1", "pick", message=message | {"blocks": QUESTION}, value="no")
    selected = receiver.requests[1]["payload"]["actions"][0]["selected_option"]
    assert selected["value"] == "no"


async def test_response_url_refuses_bad_blocks(emu: SlackEmulator, receiver: Receiver) -> None:
    emu.connect_http(receiver.url)
    await emu.asend_command("/trust", "help", user_id="U1")
    url = receiver.requests[0]["payload"]["response_url"]
    bad = await AsyncWebhookClient(url).send(blocks=[{"type": "nope"}])
    assert bad.status_code == 400
    good = await AsyncWebhookClient(url).send(text="in channel", response_type="in_channel")
    assert good.status_code == 200
    assert [p.status for p in emu.response_url_posts()] == [400, 200]
    assert emu.dm_messages("U1")[0]["text"] == "in channel"


async def test_block_action_in_a_view(emu: SlackEmulator, receiver: Receiver) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    await client.views_publish(user_id="U1", view={"type": "home", "blocks": QUESTION})
    emu.connect_http(receiver.url)
    await emu.asend_click("U1", "score_5")
    payload = receiver.requests[0]["payload"]
    assert payload["container"]["type"] == "view"
    assert payload["view"]["type"] == "home"
    assert "response_url" not in payload  # Slack gives none for views
    with pytest.raises(LookupError):
        await emu.asend_click("U1", "missing")


async def test_view_submission_acks(emu: SlackEmulator, receiver: Receiver) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    view = (await client.views_open(trigger_id=emu.issue_trigger("U1"), view=modal()))["view"]
    answers: list[dict[str, Any]] = [
        {"response_action": "errors", "errors": {"note": "Too short"}},
        {"response_action": "update", "view": modal(private_metadata="saved")},
        {
            "response_action": "update",
            "view": modal(title={"type": "plain_text", "text": "x" * 30}),
        },
    ]

    async def answer(kind: str, payload: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(answers.pop(0)) if answers else web.Response()

    receiver.handler = answer
    emu.connect_http(receiver.url)
    values = {"note": {"text": {"type": "plain_text_input", "value": "ok"}}}
    errors = await emu.asend_view_submission("U1", view, values)
    assert errors.body == {"response_action": "errors", "errors": {"note": "Too short"}}
    submitted = receiver.requests[0]["payload"]
    assert submitted["type"] == "view_submission"
    assert submitted["view"]["id"] == view["id"]
    assert submitted["view"]["state"]["values"] == values
    assert submitted["trigger_id"]
    await emu.asend_view_submission("U1", view, values)
    assert emu.view(view["id"])["private_metadata"] == "saved"  # type: ignore[index]
    refused = await emu.asend_view_submission("U1", view, values)
    assert refused.errors == ["must be less than 25 characters [json-pointer:/view/title/text]"]
    closed = await emu.asend_view_closed("U1", view)
    assert receiver.requests[-1]["payload"]["type"] == "view_closed" and closed.ok


def test_delivering_without_an_app_is_an_error(emu: SlackEmulator) -> None:
    with pytest.raises(RuntimeError, match="not connected"):
        emu.send_event({"type": "app_home_opened", "user": "U1"})


async def test_deliveries_are_recorded_in_the_transcript(tmp_path: Any, receiver: Receiver) -> None:
    import json

    path = tmp_path / "t.jsonl"
    with SlackEmulator(transcript_path=path) as emu:
        emu.add_user("U1")
        emu.connect_http(receiver.url)
        await emu.asend_command("/trust", "status", user_id="U1")
        assert [d.kind for d in emu.deliveries] == ["slash_commands"]
    [line] = [json.loads(x) for x in path.read_text().splitlines()]
    assert line["direction"] == "slack->app"
    assert line["kind"] == "slash_commands"
    assert line["payload"]["text"] == "status"
    assert line["status"] == 200
