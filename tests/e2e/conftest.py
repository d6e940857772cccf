"""The real app against the local Slack emulator, over HTTP and over Socket Mode."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app.server import ServerThread, TrustbotServer
from bot.runtime import Runtime
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.settings import Settings, load_settings
from bot.storage import Database
from slack_emulator import SlackEmulator
from tests.slack_app import APP_SCOPES

SIGNING_SECRET = "e2e-signing-secret"
BOT_TOKEN = "xoxb-e2e"
APP_TOKEN = "xapp-e2e"
PSEUDONYM_KEY = "e2e-pseudonym-key-0123456789"


@dataclass
class Stack:
    emulator: SlackEmulator
    server: ServerThread
    mode: str
    database_url: str

    def restart(self) -> None:
        """Stop the app and start a new one on the same database (a process restart)."""
        self.server.stop()
        self.server = start_app(self.emulator, self.database_url, self.mode)


def app_settings(emulator: SlackEmulator, database_url: str, **overrides: str) -> Settings:
    """The settings of an app under test: the emulator's tokens and URL, the database."""
    return load_settings(
        **{
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "TRUSTBOT_DATABASE_URL": database_url,
            "TRUSTBOT_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "TRUSTBOT_WEBHOOK_SECRET": "e2e-webhook-secret",
            **overrides,
        }
    )


def start_app(
    emulator: SlackEmulator, database_url: str, mode: str, clock: Clock | None = None
) -> ServerThread:
    settings = app_settings(emulator, database_url, SLACK_APP_TOKEN=APP_TOKEN)
    return serve(emulator, settings, mode, clock)


def serve(
    emulator: SlackEmulator,
    settings: Settings,
    mode: str,
    clock: Clock | None = None,
    **options: Any,
) -> ServerThread:
    """The app on a free loopback port, connected to the emulator over ``mode``;
    ``options`` go to :class:`TrustbotServer` (``schedule=False``, say)."""
    server = TrustbotServer(
        lambda: Runtime(
            settings=settings,
            db=Database(settings.TRUSTBOT_DATABASE_URL),
            clock=clock or SystemClock(),
        ),
        host="127.0.0.1",
        port=0,
        socket_mode=mode == "socket",
        log_level="warning",
        **options,
    )
    thread = ServerThread(server).start()
    if mode == "socket":
        emulator.wait_for_socket(timeout=10)
    else:
        emulator.connect_http(f"{thread.url}/slack/events")
    return thread


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(
        scopes=APP_SCOPES, signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN
    ) as emu:
        emu.add_user("U0ADMIN", name="alex", tz="Europe/London", is_admin=True)
        emu.add_user("U0REP1", name="ana", tz="America/New_York")
        emu.add_user("U0REP2", name="ben", tz="Europe/Berlin")
        emu.add_user("U0MGR", name="mia", tz="Europe/London")
        emu.add_channel("C0SALES", name="sales-managers")
        yield emu


@pytest.fixture(params=["http", "socket"])
def stack(
    request: pytest.FixtureRequest, emulator: SlackEmulator, database_url: str
) -> Iterator[Stack]:
    mode = request.param
    s = Stack(emulator, start_app(emulator, database_url, mode), mode, database_url)
    yield s
    s.server.stop()


@pytest.fixture
def http_stack(emulator: SlackEmulator, database_url: str) -> Iterator[Stack]:
    """The app over HTTP only (the transport itself is covered by ``stack``)."""
    s = Stack(emulator, start_app(emulator, database_url, "http"), "http", database_url)
    yield s
    s.server.stop()


def trust(stack: Stack, text: str, user: str = "U0ADMIN", timeout: float = 5.0) -> str:
    """Run ``/trust <text>`` as ``user`` and return the text of the (ephemeral) answer."""
    import time

    reply = stack.emulator.send_command("/trust", text, user_id=user, channel_id="C0SALES")
    assert reply.status == 200, reply
    if isinstance(reply.body, dict) and reply.body.get("blocks"):
        return str(reply.body)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        posts = stack.emulator.response_url_posts(reply.response_url)
        if posts:
            assert posts[0].errors == [], posts[0].errors
            assert posts[0].body.get("response_type") == "ephemeral"
            return str(posts[0].body)
        time.sleep(0.02)
    raise AssertionError(f"no answer to /trust {text}")
