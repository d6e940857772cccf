"""The rep's own page through the real app: App Home and ``/trust me`` show a rep their own
answers only, in their own time zone, and a forged Home open publishes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.checkins import week_start
from bot.core.prompts import default_bank
from bot.runtime.pseudonyms import Pseudonyms
from bot.storage.models import Person, Response
from tests.support.db import in_session
from tests.support.deals import nudged_event
from tests.support.stack import PSEUDONYM_KEY, Stack, trust
from tests.support.waiting import wait_for

WS = "T0001"
ANA, BEN = "U0REP1", "U0REP2"  # America/New_York, Europe/Berlin in the emulator


def seed(stack: Stack) -> None:
    """This week, Ana and Ben each rated their care and logged evidence on their own deal."""
    keys, bank = Pseudonyms(PSEUDONYM_KEY), default_bank()
    now = datetime.now(UTC)
    week = week_start(now.date())

    async def work(s: Any) -> None:
        for user, deal, care, told in (
            (ANA, "Globex renewal", "5", "not_yet"),
            (BEN, "Initech secret", "2", "told_me"),
        ):
            at = now - timedelta(hours=1)
            context = await nudged_event(s, keys, WS, deal, at, f"e-{user}")
            rows = (
                (f"checkin:{week}", None, "care.interests_first", care),
                (context, "evaluation", "evidence.key_players", told),
            )
            for context, moment, prompt_id, value in rows:
                s.add(
                    Response(
                        workspace_id=WS,
                        period_start=week,
                        context=context,
                        moment=moment,
                        pseudonym=keys.weekly(WS, user, week),
                        prompt_id=prompt_id,
                        dimension=bank.prompt(prompt_id).dimension.value,
                        value=value,
                        score=bank.score(prompt_id, value),
                    )
                )

    in_session(stack.database_url, work)


def set_up(stack: Stack) -> None:
    trust(stack, "team create sales <#C0SALES>")
    trust(stack, f"team add sales <@{ANA}> <@{BEN}>")
    seed(stack)


def test_home_shows_each_rep_only_their_own_page(http_stack: Stack) -> None:
    set_up(http_stack)
    emu = http_stack.emulator
    emu.send_event({"type": "app_home_opened", "user": BEN, "tab": "home"}, event_id="EvBen")
    home = str(wait_for(lambda: emu.views_published(BEN) and emu.views_published(BEN)[-1]))
    assert "Initech secret" in home and "Globex renewal" not in home
    assert "✅ who else decides" in home and "My blind spot check" in home
    assert "Care *2.0*" in home
    assert emu.views_published(ANA) == []  # Ben's Home open published nothing to Ana


def test_attack_a_forged_home_open_publishes_nothing(http_stack: Stack) -> None:
    set_up(http_stack)
    emu = http_stack.emulator
    forged = emu.send_event(
        {"type": "app_home_opened", "user": ANA, "tab": "home"},
        event_id="EvForged",
        signature="v0=" + "0" * 64,
    )
    assert forged.status == 401
    time.sleep(0.5)  # nothing arrives late either
    assert emu.views_published(ANA) == [] and emu.calls_to("views.publish") == []


def test_trust_me_is_the_callers_own_page_in_their_time_zone(http_stack: Stack) -> None:
    set_up(http_stack)
    trust(http_stack, "snooze 3", user=ANA)
    mine = trust(http_stack, "me", user=ANA)
    assert "Globex renewal" in mine and "Initech" not in mine
    assert "⬜ who else decides (not yet)" in mine and "Care *5.0*" in mine
    assert "A practice for next week" in mine
    zone = datetime.now(UTC).astimezone(ZoneInfo("America/New_York"))
    assert f"{zone.tzname()}." in mine and "UTC" not in mine  # EST or EDT, never UTC
    his = trust(http_stack, "me", user=BEN)
    assert "Initech secret" in his and "Globex" not in his
    # naming someone else is refused, and shows nothing of theirs
    refused = trust(http_stack, f"me <@{BEN}>", user=ANA)
    assert "Initech" not in refused and "/trust me" in refused


def test_when_slack_cannot_say_the_time_zone_the_stored_one_is_used(http_stack: Stack) -> None:
    """users.info failing (Slack's 503s, retried and still failing) costs /trust me nothing
    but the fresh zone: the page shows the time zone stored for the rep."""
    emu = http_stack.emulator
    trust(http_stack, "team create sales <#C0SALES>")

    async def person(s: Any) -> None:
        s.add(Person(workspace_id=WS, user_id=BEN, tz="Asia/Tokyo"))

    in_session(http_stack.database_url, person)
    emu.inject_failure(method="users.info", status=503, duration=30)
    assert "JST." in trust(http_stack, "snooze 3", user=BEN)
    mine = trust(http_stack, "me", user=BEN, timeout=15)
    assert "Snoozed until" in mine and "JST." in mine
    assert emu.calls_to("users.info")  # it was asked, and failed
