"""/trust digest <team> now|preview through the running app."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.core.prompts import TRUST_AND_VALUE
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock, SystemClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from slack_emulator import SlackEmulator
from tests.support.slack_app import APP_SCOPES
from tests.support.stack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, Stack, start_app, trust
from tests.support.teams import KEY, W3, WS, checkin_week, make_team, same


@pytest.fixture
def stack(database_url: str) -> Iterator[Stack]:
    with SlackEmulator(
        scopes=APP_SCOPES,
        signing_secret=SIGNING_SECRET,
        bot_token=BOT_TOKEN,
        app_token=APP_TOKEN,
        team_id=WS,
    ) as emu:
        emu.add_user("U0ADMIN", name="alex", tz="UTC", is_admin=True)
        emu.add_user("U0REP1", name="ana", tz="UTC")
        emu.add_channel("C0SALES", name="sales-managers")
        # the Wednesday after the seeded week: its digest is the last finished one
        clock = ManualClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
        # the key of the answers seed() writes
        app = start_app(emu, database_url, "http", clock, TRUSTBOT_PSEUDONYM_KEY=KEY)
        s = Stack(emu, app, "http", database_url)
        yield s
        s.server.stop()


def seed(stack: Stack, name: str, reps: int) -> None:
    async def go() -> None:
        settings = load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY)
        rt = Runtime(settings=settings, db=Database(stack.database_url), clock=SystemClock())
        team, users = await make_team(rt, name, reps)
        await checkin_week(
            rt,
            team,
            W3,
            same(users, care__interests_first="4", goal__trust_or_else=TRUST_AND_VALUE),
        )
        await rt.db.dispose()

    asyncio.run(go())


def test_preview_is_private_and_now_posts_the_same_figures(stack: Stack) -> None:
    seed(stack, "six", 6)
    preview = trust(stack, "digest six preview")
    assert "Care 4.0" in preview
    assert stack.emulator.messages("C0SALES") == []  # nothing posted by a preview
    out = trust(stack, "digest six now")
    assert "digest for the week of 16 Nov 2026 is posted in <#C0SALES>" in out
    posted = [m for m in stack.emulator.messages("C0SALES") if m.get("blocks")]
    assert len(posted) == 1 and "Care 4.0" in str(posted[0]["blocks"])
    assert len(stack.emulator.files) == 1  # the chart


def test_digest_errors_are_explained(stack: Stack) -> None:
    out = trust(stack, "digest ghosts now")
    assert "There is no team `ghosts`" in out and "/trust digest <team> now|preview" in out
    assert "for Trustbot admins" in trust(stack, "digest six now", user="U0REP1")
