"""The manager takes part and the loop back to the team (issue #18), against the emulator:
the manager's own check-in answered with clicks through the running app, and the team
summary DM'd to every rep once the week's digest is posted."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import privacy, teams
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.slack.client import make_client
from bot.slack.digest_post import post_digest, redraw_posted
from bot.slack.outbox_messages import compose
from bot.slack.sender import OutboxWorker, make_outbox_client
from bot.storage import Database
from bot.storage.models import Team
from slack_emulator import SlackEmulator
from tests.support.checkin_dm import note_values
from tests.support.stack import BOT_TOKEN, Stack, trust
from tests.support.teams import KEY, W3, WS, checkin_week, make_team, same
from tests.support.waiting import wait_for

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # W3's digest slot (UTC team)
ACTION = "manager.answer:self.neutral_first"


def _buttons(message: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        e["action_id"]: e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def test_the_manager_answers_their_own_check_in_with_clicks(http_stack: Stack) -> None:
    emu = http_stack.emulator
    trust(http_stack, "team create east <#C0SALES>")
    trust(http_stack, "team add east <@U0REP1> <@U0REP2> <@U0REP3>")
    trust(http_stack, "team manager east <@U0MGR>")
    trust(http_stack, "checkin east now")
    wait_for(lambda: emu.dm_messages("U0MGR"), "the manager's check-in")
    time.sleep(0.5)  # the outbox records where it posted the DM just after the post
    (dm,) = emu.dm_messages("U0MGR")
    assert "Your check-in as a manager" in str(dm)
    assert {f"{ACTION}:yes", f"{ACTION}:partly", f"{ACTION}:no"} <= set(_buttons(dm))
    assert all("manager.answer" not in str(m) for m in emu.dm_messages("U0REP1"))

    emu.send_click("U0MGR", f"{ACTION}:yes", message=dm)
    wait_for(lambda: "✓ Yes" in str(emu.message(dm["channel"], dm["ts"])), "the answer in the DM")
    after = emu.message(dm["channel"], dm["ts"])
    assert "Being reliably unbiased" in str(after)  # the word back, then the next step
    # a rep replaying the manager's button: told so, and the manager's DM is unchanged
    emu.send_click("U0REP1", f"{ACTION}:no", message=after)
    wait_for(lambda: emu.ephemerals("U0REP1"), "the refusal")
    assert "not yours" in str(emu.ephemerals("U0REP1")[-1])
    assert emu.message(dm["channel"], dm["ts"]) == after
    assert emu.validation_failures == []


@pytest.fixture
def rt(db: Database, emulator: SlackEmulator) -> Runtime:
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=emulator.api_url, TRUSTBOT_PSEUDONYM_KEY=KEY
    )
    return Runtime(settings=settings, db=db, clock=ManualClock(MONDAY))


async def _team_in_slack(
    rt: Runtime,
    emulator: SlackEmulator,
    name: str,
    managers: tuple[str, ...],
    digest_to: str | None = None,
) -> tuple[Team, list[str]]:
    """A team of six reps and ``managers`` (channel C0SALES), every one of them a Slack user,
    its digest sent to ``digest_to`` when given."""
    team, reps = await make_team(rt, name, 6, managers=managers)
    for user in [*reps, *managers]:
        emulator.add_user(user, name=user.lower())
    if digest_to is not None:
        team = await teams.update(rt.db, WS, "UADMIN", name, rt.clock, digest_to=digest_to)
    return team, reps


@pytest.fixture
def client(rt: Runtime) -> AsyncWebClient:
    return make_client(rt.settings)


@pytest.fixture
def worker(rt: Runtime) -> OutboxWorker:
    """The outbox worker sending what ``rt`` composes, as the server runs it."""
    return OutboxWorker(
        rt, make_outbox_client(rt.settings), lambda row: compose(rt, row), worker_id="w1"
    )


async def test_every_rep_gets_the_team_summary_once_the_digest_is_posted(
    rt: Runtime, emulator: SlackEmulator, client: AsyncWebClient, worker: OutboxWorker
) -> None:
    team, reps = await _team_in_slack(rt, emulator, "loop", ("UMGR0001",))
    answers = same(reps, care__interests_first="4", candor__forecast_honest="3")
    await checkin_week(rt, team, W3, answers)
    await worker.run_once()
    assert all(emulator.dm_messages(user) == [] for user in reps)  # nothing before the digest

    posted = await post_digest(rt, client, team, W3)
    assert posted.posted
    await worker.run_once()
    digest = emulator.message(str(posted.channel_id), str(posted.message_ts))
    for user in reps:
        (summary,) = emulator.dm_messages(user)
        body = str(summary)
        assert "Your team's week: loop" in body
        assert "*Participation*: *6* of 6 asked answered this week." in body
        assert "*Team trust index*: *3.5* of 5" in body and "*Team trust index*" in str(digest)
        assert "What the team is working on: Candor" in body and "*Your part:*" in body
    assert emulator.dm_messages("UMGR0001") == []  # managers read the digest itself

    await post_digest(rt, client, team, W3, repost=True)  # posted again: no second summary
    await worker.run_once()
    assert all(len(emulator.dm_messages(user)) == 1 for user in reps)
    assert emulator.validation_failures == []


async def test_a_digest_for_managers_by_dm_goes_through_the_outbox_once(
    rt: Runtime, emulator: SlackEmulator, client: AsyncWebClient, worker: OutboxWorker
) -> None:
    managers = ("UMGRDM01", "UMGRDM02")
    for name, to in (("dms", "dm"), ("both", "both")):
        team, reps = await _team_in_slack(rt, emulator, name, managers, digest_to=to)
        await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
        posted = await post_digest(rt, client, team, W3)
        assert posted.posted
        await worker.run_once()
        in_channel = [m for m in emulator.messages("C0SALES") if f"Trust digest: {name}" in str(m)]
        assert len(in_channel) == (0 if to == "dm" else 1)
        for manager in managers:
            copies = [m for m in emulator.dm_messages(manager) if f"Trust digest: {name}" in str(m)]
            assert len(copies) == 1 and "Care 4.0" in str(copies[0])
        again = await post_digest(rt, client, team, W3, repost=True)
        await worker.run_once()
        for manager in managers:  # never a second DM, whatever is asked again
            copies = [m for m in emulator.dm_messages(manager) if f"Trust digest: {name}" in str(m)]
            assert len(copies) == 1
        assert again.posted == (to == "both")  # the channel's copy may be posted again
    assert emulator.validation_failures == []


async def test_forget_me_takes_a_note_out_of_the_managers_dm_copies(
    rt: Runtime, emulator: SlackEmulator, client: AsyncWebClient, worker: OutboxWorker
) -> None:
    team, reps = await _team_in_slack(rt, emulator, "notes", ("UMGRNOTE",), digest_to="dm")
    note = "Our pipeline review punishes bad news"
    answers = same(reps, care__interests_first="4")
    await checkin_week(rt, team, W3, answers, notes={reps[0]: (note, True)})
    await post_digest(rt, client, team, W3)
    await worker.run_once()
    (copy,) = [m for m in emulator.dm_messages("UMGRNOTE") if "Trust digest" in str(m)]
    assert note in str(copy)

    gone = await privacy.forget(rt, WS, reps[0])
    assert await redraw_posted(rt, client, gone.digests) == 1
    redrawn = emulator.message(copy["channel"], copy["ts"])
    assert redrawn is not None and note not in str(redrawn) and "Trust digest" in str(redrawn)


def test_a_rep_sharing_a_note_that_names_someone_is_warned(http_stack: Stack) -> None:
    emu = http_stack.emulator
    trust(http_stack, "team create notes <#C0SALES>")
    trust(http_stack, "team add notes <@U0REP1>")
    trust(http_stack, "checkin notes now")
    wait_for(lambda: emu.dm_messages("U0REP1"), "the check-in")
    time.sleep(0.5)
    for text, shared, warned in (
        ("Good week, nothing to add", True, False),
        ("Ask @dana why the forecast moved", False, False),  # private: nobody else reads it
        ("Ask @dana why the forecast moved", True, True),
    ):
        before, opened = len(emu.ephemerals("U0REP1")), len(emu.views_opened("U0REP1"))
        assert emu.send_click("U0REP1", "checkin.note").ok
        wait_for(lambda n=opened: len(emu.views_opened("U0REP1")) > n, "the note modal")
        view = emu.views_opened("U0REP1")[-1]
        assert emu.send_view_submission("U0REP1", view, note_values(text, shared=shared)).ok
        time.sleep(1.0)
        fresh = emu.ephemerals("U0REP1")[before:]
        assert bool(fresh) == warned, (text, shared, fresh)
        if warned:
            assert "names a person (@dana)" in str(fresh[-1])
