"""Listener wrappers: work after the ack, in turn."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError

from bot.slack.middleware import AfterAck


async def test_acks_go_out_at_once_and_the_work_waits_its_turn() -> None:
    after_ack = AfterAck(limit=2)
    acked: list[int] = []
    working = 0
    most = 0
    release = asyncio.Event()

    @after_ack
    async def listener(ack: Any, n: int) -> None:
        nonlocal working, most
        await ack(n)
        working += 1
        most = max(most, working)
        await release.wait()
        working -= 1

    async def ack(n: int) -> None:
        acked.append(n)

    runs = [asyncio.create_task(listener(ack=ack, n=n)) for n in range(6)]
    await asyncio.sleep(0.05)
    assert sorted(acked) == list(range(6))  # every request answered while the work queues
    assert (working, most) == (2, 2)
    release.set()
    await asyncio.gather(*runs)
    assert most == 2


async def test_an_event_listener_waits_its_turn_and_a_failure_frees_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after_ack = AfterAck(limit=1)
    order: list[str] = []

    @after_ack
    async def failing() -> None:  # an event: Bolt has acked, the listener has no `ack`
        order.append("failing")
        raise RuntimeError("boom")

    @after_ack
    async def next_one() -> None:
        order.append("next")

    with caplog.at_level(logging.ERROR, logger="bot.slack.middleware"):
        await asyncio.gather(failing(), next_one())  # the failure is caught and logged
    assert order == ["failing", "next"]
    assert [r.getMessage() for r in caplog.records] == [
        "failing failed: something went wrong inside Trustbot (it is in the log)"
    ]


def bare_app() -> AsyncApp:
    """A Bolt app that neither verifies requests nor asks Slack who its token is."""

    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-t")

    return AsyncApp(signing_secret="s", request_verification_enabled=False, authorize=authorize)


def command_request(command: str) -> AsyncBoltRequest:
    """A slash command as Slack posts it (unsigned: the app below does not verify)."""
    form = {
        "command": command,
        "text": "",
        "team_id": "T1",
        "user_id": "U1",
        "channel_id": "C1",
        "trigger_id": "1.2.3",
        "response_url": "http://127.0.0.1:9/commands/1",  # nobody listens: the report fails
    }
    return AsyncBoltRequest(
        body=urlencode(form), headers={"content-type": ["application/x-www-form-urlencoded"]}
    )


async def test_a_listener_that_raises_right_after_its_ack_is_still_answered_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Attack on the ack: a listener failing within Bolt's 10 ms poll of its ack (an expired
    trigger answered at once) made Bolt drop the ack and answer 404 after 3 s."""
    app = bare_app()
    after_ack = AfterAck()

    @app.command("/boom")
    @after_ack
    async def boom(ack: Any) -> None:
        await ack()
        raise SlackApiError("views.open", {"ok": False, "error": "expired_trigger_id"})

    with caplog.at_level(logging.ERROR, logger="bot.slack.middleware"):
        started = time.monotonic()
        response = await app.async_dispatch(command_request("/boom"))
        took = time.monotonic() - started
        await asyncio.sleep(0.2)  # the report, after the ack
    assert response.status == 200 and took < 1, (response.status, took)
    assert [r.getMessage() for r in caplog.records] == [
        "boom failed: Slack no longer let Trustbot open the window (`expired_trigger_id`)"
    ]


async def test_a_listener_that_raises_before_its_ack_is_acked_for_it() -> None:
    app = bare_app()

    @app.command("/early")
    @AfterAck()
    async def early(ack: Any) -> None:
        raise RuntimeError("before the ack")

    response = await app.async_dispatch(command_request("/early"))
    assert response.status == 200


async def test_a_modal_that_fails_before_its_ack_shows_the_error_in_the_modal() -> None:
    app = bare_app()

    @app.view("form")
    @AfterAck()
    async def save(ack: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "form",
            "state": {"values": {"name": {"value": {"type": "plain_text_input"}}}},
        },
    }
    response = await app.async_dispatch(
        AsyncBoltRequest(
            body=urlencode({"payload": json.dumps(payload)}),
            headers={"content-type": ["application/x-www-form-urlencoded"]},
        )
    )
    assert response.status == 200
    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {
            "name": "Sorry, that did not work: Trustbot's database is busy or unreachable. "
            "Please try again in a moment."
        },
    }


async def test_every_listener_of_the_app_does_its_work_after_its_ack(sqlite_url: str) -> None:
    """Each listener is marked with ``@after_ack`` explicitly; none is left unbounded."""
    from bot.app.bolt import create_app
    from bot.runtime import Runtime
    from bot.runtime.settings import load_settings
    from bot.storage import Database

    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="test-signing-secret",
        TRUSTBOT_DATABASE_URL=sqlite_url,
    )
    db = Database(sqlite_url)
    try:
        app = create_app(Runtime(settings=settings, db=db))
        listeners = app._async_listeners
        assert len(listeners) >= 12
        unbounded = [
            listener.ack_function.__name__
            for listener in listeners
            if not isinstance(getattr(listener.ack_function, "after_ack", None), AfterAck)
        ]
        assert unbounded == []
    finally:
        await db.dispose()
