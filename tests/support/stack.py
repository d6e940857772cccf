"""The real app against the local Slack emulator, over HTTP or Socket Mode, and ``/trust``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.app.server import ServerThread, TrustbotServer
from bot.runtime import Runtime
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.settings import Settings, load_settings
from bot.storage import Database
from slack_emulator import SlackEmulator
from tests.support.waiting import wait_for

SIGNING_SECRET = "e2e-signing-secret"
BOT_TOKEN = "xoxb-e2e"
APP_TOKEN = "xapp-e2e"
PSEUDONYM_KEY = "e2e-pseudonym-key-0123456789"
WEBHOOK_SECRET = "e2e-webhook-secret"
CRM_APP = "A0CRM"
"""The CRM integration's Slack app, whose deal_updated metadata the test apps accept."""


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
    """The settings of an app under test: the emulator's tokens and URL, the database; DM
    history read at Tier 3 (as an internal app, and as the emulator serves it by default)."""
    return load_settings(
        **{
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "TRUSTBOT_DATABASE_URL": database_url,
            "TRUSTBOT_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "TRUSTBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TRUSTBOT_DEAL_APP_IDS": CRM_APP,
            "TRUSTBOT_HISTORY_PER_MINUTE": "50",
            **overrides,
        }
    )


def start_app(
    emulator: SlackEmulator,
    database_url: str,
    mode: str,
    clock: Clock | None = None,
    **overrides: str,
) -> ServerThread:
    """The app with a Socket Mode token too; ``overrides`` are settings."""
    settings = app_settings(emulator, database_url, SLACK_APP_TOKEN=APP_TOKEN, **overrides)
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


def trust(stack: Stack, text: str, user: str = "U0ADMIN", timeout: float = 5.0) -> str:
    """Run ``/trust <text>`` as ``user`` and return the text of the (ephemeral) answer."""
    return trust_in(stack.emulator, text, user, timeout, ephemeral=True)


def trust_in(
    emu: SlackEmulator,
    text: str,
    user: str = "U0ADMIN",
    timeout: float = 5.0,
    *,
    ephemeral: bool = False,
) -> str:
    """``/trust <text>`` in ``emu``'s workspace: the text of the answer, posted to the
    command's response_url (checked to be ephemeral with ``ephemeral``: Bolt's own answers,
    such as the one to a workspace without an installation, are not)."""
    reply = emu.send_command("/trust", text, user_id=user, channel_id="C0SALES")
    assert reply.status == 200, reply
    if isinstance(reply.body, dict) and reply.body.get("blocks"):
        return str(reply.body)
    posts = wait_for(
        lambda: emu.response_url_posts(reply.response_url),
        f"an answer to /trust {text}",
        timeout=timeout,
    )
    assert posts[0].errors == [], posts[0].errors
    if ephemeral:
        assert posts[0].body.get("response_type") == "ephemeral"
    return str(posts[0].body)
