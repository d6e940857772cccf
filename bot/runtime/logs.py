"""Structured JSON logs, one object a line, with request and delivery ids, and no secrets.

Anything that looks like a Slack token, and the exact values of the configured secrets, are
replaced by ``[redacted]`` before a line is written, whoever logged it (our code, Bolt,
slack_sdk, uvicorn).

What people write (notes, answers) cannot be recognised by a pattern, so it must not reach a
log line at all: the libraries whose detailed levels dump whole payloads (slack_sdk's
requests and answers, SQLAlchemy's statements with their parameters, the database drivers'
calls) are held at :data:`PAYLOAD_LOGGERS`' levels whatever ``--log-level`` says.

Every HTTP request gets an id (:class:`RequestIds`, also sent back as ``X-Request-Id``), every
outbox row's work its delivery id (set by the outbox worker)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from datetime import UTC, datetime
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
delivery_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "delivery_id", default=None
)

PAYLOAD_LOGGERS = {
    "slack_sdk": logging.INFO,  # DEBUG: every Web API / Socket Mode request and answer, whole
    "slack_bolt": logging.INFO,  # DEBUG: request bodies and ack bodies
    "trustbot.bolt": logging.INFO,  # Bolt's own logger in this app (bot/app.py)
    "sqlalchemy": logging.WARNING,  # INFO: every statement with its parameters
    "aiosqlite": logging.INFO,  # DEBUG: every call with its arguments
    "psycopg": logging.INFO,
    "apscheduler.jobstores": logging.INFO,
}
"""Loggers held at (at least) these levels: below them they write message and note texts."""

TOKEN = re.compile(r"\b(?:xox[abposr]|xapp|xoxe(?:\.xox[bp])?)-[A-Za-z0-9-]+")
REDACTED = "[redacted]"


class Redactor:
    """Masks Slack tokens and the given secret values in text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = TOKEN.sub(REDACTED, text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id"?, "delivery_id"?, "error"?}``."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for name, var in (("request_id", request_id), ("delivery_id", delivery_id)):
            value = getattr(record, name, None) or var.get()
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "info", secrets: Iterable[str | None] = ()) -> None:
    """Send every logger's records through one JSON handler on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(Redactor(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name, floor in PAYLOAD_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, root.level))


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIds:
    """ASGI middleware: each HTTP request's log lines carry a ``request_id`` (the caller's
    ``X-Request-Id`` when it sent a plain one, say from a load balancer, else a new one),
    which the answer repeats in ``X-Request-Id``. Bolt's middleware narrows it to Slack's
    ``event_id`` or ``trigger_id`` once a request reaches a listener."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if REQUEST_ID.match(given) else uuid.uuid4().hex[:16]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
