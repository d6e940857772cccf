"""JSON logs carry ids and never a token or a configured secret."""

from __future__ import annotations

import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from bot.logs import REDACTED, JsonFormatter, Redactor, delivery_id, request_id


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
