"""The running app against the emulator for the fault tests (the e2e stack of
``tests/e2e/conftest.py``), and reading its database from the test's thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlmodel import select

from bot.core import outbox
from bot.storage import Database
from slack_emulator import SlackEmulator
from slack_emulator.models import AppDelivery
from tests.e2e.conftest import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, Stack
from tests.slack_app import APP_SCOPES

T = TypeVar("T")
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


def in_db(url: str, work: Callable[[Database], Any]) -> Any:
    """``await work(database)`` on a database handle of the test's own."""

    async def go() -> Any:
        database = Database(url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(go())


def rows(url: str, model: type[T], *where: Any) -> list[T]:
    async def fetch(database: Database) -> list[T]:
        async with database.session() as session:
            return list((await session.exec(select(model).where(*where))).all())

    return list(in_db(url, fetch))


def outbox_counts(url: str) -> dict[str, int]:
    async def count(database: Database) -> dict[str, int]:
        return await outbox.counts(database, WS)

    return dict(in_db(url, count))


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.05)


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
