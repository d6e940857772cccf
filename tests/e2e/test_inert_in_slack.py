"""Outside text as Slack receives it from the running app: a CRM deal name in a nudge and in
``/trust status``, a rep's shared note in the weekly digest, a team name everywhere. Slack
must show each as text: no link, no mention, no reordering control; ``verbatim`` text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.prompts import default_bank
from bot.core.untrusted import BIDI_CONTROLS
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.slack.client import make_client
from bot.slack.digest_post import post_digest
from bot.storage import Database
from slack_emulator import SlackEmulator
from tests.support.deals import deal, metadata_event
from tests.support.stack import BOT_TOKEN, Stack, start_app, trust
from tests.support.teams import KEY, W3, checkin_week, make_team, same
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

REP = "U0REP1"  # America/New_York
MONDAY_10_NY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # in the rep's working hours
HOSTILE = "<https://evil.example/pay|Renewal \u202eexe.cod> see www.evil.example <!channel>"


def mrkdwn_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every mrkdwn text object in a Block Kit payload."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            yield node
        for value in node.values():
            yield from mrkdwn_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from mrkdwn_objects(value)


def assert_shown_inert(posted: dict[str, Any]) -> None:
    """Nothing of HOSTILE can link, mention or reorder, in the blocks or the fallback text."""
    raw = json.dumps(posted, ensure_ascii=False)
    for bad in ("<https", "<!channel>", "https://evil", "www.evil.example", *BIDI_CONTROLS):
        assert bad not in raw, bad
    assert "evil[.]example" in raw  # shown, broken
    assert all(o.get("verbatim") is True for o in mrkdwn_objects(posted.get("blocks")))


@pytest.fixture
def nudging(emulator: SlackEmulator, database_url: str) -> Iterator[Stack]:
    s = Stack(
        emulator,
        start_app(emulator, database_url, "http", ManualClock(MONDAY_10_NY)),
        "http",
        database_url,
    )
    trust(s, "team create sales <#C0SALES|sales-managers>")
    trust(s, f"team add sales <@{REP}>")
    yield s
    s.server.stop()


def test_attack_a_crm_deal_name_with_a_link_and_a_bidi_override_in_a_nudge(
    nudging: Stack,
) -> None:
    """Attack: a deal named ``<https://evil|Renewal>`` plus an RLO override, sent by the CRM;
    on main the nudge's fallback text carried it raw, and Slack linked bare URLs."""
    emu = nudging.emulator
    update = deal("crm-1", {"slack_user_id": REP}, change="created", deal_name=HOSTILE)
    emu.send_event(metadata_event(update))
    title = default_bank().moment("created").title
    dm = wait_for(lambda: [m for m in emu.dm_messages(REP) if title in str(m.get("blocks"))])[0]
    assert_shown_inert(dm)
    assert emu.validation_failures == []


def test_attack_a_crm_deal_name_in_trust_status(nudging: Stack) -> None:
    """Attack: the same name on an update whose rep is unknown: ``/trust status`` lists it
    (on main as a live link)."""
    emu = nudging.emulator
    update = deal("crm-2", {"email": "nobody@example.com"}, deal_name=HOSTILE)
    emu.send_event(metadata_event(update))
    answer = wait_for(
        lambda: (shown := trust(nudging, "status")) and "unknown rep" in shown and shown
    )
    posted = emu.response_url_posts()[-1].body
    assert "Renewal" in answer
    assert_shown_inert(posted)
    assert "nobody@example[.]com" in answer


def test_attack_a_team_name_that_looks_like_a_link_or_hides_a_control_is_refused(
    http_stack: Stack,
) -> None:
    """Team names are echoed for admins to copy, so one that Slack would link, or that
    holds a bidi override, is refused with the reason instead of being shown broken."""
    for name in ("evil.example", "http://x", "sales\u202e"):
        answer = trust(http_stack, f"team create {name} <#C0SALES>")
        assert "is not a team name" in answer
        assert "\u202e" not in answer and "evil.example" not in answer
    assert "No teams yet" in trust(http_stack, "team list")


@pytest.fixture
def rt(db: Database, emulator: SlackEmulator) -> Runtime:
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=emulator.api_url, TRUSTBOT_PSEUDONYM_KEY=KEY
    )
    return Runtime(
        settings=settings, db=db, clock=ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    )


async def test_attack_a_shared_note_with_links_and_bidi_controls_in_the_digest(
    rt: Runtime, emulator: SlackEmulator
) -> None:
    """Attack: a rep shares a note holding a link, a bare URL, ``<!channel>`` and an RLO
    override; the managers' channel gets it as inert, quoted text."""
    client: AsyncWebClient = make_client(rt.settings)
    team, reps = await make_team(rt, "six", 6)
    note = "Call me \u2066maybe\u2069 " + HOSTILE
    await checkin_week(
        rt, team, W3, same(reps, care__interests_first="4"), notes={reps[0]: (note, True)}
    )
    await post_digest(rt, client, team)
    (posted,) = [m for m in emulator.messages("C0SALES") if "Shared notes" in str(m)]
    assert "Call me maybe" in json.dumps(posted)
    assert_shown_inert(posted)
    assert emulator.validation_failures == []
