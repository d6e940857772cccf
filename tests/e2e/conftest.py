"""Fixtures: the real app against the local Slack emulator, over HTTP and over Socket Mode,
and installed by OAuth in two workspaces (what they are made of is in ``tests/support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from slack_emulator import SlackEmulator
from tests.support.oauth import OAuthStack, start_oauth_app
from tests.support.slack_app import APP_SCOPES
from tests.support.stack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, Stack, start_app


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


@pytest.fixture(params=["http", "socket"])
def oauth_stack(
    request: pytest.FixtureRequest, emulator: SlackEmulator, database_url: str
) -> Iterator[OAuthStack]:
    """The app installed by OAuth, in the emulator's workspace and a second one, ``beta``."""
    beta = emulator.add_workspace("T0002", "Beta")
    # the same user and channel IDs as in the first workspace: nothing may mix them up
    beta.add_user("U0ADMIN", name="bo", tz="Europe/London", is_admin=True)
    beta.add_user("U0REP1", name="cy", tz="Asia/Tokyo")
    beta.add_user("U0REP2", name="di", tz="Europe/Paris")
    beta.add_channel("C0SALES", name="beta-sales")
    s = OAuthStack(
        emulator, beta, start_oauth_app(emulator, database_url, request.param), database_url
    )
    yield s
    s.server.stop()
