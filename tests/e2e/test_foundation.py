"""End to end: /trust over both transports, signatures, retried events, health."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.deals import deal
from tests.support.stack import WEBHOOK_SECRET, Stack
from tests.support.waiting import wait_for


def test_trust_help_is_answered(stack: Stack) -> None:
    reply = stack.emulator.send_command("/trust", "help", user_id="U0REP1", channel_id="C0SALES")
    assert reply.status == 200
    text = str(reply.body)
    assert "/trust snooze <days>" in text
    assert "/trust schedule <team> <mon..sun> <HH:MM>" in text


def test_unknown_word_gets_a_helpful_reply(stack: Stack) -> None:
    reply = stack.emulator.send_command("/trust", "helo", user_id="U0REP1", channel_id="C0SALES")
    assert reply.status == 200
    assert "I don't know `helo`" in str(reply.body)
    assert "Did you mean `help`?" in str(reply.body)


def test_bad_arguments_show_the_right_form(stack: Stack) -> None:
    reply = stack.emulator.send_command(
        "/trust", "anonymity sales 2", user_id="U0ADMIN", channel_id="C0SALES"
    )
    assert "never be below 3" in str(reply.body)
    assert "/trust anonymity <team> <k>" in str(reply.body)


def test_retried_event_is_handled_once_even_across_restart(stack: Stack) -> None:
    emu = stack.emulator
    event = {"type": "app_home_opened", "user": "U0REP1", "tab": "home"}
    first = emu.send_event(event, event_id="Ev0001")
    assert first.status == 200
    wait_for(lambda: len(emu.views_published("U0REP1")) == 1)
    for attempt in (1, 2):
        retry = emu.send_event(
            event, event_id="Ev0001", retry_num=attempt, retry_reason="http_timeout"
        )
        assert retry.status == 200
    stack.restart()
    assert emu.send_event(event, event_id="Ev0001", retry_num=3).status == 200
    emu.send_event(event, event_id="Ev0002")  # a new event is handled
    wait_for(lambda: len(emu.views_published("U0REP1")) == 2)
    time.sleep(0.3)  # nothing more arrives late
    assert len(emu.views_published("U0REP1")) == 2


def test_healthz_answers_when_the_database_does(stack: Stack) -> None:
    r = httpx.get(f"{stack.server.url}/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True}


@pytest.mark.parametrize("how", ["forged", "stale", "missing"])
def test_bad_signatures_are_refused(emulator, database_url, how: str) -> None:  # type: ignore[no-untyped-def]
    from tests.support.stack import start_app

    server = start_app(emulator, database_url, "http")
    try:
        overrides: dict = {
            "forged": {"signature": "v0=" + "0" * 64},
            "stale": {"timestamp": int(time.time()) - 6 * 60},
            "missing": {"headers": {"X-Slack-Signature": ""}},
        }[how]
        reply = emulator.send_command(
            "/trust", "help", user_id="U0REP1", channel_id="C0SALES", **overrides
        )
        assert reply.status == 401
    finally:
        server.stop()


def test_web_api_failures_are_retried(stack: Stack) -> None:
    """5xx answers and 429 + Retry-After are retried by the client's retry handlers."""
    emu = stack.emulator
    emu.inject_failure(method="views.publish", kind="status", status=503, times=2)
    emu.send_event({"type": "app_home_opened", "user": "U0REP1", "tab": "home"}, event_id="EvR1")
    wait_for(lambda: len(emu.views_published("U0REP1")) == 1)
    statuses = [c.status for c in emu.calls_to("views.publish")]
    assert statuses == [503, 503, 200]
    emu.inject_failure(method="views.publish", kind="status", status=429, times=1)
    emu.send_event({"type": "app_home_opened", "user": "U0REP1", "tab": "home"}, event_id="EvR2")
    wait_for(lambda: len(emu.views_published("U0REP1")) == 2, timeout=8)
    assert [c.status for c in emu.calls_to("views.publish")][-2:] == [429, 200]


def test_deal_webhook_is_served_by_the_app(http_stack: Stack) -> None:
    """POST /webhooks/deals on the running app: accepted once, then a duplicate; unsigned 401."""
    import json

    from bot.app.webhooks import sign

    body = json.dumps(deal("crm-1", {"slack_user_id": "U0REP1"}))
    url = f"{http_stack.server.url}/webhooks/deals"

    def post(signed: bool = True) -> httpx.Response:
        ts = str(int(time.time()))
        headers = {"X-Trustbot-Request-Timestamp": ts, "Content-Type": "application/json"}
        if signed:
            headers["X-Trustbot-Signature"] = sign(WEBHOOK_SECRET, ts, body)
        return httpx.post(url, content=body, headers=headers)

    assert post(signed=False).status_code == 401
    first = post()
    assert first.status_code == 202 and first.json()["accepted"] is True
    again = post()
    assert again.status_code == 200 and again.json()["duplicate"] is True
