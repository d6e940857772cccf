"""conversations.history through a real slack_sdk client: order, bounds, metadata, pages."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from tests.emulator.conftest import BOT_TOKEN, second_workspace


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


# ----------------------------------------------- apps distributed outside the Marketplace


def test_tier_3_pages_by_default(emu: SlackEmulator, client: WebClient) -> None:
    """Marketplace and internal apps: default ``limit`` 100, "Maximum of 999" (slack-api-ref
    docs.slack.dev/methods/conversations.history.json); the 15-message rule is off."""
    sent = [_post(client, "C1", f"m{i}") for i in range(20)]
    assert len(client.conversations_history(channel="C1")["messages"]) == 20
    assert len(client.conversations_history(channel="C1", limit=17)["messages"]) == 17
    assert len(client.conversations_history(channel="C1")["messages"]) == len(sent)


def test_non_marketplace_pages_hold_at_most_15(emu: SlackEmulator, client: WebClient) -> None:
    """ "The maximum and default values for the limit parameter have both been reduced to 15
    objects" (docs.slack.dev/reference/methods/conversations.history; changelog 2025-05-29
    "Rate limit changes for non-Marketplace apps"). A larger ``limit`` is not an error: the page
    is cut to 15 (what Slack does is undocumented; third parties report this)."""
    sent = [_post(client, "C1", f"m{i}") for i in range(20)]
    emu.set_non_marketplace_history()
    default = client.conversations_history(channel="C1")
    assert [m["ts"] for m in default["messages"]] == sent[::-1][:15]
    assert default["has_more"] is True
    emu.clock.advance(60)
    asked_more = client.conversations_history(channel="C1", limit=200)
    assert len(asked_more["messages"]) == 15
    emu.clock.advance(60)
    cursor = asked_more["response_metadata"]["next_cursor"]
    rest = client.conversations_history(channel="C1", limit=100, cursor=cursor)
    assert [m["ts"] for m in rest["messages"]] == sent[::-1][15:]
    emu.clock.advance(60)
    assert len(client.conversations_history(channel="C1", limit=3)["messages"]) == 3


def test_non_marketplace_one_call_a_minute(emu: SlackEmulator, client: WebClient) -> None:
    """ "this method is rate limited to 1 request per minute" (docs.slack.dev/reference/methods/
    conversations.history), per method per workspace like every limit (docs.slack.dev/apis/
    web-api/rate-limits); a second call answers HTTP 429, ``ratelimited`` and ``Retry-After``
    the whole seconds left. The emulator's clock stands in for the minute."""
    emu.set_non_marketplace_history()
    dm = emu.dm_channel_id("U1")
    assert client.conversations_history(channel="C1")["ok"]
    emu.clock.advance(20.5)
    for channel in ("C1", dm):  # another channel is the same method: no fresh budget
        with pytest.raises(SlackApiError) as info:
            client.conversations_history(channel=channel)
        assert info.value.response.status_code == 429
        assert info.value.response["error"] == "ratelimited"
        assert info.value.response.headers["Retry-After"] == "40"  # 39.5 s, rounded up
    assert emu.calls[-1].status == 429
    assert client.users_info(user="U1")["ok"]  # other methods are not affected
    emu.clock.advance(39.5)
    assert client.conversations_history(channel=dm)["ok"]


def test_non_marketplace_minute_is_per_workspace(emu: SlackEmulator) -> None:
    """Slack's limits are counted "per API method per workspace/team per app"
    (docs.slack.dev/apis/web-api/rate-limits)."""
    emu.set_non_marketplace_history()
    beta, acme, other = second_workspace(emu)
    beta.add_channel("C2", name="beta-sales")
    assert acme.conversations_history(channel="C1")["ok"]
    assert other.conversations_history(channel="C2")["ok"]
    with pytest.raises(SlackApiError):
        other.conversations_history(channel="C2")


def test_the_limits_are_an_option(emu: SlackEmulator, client: WebClient) -> None:
    """Internal (customer-built) apps "will maintain their existing rate limits" (changelog
    2025-06-03), so the rule is off unless asked for, and can be turned off again."""
    with SlackEmulator(non_marketplace_history=True) as strict:
        strict.add_channel("C1", name="c")
        strict_client = WebClient(token=strict.bot_token, base_url=strict.api_url)
        strict_client.conversations_history(channel="C1")
        with pytest.raises(SlackApiError):
            strict_client.conversations_history(channel="C1")
        strict.set_non_marketplace_history(False)
        assert strict_client.conversations_history(channel="C1")["ok"]
    for _ in range(3):
        assert client.conversations_history(channel="C1")["ok"]
