"""Fixtures: a started emulator with a small workspace, and a signed-request receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from slack_emulator import SlackEmulator

SECRET = "s3cret"
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret=SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN) as e:
        e.add_user("U1", name="ana", tz="America/New_York", email="ana@example.com")
        e.add_user("U2", name="ben", tz="Europe/Paris", is_admin=True, email="ben@example.com")
        e.add_user("U3", name="gone", deleted=True, email="gone@example.com")
        e.add_channel("C1", name="sales-managers")
        yield e


def second_workspace(emu: SlackEmulator) -> tuple[SlackEmulator, WebClient, WebClient]:
    """Workspace T0002 "Beta" (bot token ``xoxb-beta``) added now, and a Web API client for
    each of the two workspaces."""
    beta = emu.add_workspace("T0002", "Beta", bot_token="xoxb-beta")
    acme = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    return beta, acme, WebClient(token="xoxb-beta", base_url=emu.api_url)


Handler = Callable[[str, dict[str, Any]], Awaitable[web.StreamResponse]]


@dataclass
class Receiver:
    """A tiny app endpoint that checks Slack's signature like Bolt does."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    handler: Handler | None = None


async def _default(kind: str, payload: dict[str, Any]) -> web.StreamResponse:
    return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    verifier = SignatureVerifier(SECRET)
    rec = Receiver()

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.text()
        valid = verifier.is_valid(
            body=raw,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
        )
        if not valid:
            rec.requests.append({"valid": False, "headers": dict(request.headers)})
            return web.Response(status=401, text="invalid signature")
        if request.content_type == "application/json":
            payload = json.loads(raw)
            kind = "event"
        else:
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            if "payload" in form:
                payload, kind = json.loads(form["payload"]), "interactive"
            else:
                payload, kind = form, "command"
        rec.requests.append(
            {"valid": True, "kind": kind, "payload": payload, "headers": dict(request.headers)}
        )
        return await (rec.handler or _default)(kind, payload)

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield rec
    await runner.cleanup()
