"""Sending to the app: Slack's request signing, payload shapes, HTTP and Socket Mode."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from slack_emulator.models import JsonDict

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def slack_signature(signing_secret: str, timestamp: str, body: str | bytes) -> str:
    """``v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))``: the ``X-Slack-Signature`` Slack puts
    on the requests it sends to an app."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode() + b":" + raw
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class HttpOverrides:
    """Test-only overrides of an HTTP delivery."""

    timestamp: int | str | None = None
    signature: str | None = None
    raw_body: str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Answer:
    """What the app answered to one delivery."""

    status: int
    body: JsonDict | str | None
    headers: dict[str, str]
    timed_out: bool = False


def form_body(fields: JsonDict) -> str:
    return urlencode({k: "" if v is None else str(v) for k, v in fields.items()})


def interactive_body(payload: JsonDict) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _parse_answer(text: str, content_type: str) -> JsonDict | str | None:
    if not text:
        return None
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        return parsed if isinstance(parsed, dict) else text
    return text


async def post_http(
    session: aiohttp.ClientSession,
    url: str,
    *,
    body: str,
    content_type: str,
    signing_secret: str,
    ack_wait: float,
    overrides: HttpOverrides,
    extra_headers: dict[str, str],
) -> Answer:
    """POST one signed request to the app's Request URL."""
    raw = overrides.raw_body if overrides.raw_body is not None else body
    timestamp = str(overrides.timestamp if overrides.timestamp is not None else int(time.time()))
    headers = {
        "Content-Type": content_type,
        "User-Agent": SLACK_USER_AGENT,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": overrides.signature or slack_signature(signing_secret, timestamp, raw),
        **extra_headers,
        **overrides.headers,
    }
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        async with session.post(
            url, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=ack_wait)
        ) as resp:
            text = await resp.text()
            return Answer(
                status=resp.status,
                body=_parse_answer(text, resp.headers.get("Content-Type", "")),
                headers=dict(resp.headers),
            )
    except TimeoutError:
        return Answer(status=0, body=None, headers={}, timed_out=True)
    except aiohttp.ClientError as exc:
        return Answer(status=0, body=f"connection error: {exc}", headers={})


class SocketHub:
    """The Socket Mode side: tickets from apps.connections.open, live sockets, acks."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self._tickets: set[str] = set()
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._acks: dict[str, asyncio.Future[JsonDict]] = {}
        self._lock = threading.Lock()
        self.connected = threading.Event()

    def new_ticket(self) -> str:
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return ticket

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._sockets)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The websocket endpoint (``/socket-mode/{ticket}``)."""
        ticket = request.match_info["ticket"]
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._lock:
            self._sockets[ticket] = ws
            count = len(self._sockets)
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": "applink-emulator",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        await ws.send_str(json.dumps(hello))
        self.connected.set()
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                waiter = self._acks.get(str(data.get("envelope_id")))
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
        finally:
            with self._lock:
                self._sockets.pop(ticket, None)
                if not self._sockets:
                    self.connected.clear()
        return ws

    def _latest(self) -> web.WebSocketResponse | None:
        with self._lock:
            live = [ws for ws in self._sockets.values() if not ws.closed]
        return live[-1] if live else None

    async def send(self, envelope: JsonDict, ack_wait: float) -> Answer:
        """Send an envelope on the newest socket and wait for its ack."""
        ws = self._latest()
        if ws is None:
            raise RuntimeError("no Socket Mode connection")
        envelope_id = str(envelope["envelope_id"])
        waiter: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        try:
            await ws.send_str(json.dumps(envelope))
            ack = await asyncio.wait_for(waiter, ack_wait)
        except TimeoutError:
            return Answer(status=0, body=None, headers={}, timed_out=True)
        finally:
            self._acks.pop(envelope_id, None)
        payload = ack.get("payload")
        return Answer(status=200, body=payload if payload else None, headers={})

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does before rotating hosts.

        Like Slack, the old socket stays open; the client closes it once reconnected.
        """
        with self._lock:
            sockets = list(self._sockets.values())
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "emu"}}
        for ws in sockets:
            if not ws.closed:
                await ws.send_str(json.dumps(message))

    async def close_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets.values())
        for ws in sockets:
            await ws.close()


def new_envelope_id() -> str:
    return str(uuid.uuid4())
