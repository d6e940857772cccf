"""/trust digest <team> now|preview through the running app."""

from __future__ import annotations

import asyncio
import logging
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
from tests.support.waiting import wait_for


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


def test_the_digest_time_and_time_zone_are_the_team_s(stack: Stack) -> None:
    seed(stack, "west", 6)
    out = trust(stack, "digest west at fri 16:30 America/Los_Angeles")
    assert "`west`'s digest is posted every fri at 16:30 America/Los_Angeles" in out
    status = trust(stack, "digest west at Monday 8:05")  # the time zone is kept
    assert "every mon at 08:05 America/Los_Angeles" in status
    for bad, why in (
        ("digest west at fri 16:30 Mars/Olympus", "`Mars/Olympus` is not a time zone"),
        ("digest west at fri 16:30 ../../etc/passwd", "is not a time zone"),
        ("digest west at someday 16:30", "`someday` is not a day"),
        ("digest west at fri 25:00", "`25:00` is not a time"),
        ("digest west at fri", "Give a day, a time"),
        ("digest west later", "`later` is not one of now, preview"),
    ):
        out = trust(stack, bad)
        assert why in out and "/trust digest <team> now|preview|at" in out, (bad, out)
    assert "every mon at 08:05 America/Los_Angeles" in trust(
        stack, "digest west at mon 08:05"
    )  # nothing a refused command typed was kept


def test_a_first_run_says_what_a_digest_covers_and_when_this_week_s_arrives(
    stack: Stack,
) -> None:
    trust(stack, "team create fresh <#C0SALES>")
    trust(stack, "team add fresh <@U0REP1>")
    out = trust(stack, "digest fresh now")
    assert "A digest covers one whole week, Monday to Sunday" in out
    assert "The next digest comes on Mon 30 Nov at 09:00 UTC" in out
    trust(stack, "checkin fresh now")
    for mode in ("now", "preview"):
        out = trust(stack, f"digest fresh {mode}")
        assert "had no check-in for `fresh`" in out
        assert "digest of the week of 23 Nov, posted on Mon 30 Nov at 09:00 UTC" in out
        assert "So far *0* of 1 asked have answered" in out
    assert stack.emulator.messages("C0SALES") == []  # nothing half-made was posted


def test_the_digest_goes_to_the_channel_the_managers_or_both(stack: Stack) -> None:
    seed(stack, "where", 6)
    assert "`where`'s digest now goes to its managers by DM" in trust(stack, "digest where to dm")
    assert "to its channel and to its managers by DM" in trust(stack, "digest where to BOTH")
    out = trust(stack, "digest where to slack")
    assert "`slack` is not one of channel, dm, both" in out and "/trust digest <team>" in out
    assert "now goes to its channel." in trust(stack, "digest where to channel")


def test_the_rollup_is_for_admins_only_and_private(stack: Stack) -> None:
    """/trust rollup: an admin gets every team at once in a reply only they see; anyone
    else is refused, and nothing is posted anywhere."""
    seed(stack, "six", 6)
    seed(stack, "tiny", 2)  # below k, and six + tiny differ from six by 2 < k
    out = trust(stack, "rollup")
    assert "Trust across teams" in out and "8* of 8 people answered" in out
    assert "differ from one team's by fewer than 5" in out  # workspace minus six = tiny
    assert "six: 4.00" in out and "tiny: not shown" in out
    refused = trust(stack, "rollup", user="U0REP1")
    assert "for Trustbot admins" in refused and "Trust across teams" not in refused
    assert stack.emulator.messages("C0SALES") == []
    assert "/trust rollup" in trust(stack, "help")


def test_a_manager_replies_to_a_shared_note_and_only_its_writer_reads_it(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The digest's Reply button: the team's manager answers a shared note in a modal; the
    reply reaches the note's writer alone, in a thread of their DM; nothing the manager sees
    and no log line names the writer; a rep's click is refused."""
    caplog.set_level(logging.INFO)
    emu = stack.emulator
    writer, note = "USIX02", "We promised a date we knew was tight."

    async def go() -> None:
        settings = load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY)
        rt = Runtime(settings=settings, db=Database(stack.database_url), clock=SystemClock())
        team, users = await make_team(rt, "six", 6, managers=("U0MGR",))
        await checkin_week(
            rt, team, W3, same(users, care__interests_first="4"), notes={writer: (note, True)}
        )
        await rt.db.dispose()

    asyncio.run(go())
    for user in ["U0MGR", *(f"USIX{i:02d}" for i in range(6))]:
        emu.add_user(user, name=user.lower())
    trust(stack, "digest six now")
    (posted,) = [m for m in emu.messages("C0SALES") if "note.reply" in str(m.get("blocks"))]
    assert note in str(posted)

    emu.send_click("USIX00", "note.reply", message=posted)  # a rep: refused, privately
    wait_for(lambda: emu.ephemerals("USIX00"), "the refusal")
    assert "Only the team's managers" in str(emu.ephemerals("USIX00")[-1])
    assert emu.views_opened("USIX00") == []

    assert emu.send_click("U0MGR", "note.reply", message=posted).ok
    wait_for(lambda: emu.views_opened("U0MGR"), "the reply modal")
    modal = emu.views_opened("U0MGR")[-1]
    values = {
        "note_reply": {
            "text": {"type": "plain_text_input", "value": "Thank you. Tell me early next time."}
        }
    }
    assert emu.send_view_submission("U0MGR", modal, values).ok
    wait_for(lambda: "Tell me early" in str(emu.dm_messages(writer)), "the writer's DM")
    (parent,) = [m for m in emu.dm_messages(writer) if "replied to a note" in str(m)]
    assert note in str(parent)
    thread = [m for m in emu.dm_messages(writer) if m.get("thread_ts") == parent["ts"]]
    assert len(thread) == 1 and "Tell me early next time" in str(thread[0])
    others = [u for u in (f"USIX{i:02d}" for i in range(6)) if u != writer]
    assert all("Tell me early" not in str(emu.dm_messages(u)) for u in others)
    manager_saw = [*emu.view_events(), *emu.ephemerals("U0MGR"), *emu.dm_messages("U0MGR")]
    manager_saw = [e for e in manager_saw if e.get("user") in (None, "U0MGR")]
    assert writer not in str(manager_saw) and writer not in str(posted)
    assert writer not in caplog.text and "Tell me early" not in caplog.text
    assert emu.validation_failures == []
