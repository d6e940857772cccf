"""Modals (trigger_id rules) and the App Home."""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import SlackEmulator
from tests.emulator.conftest import BOT_TOKEN
from tests.support.blocks import modal, section


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=emu.api_url)


def home(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "home", "blocks": list(blocks) or [section("Your trend")]}


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def test_views_open_returns_the_stored_view(client: WebClient, emu: SlackEmulator) -> None:
    trigger = emu.issue_trigger("U1")
    view = client.views_open(trigger_id=trigger, view=modal(private_metadata="42"))["view"]
    assert view["id"].startswith("V")
    assert view["type"] == "modal"
    assert view["private_metadata"] == "42"
    assert view["root_view_id"] == view["id"]
    assert view["state"] == {"values": {}}
    assert view["hash"]
    assert emu.views_opened("U1") == [view]
    assert emu.view(view["id"]) == view


def test_trigger_ids_are_single_use(client: WebClient, emu: SlackEmulator) -> None:
    trigger = emu.issue_trigger("U1")
    client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError) as again:
        client.views_open(trigger_id=trigger, view=modal())
    assert _error(again) == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as unknown:
        client.views_open(trigger_id="123.456.abc", view=modal())
    assert _error(unknown) == "invalid_trigger_id"


def test_trigger_ids_expire() -> None:
    with SlackEmulator(trigger_ttl=0.05) as emu:
        emu.add_user("U1")
        client = WebClient(token="xoxb-test", base_url=emu.api_url)
        trigger = emu.issue_trigger("U1")
        time.sleep(0.1)
        with pytest.raises(SlackApiError) as exc:
            client.views_open(trigger_id=trigger, view=modal())
        assert _error(exc) == "expired_trigger_id"


def test_invalid_views_answer_invalid_arguments(client: WebClient, emu: SlackEmulator) -> None:
    trigger = emu.issue_trigger("U1")
    bad = modal(title={"type": "plain_text", "text": "A title that is far too long"})
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=trigger, view=bad)
    body = exc.value.response.data
    assert body["error"] == "invalid_arguments"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    assert emu.views_opened() == []
    assert emu.validation_failures[0].surface == "modal"


def test_push_and_update(client: WebClient, emu: SlackEmulator) -> None:
    root = client.views_open(trigger_id=emu.issue_trigger("U1"), view=modal())["view"]
    pushed = client.views_push(trigger_id=emu.issue_trigger("U1"), view=modal())["view"]
    assert pushed["root_view_id"] == root["id"]
    assert pushed["previous_view_id"] == root["id"]
    updated = client.views_update(
        view_id=root["id"], hash=root["hash"], view=modal(private_metadata="v2")
    )["view"]
    assert updated["id"] == root["id"]
    assert updated["hash"] != root["hash"]
    assert emu.view(root["id"])["private_metadata"] == "v2"  # type: ignore[index]
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=root["id"], hash=root["hash"], view=modal())
    assert _error(stale) == "hash_conflict"
    with pytest.raises(SlackApiError) as missing:
        client.views_update(view_id="V404", view=modal())
    assert _error(missing) == "not_found"
    client.views_push(trigger_id=emu.issue_trigger("U1"), view=modal())
    with pytest.raises(SlackApiError) as limit:
        client.views_push(trigger_id=emu.issue_trigger("U1"), view=modal())
    assert _error(limit) == "push_limit_reached"
    assert [e["kind"] for e in emu.view_events()] == ["open", "push", "update", "push"]


def test_views_update_by_external_id(client: WebClient, emu: SlackEmulator) -> None:
    client.views_open(trigger_id=emu.issue_trigger("U1"), view=modal(external_id="checkin-1"))
    updated = client.views_update(external_id="checkin-1", view=modal(external_id="checkin-1"))
    assert updated["view"]["external_id"] == "checkin-1"
    with pytest.raises(SlackApiError) as dup:
        client.views_open(trigger_id=emu.issue_trigger("U2"), view=modal(external_id="checkin-1"))
    assert _error(dup) == "duplicate_external_id"


def test_publish_home(client: WebClient, emu: SlackEmulator) -> None:
    first = client.views_publish(user_id="U1", view=home())["view"]
    second = client.views_publish(user_id="U1", view=home(section("Updated")))["view"]
    assert first["type"] == "home"
    assert second["id"] == first["id"]
    assert [v["blocks"][0]["text"]["text"] for v in emu.views_published("U1")] == [
        "Your trend",
        "Updated",
    ]
    assert emu.home_view("U1")["blocks"][0]["text"]["text"] == "Updated"  # type: ignore[index]
    assert emu.views_published("U2") == []
    with pytest.raises(SlackApiError) as unknown:
        client.views_publish(user_id="U404", view=home())
    assert unknown.value.response["response_metadata"]["messages"] == ["[ERROR] invalid `user_id`"]
    with pytest.raises(SlackApiError) as too_many:
        client.views_publish(user_id="U1", view=home(*[section()] * 101))
    assert _error(too_many) == "invalid_arguments"
