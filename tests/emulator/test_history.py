"""conversations.history through a real slack_sdk client: order, bounds, metadata, pages."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from tests.emulator.conftest import BOT_TOKEN


def _post(client: WebClient, channel: str, text: str, **extra: Any) -> str:
    return str(client.chat_postMessage(channel=channel, text=text, **extra)["ts"])


def _pages(response: SlackResponse) -> list[list[str]]:
    """The ts of each page's messages (slack_sdk reuses one response object per page)."""
    return [[m["ts"] for m in page["messages"]] for page in response]


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=emu.api_url)


def test_newest_first_with_slacks_shape(emu: SlackEmulator, client: WebClient) -> None:
    first = _post(client, "U1", "one")
    second = _post(client, "U1", "two")
    dm = emu.dm_channel_id("U1")
    response = client.conversations_history(channel=dm)
    assert response["ok"] is True
    assert response["has_more"] is False
    assert [m["ts"] for m in response["messages"]] == [second, first]
    newest = response["messages"][0]
    assert newest["text"] == "two"
    assert newest["type"] == "message"
    assert newest["user"] == emu.state.bot_user_id
    assert newest["bot_id"] == emu.state.bot_id
    assert "channel" not in newest


def test_metadata_only_when_asked(emu: SlackEmulator, client: WebClient) -> None:
    metadata = {"event_type": "trustbot_delivery", "event_payload": {"delivery_id": 7}}
    _post(client, "U1", "hello", metadata=metadata)
    dm = emu.dm_channel_id("U1")
    plain = client.conversations_history(channel=dm)["messages"][0]
    assert "metadata" not in plain
    full = client.conversations_history(channel=dm, include_all_metadata=True)["messages"][0]
    assert full["metadata"] == metadata


def test_oldest_and_latest_are_exclusive_unless_inclusive(
    emu: SlackEmulator, client: WebClient
) -> None:
    a, b, c, d = (_post(client, "C1", text) for text in "abcd")
    between = client.conversations_history(channel="C1", oldest=a, latest=d)
    assert [m["text"] for m in between["messages"]] == ["c", "b"]
    inclusive = client.conversations_history(channel="C1", oldest=a, latest=d, inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["d", "c", "b", "a"]
    since = client.conversations_history(channel="C1", oldest=b)
    assert [m["ts"] for m in since["messages"]] == [d, c]
    whole_seconds = client.conversations_history(channel="C1", oldest="0", latest="99999999999")
    assert len(whole_seconds["messages"]) == 4


def test_limit_and_cursor_page_through_everything(emu: SlackEmulator, client: WebClient) -> None:
    sent = [_post(client, "C1", f"m{i}") for i in range(7)]
    first = client.conversations_history(channel="C1", limit=3)
    assert first["has_more"] is True
    assert [m["ts"] for m in first["messages"]] == sent[::-1][:3]
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel="C1", limit=3, cursor=cursor)
    assert [m["ts"] for m in second["messages"]] == sent[::-1][3:6]
    # slack_sdk's own pagination follows next_cursor until it is absent
    pages = _pages(client.conversations_history(channel="C1", limit=3))
    assert [ts for page in pages for ts in page] == sent[::-1]
    assert [len(page) for page in pages] == [3, 3, 1]


def test_cursor_keeps_the_oldest_bound(emu: SlackEmulator, client: WebClient) -> None:
    sent = [_post(client, "C1", f"m{i}") for i in range(5)]
    pages = _pages(client.conversations_history(channel="C1", oldest=sent[1], limit=2))
    assert [ts for page in pages for ts in page] == sent[:1:-1]


def test_thread_replies_deleted_and_updated_messages(emu: SlackEmulator, client: WebClient) -> None:
    parent = _post(client, "C1", "parent")
    _post(client, "C1", "reply", thread_ts=parent)
    gone = _post(client, "C1", "gone")
    client.chat_delete(channel="C1", ts=gone)
    client.chat_update(channel="C1", ts=parent, text="edited")
    messages = client.conversations_history(channel="C1")["messages"]
    assert [m["text"] for m in messages] == ["edited"]


def test_errors(emu: SlackEmulator, client: WebClient) -> None:
    emu.add_channel("C2", name="elsewhere", is_member=False)
    for channel, error in [("C404", "channel_not_found"), ("U1", "channel_not_found")]:
        with pytest.raises(SlackApiError) as info:
            client.conversations_history(channel=channel)
        assert info.value.response["error"] == error
    with pytest.raises(SlackApiError) as info:
        client.conversations_history(channel="C2")
    assert info.value.response["error"] == "not_in_channel"
    for args, error in [
        ({"oldest": "yesterday"}, "invalid_ts_oldest"),
        ({"latest": "soon"}, "invalid_ts_latest"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
    ]:
        with pytest.raises(SlackApiError) as info:
            client.conversations_history(channel="C1", **args)  # type: ignore[arg-type]
        assert info.value.response["error"] == error


def test_empty_dm_history(emu: SlackEmulator, client: WebClient) -> None:
    dm = client.conversations_open(users="U2")["channel"]["id"]
    response = client.conversations_history(channel=dm)
    assert response["messages"] == []
    assert response["has_more"] is False


def test_history_is_a_tier_3_method(emu: SlackEmulator, client: WebClient) -> None:
    emu.set_rate_limits(enabled=True)
    for _ in range(50):
        client.conversations_history(channel="C1")
    with pytest.raises(SlackApiError) as info:
        client.conversations_history(channel="C1")
    assert info.value.response.status_code == 429
    assert int(info.value.response.headers["Retry-After"]) >= 1


async def test_async_client_finds_a_message_by_metadata(emu: SlackEmulator) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    for delivery_id in (1, 2, 3):
        await client.chat_postMessage(
            channel="U1",
            text=f"check-in {delivery_id}",
            metadata={
                "event_type": "trustbot_delivery",
                "event_payload": {"delivery_id": delivery_id},
            },
        )
    dm = (await client.conversations_open(users="U1"))["channel"]["id"]
    response = await client.conversations_history(
        channel=dm, oldest="0", include_all_metadata=True, limit=100
    )
    found = [
        m["text"]
        for m in response["messages"]
        if m.get("metadata", {}).get("event_payload", {}).get("delivery_id") == 2
    ]
    assert found == ["check-in 2"]
