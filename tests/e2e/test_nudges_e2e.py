"""A deal update becomes a nudge DM that the rep answers with clicks, like a check-in.

The app runs on a manual clock set inside the rep's working hours (Monday 10:00 in New York),
so the nudge is due at once; moving the clock closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.core import deals
from bot.core.prompts import default_bank
from bot.runtime.clock import ManualClock
from bot.runtime.pseudonyms import Pseudonyms, Purpose, pseudonym
from bot.slack.kit.nudge import CLOSED_TEXT
from bot.storage.models import DealEvent, DealVerdict, Delivery, Response
from slack_emulator import SlackEmulator
from tests.support.db import rows
from tests.support.deals import deal, metadata_event
from tests.support.stack import PSEUDONYM_KEY, Stack, start_app, trust
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

REP = "U0REP1"  # America/New_York
MONDAY_10_NY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
LIKE, VALUE, WORTH = (
    "value_focus.like_them",
    "value_focus.value_not_price",
    "value_focus.worth_investment",
)


class ClockStack(Stack):
    clock: ManualClock


@pytest.fixture
def nudging(emulator: SlackEmulator, database_url: str) -> Iterator[ClockStack]:
    clock = ManualClock(MONDAY_10_NY)
    s = ClockStack(emulator, start_app(emulator, database_url, "http", clock), "http", database_url)
    s.clock = clock
    assert "created" in trust(s, "team create sales <#C0SALES|sales-managers>")
    assert "Added" in trust(s, f"team add sales <@{REP}> <@U0REP2>")
    yield s
    s.server.stop()


def nudge_dm(stack: Stack, title: str, user: str = REP) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        found = [m for m in stack.emulator.dm_messages(user) if title in str(m.get("blocks"))]
        return found[-1] if found else None

    return wait_for(find)


def current(stack: Stack, message: dict[str, Any]) -> dict[str, Any]:
    now = stack.emulator.message(message["channel"], message["ts"])
    assert now is not None
    return now


def picked(message: dict[str, Any], prompt_id: str) -> list[str]:
    for block in message["blocks"]:
        if block.get("block_id") == f"a|{prompt_id}":
            return [e["value"].split("|")[1] for e in block["elements"] if e.get("style")]
    return []


def click(stack: Stack, message: dict[str, Any], prompt_id: str, value: str, user: str = REP):  # type: ignore[no-untyped-def]
    reply = stack.emulator.send_click(
        user, f"nudge.answer:{prompt_id}:{value}", message=current(stack, message)
    )
    assert reply.status == 200, reply
    return reply


def test_a_new_deal_nudge_is_answered_by_clicks_and_shows_seed_000s_verdict(
    nudging: ClockStack,
) -> None:
    bank = default_bank()
    s, title = nudging, bank.moment("created").title
    s.emulator.send_event(metadata_event(deal("crm-1", {"slack_user_id": REP}, change="created")))
    dm = nudge_dm(s, title)
    assert "New deal *Acme renewal*" in str(dm["blocks"])
    assert "Answer all three" in str(dm["blocks"])

    click(s, dm, LIKE, "yes")
    click(s, dm, VALUE, "yes")
    click(s, dm, WORTH, "no")
    wait_for(lambda: "A harder call" in str(current(s, dm)["blocks"]))
    worth_no = bank.prompt(WORTH).feedback_for("no")
    assert worth_no is not None
    verdict = str(current(s, dm)["blocks"])
    assert "*Worth the time* (no)" in verdict  # which question got the No ...
    assert worth_no.next in verdict  # ... and what to do about it
    assert picked(current(s, dm), WORTH) == ["no"]
    click(s, dm, WORTH, "not_sure")
    wait_for(lambda: "Not sure yet." in str(current(s, dm)["blocks"]))
    click(s, dm, WORTH, "yes")  # answers change until the nudge closes
    wait_for(lambda: "Good to go" in str(current(s, dm)["blocks"]))

    answered = sorted(rows(s.database_url, Response), key=lambda r: r.prompt_id)
    # decisions are tracked, never scored: a rep who qualifies out keeps their trend
    assert [(r.prompt_id, r.value, r.score) for r in answered] == [
        (LIKE, "yes", None),
        (VALUE, "yes", None),
        (WORTH, "yes", None),
    ]
    who = Pseudonyms(PSEUDONYM_KEY).weekly(s.emulator.state.team_id, REP, date(2026, 11, 23))
    assert {(r.pseudonym, r.moment, r.period_start) for r in answered} == {
        (who, "created", date(2026, 11, 23))
    }
    context = answered[0].context
    assert context.startswith("nudge:") and {r.context for r in answered} == {context}
    assert all(REP not in str(r.model_dump()) for r in answered)
    # the verdict is kept per deal, under a keyed reference, never the rep
    [kept] = rows(s.database_url, DealVerdict)
    workspace = s.emulator.state.team_id
    assert (kept.verdict, kept.deal_ref) == (
        "go",
        pseudonym(PSEUDONYM_KEY, workspace, "D-42", Purpose.DEAL),
    )
    assert REP not in str(kept.model_dump()) and "D-42" not in str(kept.model_dump())


def test_qualifying_out_is_a_good_decision_with_a_next_step(nudging: ClockStack) -> None:
    s = nudging
    s.emulator.send_event(metadata_event(deal("crm-1", {"slack_user_id": REP}, change="created")))
    dm = nudge_dm(s, default_bank().moment("created").title)
    for prompt_id in (LIKE, VALUE, WORTH):
        click(s, dm, prompt_id, "no")
    wait_for(lambda: "Better to stop" in str(current(s, dm)["blocks"]))
    shown = str(current(s, dm)["blocks"])
    assert "good decision" in shown and "never counts against you" in shown
    assert "Tell your manager you" in shown
    assert {r.score for r in rows(s.database_url, Response)} == {None}
    assert [v.verdict for v in rows(s.database_url, DealVerdict)] == ["stop"]


def test_a_click_by_someone_else_or_with_a_bad_value_stores_nothing(nudging: ClockStack) -> None:
    s = nudging
    s.emulator.send_event(metadata_event(deal("crm-1", {"slack_user_id": REP})))
    dm = nudge_dm(s, default_bank().moment("close_date_pushed").title)
    assert "moved from `2026-11-30` to `2027-01-15`" in str(dm["blocks"])
    assert "46 days later" in str(dm["blocks"])
    prompt = default_bank().moment("close_date_pushed").prompts[0]

    # another rep clicks a button copied from REP's message
    click(s, dm, prompt, "yes", user="U0REP2")
    wait_for(lambda: any("not sent to you" in str(e) for e in s.emulator.ephemerals("U0REP2")))
    # a forged value: not one of the prompt's answers
    [element] = [
        e
        for b in dm["blocks"]
        if b.get("block_id") == f"a|{prompt}"
        for e in b["elements"]
        if e["value"].endswith("|yes")
    ]
    delivery_id = element["value"].split("|")[0]
    forged = {**element, "block_id": f"a|{prompt}", "value": f"{delivery_id}|maybe"}
    reply = s.emulator.send_block_action(REP, [forged], message=current(s, dm))
    assert reply.status == 200
    wait_for(lambda: any("not one of the answers" in str(e) for e in s.emulator.ephemerals(REP)))
    assert rows(s.database_url, Response) == []


def test_a_closed_nudge_refuses_answers_and_shows_it_has_closed(nudging: ClockStack) -> None:
    s = nudging
    s.emulator.send_event(metadata_event(deal("crm-1", {"slack_user_id": REP}, change="lost")))
    dm = nudge_dm(s, default_bank().moment("lost").title)
    [nudge] = [d for d in rows(s.database_url, Delivery) if d.kind == "nudge"]
    assert nudge.status == "sent" and nudge.expires_at is not None
    s.clock.set(nudge.expires_at + timedelta(minutes=1))
    click(s, dm, default_bank().moment("lost").prompts[0], "yes")
    wait_for(lambda: CLOSED_TEXT in str(current(s, dm)["blocks"]))
    assert not [b for b in current(s, dm)["blocks"] if b["type"] == "actions"]
    assert any("has closed" in str(e) for e in s.emulator.ephemerals(REP))
    assert rows(s.database_url, Response) == []


def test_no_nudge_reaches_a_rep_of_a_paused_team(nudging: ClockStack) -> None:
    s = nudging
    assert "paused" in trust(s, "pause sales").lower()
    s.emulator.send_event(metadata_event(deal("crm-1", {"slack_user_id": REP})))
    [event] = wait_for(
        lambda: [e for e in rows(s.database_url, DealEvent) if e.status != deals.ACCEPTED]
    )
    assert event.status == deals.SKIPPED
    assert rows(s.database_url, Delivery) == [] and s.emulator.dm_messages(REP) == []
