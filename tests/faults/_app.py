"""The fault tests' Slack (an admin and reps in three time zones) and ``/trust`` that may
get no answer while the app is down or stuck."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.core import outbox
from bot.storage import Database
from slack_emulator import SlackEmulator
from slack_emulator.models import AppDelivery
from tests.support.db import in_db
from tests.support.slack_app import APP_SCOPES
from tests.support.stack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, Stack

WS = "T0001"  # the emulator's workspace
ADMIN = "U0ADMIN"
REPS = {"U0REP1": "America/New_York", "U0REP2": "Europe/Berlin", "U0REP3": "Asia/Tokyo"}


@contextmanager
def slack() -> Iterator[SlackEmulator]:
    """The emulator with an admin, three reps in three time zones and a channel."""
    with SlackEmulator(
        scopes=APP_SCOPES, signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN
    ) as emu:
        emu.add_user(ADMIN, name="alex", tz="Europe/London", is_admin=True)
        for n, (user, tz) in enumerate(REPS.items()):
            emu.add_user(user, name=f"rep{n}", tz=tz)
        emu.add_channel("C0SALES", name="sales-managers")
        yield emu


def outbox_counts(url: str) -> dict[str, int]:
    async def count(database: Database) -> dict[str, int]:
        return await outbox.counts(database, WS)

    return dict(in_db(url, count))


def command(stack: Stack, text: str, wait: float = 5.0) -> tuple[AppDelivery, str | None]:
    """``/trust <text>`` as the admin: Slack's request (with the app's ack) and the text of
    the answer posted to its response_url, if one came within ``wait`` seconds."""
    emu = stack.emulator
    ack = emu.send_command("/trust", text, user_id=ADMIN, channel_id="C0SALES")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if posts := emu.response_url_posts(ack.response_url):
            assert posts[0].errors == [], posts[0].errors
            return ack, str(posts[0].body)
        time.sleep(0.05)
    return ack, None
