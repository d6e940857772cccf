"""Socket Mode with slack_sdk's aiohttp SocketModeClient and a Bolt AsyncApp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from tests.emulator.conftest import APP_TOKEN, BOT_TOKEN
from tests.support.blocks import modal


@pytest.fixture
async def socket_client(emu: SlackEmulator) -> AsyncIterator[SocketModeClient]:
    web_client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web_client)
    seen: list[SocketModeRequest] = []

    async def listener(c: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        seen.append(req)
        payload: dict[str, Any] | None = None
        if req.type == "slash_commands":
            payload = {"text": f"echo {req.payload['text']}"}
        await c.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload=payload)
        )

    client.socket_mode_request_listeners.append(listener)
    client.seen = seen  # type: ignore[attr-defined]
    await client.connect()
    assert await emu.await_socket(5)
    yield client
    await client.close()


async def test_connect_via_apps_connections_open(
    emu: SlackEmulator, socket_client: SocketModeClient
) -> None:
    [call] = emu.calls_to("apps.connections.open")
    assert call.ok and call.token == APP_TOKEN
    url = call.response["url"]  # type: ignore[index]
    assert url.startswith(f"ws://127.0.0.1:{emu.port}/socket-mode/")
    assert emu.socket_connected


async def test_command_over_the_socket_returns_the_ack_payload(
    emu: SlackEmulator, socket_client: SocketModeClient
) -> None:
    delivery = await emu.asend_command("/trust", "status", user_id="U1")
    assert delivery.via == "socket" and delivery.ok
    assert delivery.body == {"text": "echo status"}
    [req] = socket_client.seen  # type: ignore[attr-defined]
    assert req.type == "slash_commands"
    assert req.payload["command"] == "/trust"
    assert req.payload["response_url"].startswith(emu.base_url)
    assert emu.ephemerals("U1")[0]["text"] == "echo status"


async def test_events_carry_retry_attempt_and_reason(
    emu: SlackEmulator, socket_client: SocketModeClient
) -> None:
    first = await emu.asend_event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    await emu.asend_event(
        {"type": "app_home_opened", "user": "U1", "tab": "home"},
        event_id=first.event_id,
        retry_num=1,
        retry_reason="timeout",
    )
    first_req, retry_req = socket_client.seen  # type: ignore[attr-defined]
    assert first_req.type == "events_api"
    assert first_req.retry_attempt == 0
    assert retry_req.retry_attempt == 1 and retry_req.retry_reason == "timeout"
    assert retry_req.payload["event_id"] == first.event_id
    assert first.body is None


async def test_interactive_envelope(emu: SlackEmulator, socket_client: SocketModeClient) -> None:
    actions = [{"type": "button", "action_id": "snooze", "block_id": "b", "value": "7"}]
    delivery = await emu.asend_block_action("U1", actions)
    assert delivery.ok
    [req] = socket_client.seen  # type: ignore[attr-defined]
    assert req.type == "interactive"
    assert req.payload["type"] == "block_actions"
    assert req.payload["actions"][0]["action_id"] == "snooze"


async def test_unacknowledged_envelopes_time_out(emu: SlackEmulator) -> None:
    web_client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web_client)
    await client.connect()
    try:
        assert await emu.await_socket(5)
        delivery = await emu.asend_command("/trust", user_id="U1", ack_timeout=0.2)
        assert delivery.timed_out and not delivery.ok
    finally:
        await client.close()


async def _reconnected(emu: SlackEmulator, opens: int) -> None:
    for _ in range(250):
        if len(emu.calls_to("apps.connections.open")) >= opens and emu.hub.count == 1:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the client did not reconnect")


@pytest.mark.parametrize("how", ["disconnect_message", "dropped_socket"])
async def test_the_client_reconnects(
    emu: SlackEmulator, socket_client: SocketModeClient, how: str
) -> None:
    if how == "disconnect_message":
        await emu.adisconnect_socket("refresh_requested")
    else:
        await emu.adrop_sockets()
    await _reconnected(emu, 2)
    delivery = await emu.asend_command("/trust", "again", user_id="U1")
    assert delivery.body == {"text": "echo again"}


async def test_wait_for_socket_times_out_without_an_app(emu: SlackEmulator) -> None:
    assert not emu.wait_for_socket(0.05)
    assert not await emu.await_socket(0.05)


async def test_bolt_async_app_end_to_end(emu: SlackEmulator) -> None:
    app = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url))

    @app.command("/trust")
    async def trust(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        if body["text"] == "setup":
            await client.views_open(trigger_id=body["trigger_id"], view=modal(callback_id="setup"))
            await ack()
        else:
            await ack(text="Usage: /trust help")

    @app.action("score_5")
    async def score(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(replace_original=True, text="Thanks, recorded 5")

    handler = AsyncSocketModeHandler(app, APP_TOKEN, web_client=app.client)
    await handler.connect_async()
    try:
        assert await emu.await_socket(5)
        usage = await emu.asend_command("/trust", "oops", user_id="U1")
        assert usage.body == {"text": "Usage: /trust help"}
        await emu.asend_command("/trust", "setup", user_id="U2")
        assert emu.views_opened("U2")[0]["callback_id"] == "setup"

        blocks = [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "score_5",
                        "text": {"type": "plain_text", "text": "5"},
                        "value": "5",
                    }
                ],
            }
        ]
        await app.client.chat_postMessage(channel="U1", text="Check-in", blocks=blocks)
        await emu.asend_click("U1", "score_5")
        for _ in range(100):  # respond() runs after the ack
            if emu.dm_messages("U1")[0]["text"] != "Check-in":
                break
            await asyncio.sleep(0.02)
        assert emu.dm_messages("U1")[0]["text"] == "Thanks, recorded 5"
        assert emu.calls_to("auth.test")
        assert emu.validation_failures == []
    finally:
        await handler.close_async()
