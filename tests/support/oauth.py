"""The app installed by OAuth in the emulator's workspaces: its settings, the install flow a
browser walks through, and what the app stored."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from bot.app.server import ServerThread
from bot.runtime.settings import load_settings
from bot.storage.sealed import TokenSealer
from bot.storage.slack_tables import slack_bots
from slack_emulator import SlackEmulator
from tests.support.db import sql_rows
from tests.support.stack import (
    APP_TOKEN,
    PSEUDONYM_KEY,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    serve,
    trust_in,
)

CLIENT_ID = "1234.5678"
CLIENT_SECRET = "oauth-client-secret"
TOKEN_KEY = "kY4mTn0QW4r2Yb3vC8N4Hn7tA2Q0cV9mX1zP5sL6dE8="
"""A Fernet key sealing the stored bot tokens (``TRUSTBOT_TOKEN_KEY``)."""


@dataclass
class OAuthStack:
    """The app installed by OAuth and the emulator with two workspaces."""

    emulator: SlackEmulator
    beta: SlackEmulator  # the second workspace, T0002
    server: ServerThread
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url

    def ws(self, team_id: str) -> SlackEmulator:
        return self.emulator.workspace(team_id)


def oauth_settings(emulator: SlackEmulator, database_url: str, **extra: str) -> dict[str, str]:
    """The settings of an app installed by OAuth (no bot token of its own)."""
    return {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "TRUSTBOT_DATABASE_URL": database_url,
        "TRUSTBOT_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "TRUSTBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TRUSTBOT_TOKEN_KEY": TOKEN_KEY,
        **extra,
    }


def start_oauth_app(emulator: SlackEmulator, database_url: str, mode: str) -> ServerThread:
    """The app, with the emulator's OAuth set up to redirect to it."""
    settings = load_settings(**oauth_settings(emulator, database_url, SLACK_APP_TOKEN=APP_TOKEN))
    thread = serve(emulator, settings, mode)
    emulator.configure_oauth(
        CLIENT_ID, CLIENT_SECRET, [f"{thread.url}/slack/oauth_redirect"], installer="U0ADMIN"
    )
    return thread


def start_install(
    stack: OAuthStack, browser: httpx.Client, team: str | None = None
) -> tuple[str, dict[str, str]]:
    """Open /slack/install: (Slack's authorize URL from the page, the state cookie to send
    back). The cookie is ``Secure``, so it is carried by hand over the tests' plain HTTP."""
    page = browser.get(f"{stack.url}/slack/install", params={"team": team} if team else None)
    assert page.status_code == 200
    cookie = page.headers["set-cookie"].split(";")[0]
    assert cookie.startswith("slack-app-oauth-state=")
    found = re.search(r'href="([^"]*/oauth/v2/authorize\?[^"]*)"', page.text)
    assert found, page.text
    authorize = html.unescape(found.group(1))
    assert authorize.startswith(stack.emulator.authorize_url)
    assert "state=" in authorize and f"client_id={CLIENT_ID}" in authorize
    assert "scope=commands,chat:write," in authorize
    return authorize, {"Cookie": cookie}


def install(stack: OAuthStack, team: str | None = None) -> httpx.Response:
    """A browser installing the app: /slack/install, Slack's authorize page, the redirect back.
    Returns the app's answer to the redirect."""
    with httpx.Client(timeout=10) as browser:
        authorize, cookie = start_install(stack, browser, team)
        slack = browser.get(authorize)
        assert slack.status_code == 302, slack.text
        return browser.get(slack.headers["location"], headers=cookie)


def token_of(stack: OAuthStack, team_id: str) -> str:
    """The bot token Bolt stored for the workspace ``team_id`` (opened with the key)."""
    rows = sql_rows(
        stack.database_url, select(slack_bots.c.bot_token).where(slack_bots.c.team_id == team_id)
    )
    assert len(rows) == 1, rows
    return str(TokenSealer.from_setting(TOKEN_KEY).open(rows[0][0]))


def set_up_team(emu: SlackEmulator, reps: list[str]) -> None:
    """Team ``sales`` in ``emu``'s workspace with ``reps``."""
    assert "Team `sales` created" in trust_in(emu, "team create sales <#C0SALES|sales>")
    mentions = " ".join(f"<@{r}>" for r in reps)
    trust_in(emu, f"team add sales {mentions}")
