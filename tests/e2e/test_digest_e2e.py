"""The weekly digest posted to the local Slack emulator: message, chart, anonymity, re-runs.

Data is built directly in the database; posting goes through the real AsyncWebClient (with
its retry handlers) pointed at the emulator. The ``/trust digest`` command and the weekly job
are wired by the app and call the same functions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import select

from bot.core.anonymity import NOT_ENOUGH
from bot.core.digests import DigestError, digest_for, unpostable
from bot.core.prompts import GOAL_PROMPT_ID, TRUST_AND_VALUE
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.slack.client import make_client
from bot.slack.digest_post import post_digest, post_due_digests, preview_digest, recover_claims
from bot.slack.history import HistoryPacer
from bot.slack.kit.digest import DOWN, UP
from bot.storage import Database
from bot.storage.models import Digest, Team
from slack_emulator import SlackEmulator
from tests.support.stack import BOT_TOKEN
from tests.support.teams import (
    BAD_NEWS,
    CARE,
    KEY,
    W1,
    W2,
    W3,
    WS,
    checkin_week,
    estimate,
    make_team,
    nudge,
    response_row,
    same,
    who,
)

pytestmark = pytest.mark.slow

CHANNEL = "C0SALES"
SMALL_CHANNEL = "C0TINY"
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # W3's digest slot (UTC team)
SHARED = "Clients keep asking for references we cannot give"
PRIVATE = "I fudged the Acme close date to hit the quarter"


@pytest.fixture
def slack(emulator: SlackEmulator) -> Iterator[SlackEmulator]:
    emulator.add_channel(SMALL_CHANNEL, name="tiny-team")
    yield emulator


@pytest.fixture
def rt(db: Database, slack: SlackEmulator) -> Runtime:
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api_url,
        TRUSTBOT_PSEUDONYM_KEY=KEY,
    )
    return Runtime(settings=settings, db=db, clock=ManualClock(MONDAY))


@pytest.fixture
async def client(rt: Runtime) -> AsyncWebClient:
    return make_client(rt.settings)


def everything_sent(emu: SlackEmulator, *extra: Any) -> str:
    """Every Web API call's arguments, every stored message and file (content too)."""
    parts = [repr(call.args) for call in emu.calls]
    parts += [repr(message) for message in emu.messages()]
    for file in emu.files:
        content = file.pop("content") or b""
        parts.append(repr(file))
        parts.append(content.decode("latin-1"))
    parts += [repr(item) for item in extra]
    return "\n".join(parts)


def lines_about(message: dict[str, Any], label: str) -> list[str]:
    text = "\n".join(
        str(block.get("text", {}).get("text", ""))
        for block in message["blocks"]
        if block["type"] == "section"
    )
    return [line for line in text.splitlines() if f"*{label}*" in line]


async def test_a_team_of_six_gets_scores_and_a_chart(
    rt: Runtime, client: AsyncWebClient, slack: SlackEmulator
) -> None:
    team, reps = await make_team(rt, "six", 6)
    answers = same(reps, care__interests_first="4", goal__trust_or_else=TRUST_AND_VALUE)
    await checkin_week(rt, team, W3, answers)
    result = await post_digest(rt, client, team)
    assert result.posted and result.period_start == W3 and result.detail == "posted"

    (message,) = [m for m in slack.messages(CHANNEL) if m.get("blocks")]
    assert message["ts"] == result.message_ts
    assert "Care 4.0" in str(message)
    assert "Trust and value *6*" in str(message)
    assert "*Participation*: *6* of 6 asked answered this week." in str(message)
    assert slack.validation_failures == []

    (chart,) = slack.files
    assert chart["id"] == result.file_id
    assert chart["channels"] == [CHANNEL] and chart["completed"]
    assert chart["content"].startswith(b"\x89PNG")
    assert chart["name"] == "trust-index-six-2026-11-16.png"
    assert "this week 4.0" in (chart["alt_txt"] or "")


async def test_a_team_of_three_sees_every_score_suppressed(
    rt: Runtime, client: AsyncWebClient, slack: SlackEmulator
) -> None:
    team, reps = await make_team(rt, "tiny", 3, channel=SMALL_CHANNEL)
    answers = same(reps, care__interests_first="2", candor__forecast_honest="5")
    for user in reps:
        answers[user][GOAL_PROMPT_ID] = "quota"
    await checkin_week(rt, team, W3, answers)
    result = await post_digest(rt, client, team)
    assert result.posted and result.file_id is None  # nothing to draw

    (message,) = slack.messages(SMALL_CHANNEL)
    body = str(message)
    assert f"*Team trust index*\\n_{NOT_ENOUGH}_" in body
    assert "Not shown, so that no one can be singled out: Care, Candor and the goal mix." in body
    assert "*Participation*: *3* of 3 asked answered this week." in body
    assert "2.0" not in body and "5.0" not in body and "Something else *" not in body
    assert slack.files == []
    assert slack.validation_failures == []


async def test_nothing_posted_names_a_rep_or_quotes_an_unshared_note(
    rt: Runtime, client: AsyncWebClient, slack: SlackEmulator
) -> None:
    big, reps = await make_team(rt, "six", 6)
    small, few = await make_team(rt, "tiny", 3, channel=SMALL_CHANNEL)
    for i, user in enumerate(reps + few):
        slack.add_user(user, name=f"rep.name.{i}", real_name=f"Rep Person {i}")
    notes = {reps[0]: (SHARED, True), reps[1]: (PRIVATE, False)}
    answers = same(reps, care__interests_first="4", internal_trust__bad_news="5")
    await checkin_week(rt, big, W3, answers, notes=notes)
    await checkin_week(rt, small, W3, same(few, care__interests_first="1"))
    for user in reps:
        await nudge(rt, big, W3, user, "lost", {"care.lost_best_interest": "yes"})
    await estimate(rt, big, W3, "UMGR0001", BAD_NEWS, 60)

    preview = await preview_digest(rt, big)
    await post_digest(rt, client, big)
    await post_digest(rt, client, small)
    assert SHARED in str(preview)

    sent = everything_sent(slack, preview)
    assert SHARED in sent  # shared, and 6 >= notes_k
    assert PRIVATE not in sent
    for i, user in enumerate(reps + few):
        assert user not in sent
        assert who(user, W3) not in sent
        assert f"rep.name.{i}" not in sent and f"Rep Person {i}" not in sent
    assert "UMGR0001" not in sent


async def test_trend_arrows_follow_the_weeks(
    db: Database, client: AsyncWebClient, slack: SlackEmulator, rt: Runtime
) -> None:
    start = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)  # W1's digest slot
    clock = ManualClock(start)
    weekly = Runtime(settings=rt.settings, db=db, clock=clock)
    team, reps = await make_team(weekly, "trend", 5)
    posted = []
    for period, score in ((W1, "3"), (W2, "4"), (W3, "2")):
        await checkin_week(weekly, team, period, same(reps, care__interests_first=score))
        clock.set(start + (period - W1))  # that week's Monday 09:00, as the schedule would
        posted += await post_due_digests(weekly, client)
    assert [r.period_start for r in posted] == [W1, W2, W3]
    messages = [m for m in slack.messages(CHANNEL) if m.get("blocks")]
    cares = [
        next(line for line in str(m["blocks"][3]["text"]["text"]).splitlines() if "Care" in line)
        for m in messages
    ]
    # a change is marked only against the team's own baseline (two earlier weeks) and only
    # beyond twice its standard error: 3 then 4 is not yet a trend, 2 against 3.5 is
    assert cares[0] == "Care 3.0" and cares[1] == "Care 4.0"
    assert cares[2] == f"Care 2.0 {DOWN}" and UP not in str(messages)
    assert len(slack.files) == 3


async def test_a_rerun_of_the_same_week_shows_the_same_figures(
    rt: Runtime, client: AsyncWebClient, slack: SlackEmulator
) -> None:
    team, reps = await make_team(rt, "rerun", 6)
    await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
    preview = await preview_digest(rt, team)  # the first look freezes the week
    first = await post_due_digests(rt, client)
    assert [r.detail for r in first] == ["posted"]

    # a late answer arrives for the same week; a re-run must not reveal it by difference
    async with rt.db.session() as s:
        s.add(response_row(W3, "checkin:late", "ULATE0001", CARE, "1"))
    assert await post_due_digests(rt, client) == []  # the schedule posts a week once
    again = await post_digest(rt, client, team, W3, repost=True)
    assert again.detail == "posted again"

    digest_messages = [m for m in slack.messages(CHANNEL) if m.get("blocks")]
    assert len(digest_messages) == 2
    blocks = [
        [b for b in m["blocks"] if b["type"] != "context"] for m in digest_messages
    ]  # the context line says "posted again"
    strip = [[{k: v for k, v in b.items() if k != "block_id"} for b in bs] for bs in blocks]
    assert strip[0] == strip[1]
    assert lines_about(digest_messages[1], "Care") == lines_about(preview, "Care")
    assert "Posted again" in str(digest_messages[1])
    (a, b) = [f["content"] for f in slack.files]
    assert a == b  # the same chart


@pytest.mark.parametrize("refusal", ["is_archived", "not_in_channel", "channel_not_found"])
async def test_a_channel_the_digest_cannot_reach_stops_the_week_and_tells_the_admins_once(
    db: Database,
    slack: SlackEmulator,
    refusal: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """chat.postMessage's channel errors (slack-api-ref chat.postMessage.json): no retry fixes
    them. The week stops at the first refusal (no post a minute, no traceback each), the
    admins get one DM saying what to do, /trust status lists it; once fixed it goes out."""
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api_url,
        TRUSTBOT_PSEUDONYM_KEY=KEY,
        TRUSTBOT_ADMINS="U0ADMIN",
    )
    rt = Runtime(settings=settings, db=db, clock=ManualClock(MONDAY))
    client = make_client(settings)
    channel = "C0GONE" if refusal == "channel_not_found" else CHANNEL
    team, reps = await make_team(rt, "blocked", 5, channel=channel)
    await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
    if refusal == "is_archived":
        slack.archive_channel(CHANNEL)
    elif refusal == "not_in_channel":
        slack.remove_bot_from_channel(CHANNEL)
    for _ in range(3):  # three ticks of the weekly job
        assert await post_due_digests(rt, client) == []
    tries = [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel]
    assert [c.response["error"] for c in tries] == [refusal]
    assert not [r for r in caplog.records if r.exc_info]
    (told,) = slack.dm_messages("U0ADMIN")
    advice = {"is_archived": "/trust setup", "not_in_channel": "/invite @trustbot"}
    assert "`blocked`" in told["text"] and advice.get(refusal, "/trust setup") in told["text"]
    (stopped,) = await unpostable(rt, WS)
    assert (stopped.team_name, stopped.period_start, stopped.error) == ("blocked", W3, refusal)

    if refusal == "not_in_channel":  # invited, then /trust digest blocked now
        slack.invite_bot(CHANNEL)
        result = await post_digest(rt, client, team, repost=True)
        assert result.posted and result.detail == "posted"
    else:  # another channel picked with /trust setup: the next tick posts the week there
        slack.add_channel("C0OTHER", name="other")
        async with rt.db.session() as s:
            row = await s.get(Team, team.id)
            assert row is not None
            row.channel_id = "C0OTHER"
            s.add(row)
        (result,) = await post_due_digests(rt, client)
        assert result.posted and result.channel_id == "C0OTHER"
    assert await post_due_digests(rt, client) == []
    assert await unpostable(rt, WS) == []
    assert len(slack.dm_messages("U0ADMIN")) == 1


async def test_crashed_posts_are_found_one_history_call_a_minute(
    rt: Runtime, client: AsyncWebClient, slack: SlackEmulator
) -> None:
    """Two teams' posts crashed between Slack's answer and the record, the channel holding
    20 older messages; Slack serving history as to an app outside the Marketplace (1 call a
    minute, 15 a page) with the app's scopes enforced. The first claim is settled by one
    page read from when its post began; the second waits for the next minute, claimed and
    unposted; then it is found too. Nothing is posted twice."""
    slack.set_non_marketplace_history()
    pacer = rt.service(HistoryPacer, lambda: HistoryPacer(1, monotonic=slack.clock.now))
    web = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    for _ in range(20):
        web.chat_postMessage(channel=CHANNEL, text="older")
    time.sleep(6)  # older than the lookup's 5 s margin
    crashed = {}
    for name in ("first", "second"):
        team, reps = await make_team(rt, name, 5)
        await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
        claim = await digest_for(rt, team, W3, publish=True)
        assert claim.claimed
        posted = web.chat_postMessage(
            channel=CHANNEL,
            text="digest",
            metadata={
                "event_type": "trustbot_digest",
                "event_payload": {"digest_id": claim.digest.id},
            },
        )
        crashed[team.id] = str(posted["ts"])
    rt.clock.set(MONDAY + timedelta(minutes=10))  # both claims' leases have run out
    assert await recover_claims(rt, client) == 1
    (call,) = slack.calls_to("conversations.history")
    assert int(call.args["limit"]) <= 15 and call.status == 200
    assert pacer.wait(WS) > 0  # the teams' workspace
    slack.clock.advance(61)
    assert await recover_claims(rt, client) == 1
    assert [c.status for c in slack.calls_to("conversations.history")] == [200, 200]
    async with rt.db.session() as s:
        recorded = {d.team_id: d.message_ts for d in (await s.exec(select(Digest))).all()}
    assert recorded == crashed
    assert await post_due_digests(rt, client) == []  # both recorded: none posted again
    assert len([m for m in slack.messages(CHANNEL) if m.get("text") == "digest"]) == 2


async def test_the_schedule_never_posts_a_week_twice_and_a_chart_failure_keeps_the_post(
    rt: Runtime, client: AsyncWebClient, slack: SlackEmulator
) -> None:
    team, reps = await make_team(rt, "once", 5)
    await checkin_week(rt, team, W3, same(reps, care__interests_first="4"))
    slack.inject_failure("upload", status=500, times=5)
    first = await post_digest(rt, client, team)
    assert first.posted and first.file_id is None  # the digest stands without its chart
    again = await post_digest(rt, client, team)
    assert not again.posted and again.detail == "already posted"
    assert again.message_ts == first.message_ts
    assert len([m for m in slack.messages(CHANNEL) if m.get("blocks")]) == 1


async def test_a_week_that_is_not_over_has_no_digest(rt: Runtime, slack: SlackEmulator) -> None:
    team, _ = await make_team(rt, "early", 5)
    with pytest.raises(DigestError, match="not over"):
        await preview_digest(rt, team, MONDAY.date())
    assert slack.calls_to("chat.postMessage") == []
