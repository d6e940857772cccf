"""JSON logs carry ids and never a token or a configured secret."""

from __future__ import annotations

import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from bot.runtime.logs import REDACTED, JsonFormatter, Redactor, delivery_id, request_id


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("trustbot.test", logging.INFO, __file__, 1, message, args, None)


def test_lines_are_json_with_ids() -> None:
    formatter = JsonFormatter(Redactor())
    token = request_id.set("req-1")
    d = delivery_id.set(42)
    try:
        line = json.loads(formatter.format(record("sent %s", "ok")))
    finally:
        request_id.reset(token)
        delivery_id.reset(d)
    assert line["message"] == "sent ok" and line["request_id"] == "req-1"
    assert line["delivery_id"] == 42 and line["level"] == "info"


def test_tokens_and_secrets_are_redacted_also_in_tracebacks() -> None:
    secret = "pseudonym-key-very-secret"
    formatter = JsonFormatter(Redactor([secret, "shhh-signing"]))
    text = formatter.format(record("token xoxb-123-456-abc and xapp-1-A1-2 key %s", secret))
    assert "xoxb-" not in text and "xapp-1" not in text and secret not in text
    assert text.count(REDACTED) == 3
    try:
        raise RuntimeError("bad signing secret shhh-signing")
    except RuntimeError:
        import sys

        rec = record("failed")
        rec.exc_info = sys.exc_info()
    assert "shhh-signing" not in formatter.format(rec)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40))
def test_any_bot_token_is_redacted(tail: str) -> None:
    assert "xoxb-" not in Redactor()(f"Authorization: Bearer xoxb-{tail}")


def test_payload_loggers_stay_quiet_at_debug() -> None:
    """--log-level debug must not turn on the libraries that dump message and note texts."""
    import bot.runtime.logs as logs

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    held = {name: logging.getLogger(name).level for name in logs.PAYLOAD_LOGGERS}
    try:
        logs.configure("debug", secrets=["a-configured-secret"])
        assert logging.getLogger("bot.slack.sender").isEnabledFor(logging.DEBUG)
        for name in ("slack_sdk.web.async_base_client", "aiosqlite", "trustbot.bolt"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
        assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
        logs.configure("error")
        assert not logging.getLogger("slack_sdk").isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, was in held.items():
            logging.getLogger(name).setLevel(was)


async def test_every_http_request_gets_an_id_echoed_in_the_answer() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bot.runtime.logs import RequestIds

    async def which(_: Request) -> PlainTextResponse:
        return PlainTextResponse(request_id.get() or "")

    app = Starlette(routes=[Route("/", which)], middleware=[Middleware(RequestIds)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        given = await client.get("/", headers={"X-Request-Id": "lb-7f3a.1"})
        assert given.text == given.headers["x-request-id"] == "lb-7f3a.1"
        made = [await client.get("/") for _ in range(2)]
        assert made[0].text == made[0].headers["x-request-id"] and len(made[0].text) == 16
        assert made[0].text != made[1].text
        odd = await client.get("/", headers={"X-Request-Id": "not an id; " + "x" * 80})
        assert odd.text == odd.headers["x-request-id"] and " " not in odd.text
    assert request_id.get() is None  # nothing leaks out of the request
