"""Deal moments that fit, end to end on the emulator: a waiting nudge superseded by a newer
update, and one-click follow-through from a nudge (with forged clicks refused).

The app runs on a manual clock; the rep U0REP1 is in New York (the emulator's default)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.prompts import default_bank
from bot.storage.models import DealEvent, Delivery
from slack_emulator import SlackEmulator
from tests.support.db import rows
from tests.support.deals import ClockStack, clock_stack, deal, dm_with, metadata_event
from tests.support.stack import trust
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

REP, OTHER, MANAGER = "U0REP1", "U0REP2", "U0MGR"
FRIDAY_EVENING_NY = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # 18:30 in New York
MONDAY_NY = datetime(2026, 11, 30, 14, 1, tzinfo=UTC)  # 09:01 in New York
MONDAY_10_NY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def friday(emulator: SlackEmulator, database_url: str) -> Iterator[ClockStack]:
    s = clock_stack(emulator, database_url, FRIDAY_EVENING_NY, REP)
    yield s
    s.server.stop()


@pytest.fixture
def monday(emulator: SlackEmulator, database_url: str) -> Iterator[ClockStack]:
    s = clock_stack(emulator, database_url, MONDAY_10_NY, REP, OTHER)
    assert "Added" in trust(s, f"team manager sales <@{MANAGER}>")
    yield s
    s.server.stop()


def send(stack: ClockStack, event_id: str, **changes: Any) -> None:
    payload = deal(event_id, {"slack_user_id": REP}, **changes)
    assert stack.emulator.send_event(metadata_event(payload)).status == 200


def test_a_nudge_waiting_for_monday_is_superseded_when_the_deal_is_lost(
    friday: ClockStack,
) -> None:
    bank = default_bank()
    send(friday, "crm-1", occurred_at="2026-11-27T23:00:00Z")  # close date pushed: waits
    wait_for(lambda: [d for d in rows(friday.database_url, Delivery) if d.status == "pending"])
    send(
        friday,
        "crm-2",
        change="lost",
        **{"from": "Negotiation/Review", "to": "Closed Lost"},
        occurred_at="2026-11-28T09:00:00Z",
    )

    def settled() -> list[Delivery] | None:
        found = sorted(rows(friday.database_url, Delivery), key=lambda d: d.id or 0)
        return found if len(found) == 2 and found[0].status == "superseded" else None

    old, new = wait_for(settled)
    assert "(lost)" in (old.last_error or "") and new.status == "pending"
    events = rows(friday.database_url, DealEvent)
    assert sorted(e.status for e in events) == ["deferred", "superseded"]
    assert friday.emulator.dm_messages(REP) == []  # nothing on a Friday evening
    friday.clock.set(MONDAY_NY)
    lost = wait_for(lambda: dm_with(friday, REP, bank.moment("lost").title))
    assert "was lost" in str(lost["blocks"])
    pushed = bank.moment("close_date_pushed").title
    assert not [m for m in friday.emulator.dm_messages(REP) if pushed in str(m.get("blocks"))]
    friday.clock.set(MONDAY_NY + timedelta(minutes=5))
    assert len(friday.emulator.dm_messages(REP)) == 1  # and never later


def won_nudge(stack: ClockStack) -> dict[str, Any]:
    send(stack, "crm-w", change="won", **{"from": "Negotiation", "to": "Closed Won"})
    return wait_for(lambda: dm_with(stack, REP, "Draft a reference ask"))


def test_a_rep_drafts_a_reference_ask_with_one_click_and_forgeries_are_refused(
    monday: ClockStack,
) -> None:
    emu = monday.emulator
    dm = won_nudge(monday)
    assert "Hand over to delivery" not in str(dm["blocks"])  # no delivery channel named yet
    # another rep clicks it (a forged payload on REP's message): refused, nothing sent
    emu.send_click(OTHER, "nudge.follow:reference", message=dm)
    told = wait_for(lambda: emu.ephemerals(OTHER))
    assert "not sent to you" in str(told[-1])
    assert emu.dm_messages(OTHER) == []
    # an action this nudge does not offer, forged onto its button
    [button] = next(b for b in dm["blocks"] if b.get("block_id") == "follow")["elements"]
    forged = {
        **dm,
        "blocks": [
            {
                "type": "actions",
                "block_id": "follow",
                "elements": [{**button, "action_id": "nudge.follow:qualify_out"}],
            }
        ],
    }
    emu.send_click(REP, "nudge.follow:qualify_out", message=forged)
    wait_for(lambda: any("does not offer" in str(e) for e in emu.ephemerals(REP)))
    assert emu.dm_messages(MANAGER) == []
    # the rep's own click
    emu.send_click(REP, "nudge.follow:reference", message=dm)
    draft = wait_for(lambda: dm_with(monday, REP, "A reference ask for"))
    assert "act as a reference" in str(draft["blocks"])


def test_a_commitment_is_posted_to_delivery_in_the_reps_words_inert(
    monday: ClockStack,
) -> None:
    emu = monday.emulator
    emu.add_channel("C0DELIVER", name="delivery")
    assert "can now flag" in trust(monday, "delivery sales <#C0DELIVER|delivery>")
    send(monday, "crm-c", change="stage_changed", **{"from": "Proposal", "to": "Contract Sent"})
    dm = wait_for(lambda: dm_with(monday, REP, "Flag a commitment to delivery"))
    emu.send_click(REP, "nudge.follow:commitment", message=dm)
    view = wait_for(lambda: emu.views_opened(REP) and emu.views_opened(REP)[-1])
    assert view["callback_id"] == "nudge.follow.words"
    empty = emu.send_view_submission(REP, view, {"words": {"words_input": {"value": "  "}}})
    assert "nothing was sent" in str(empty.body)
    words = "Go-live by 1 March <!channel> see https://evil.example"
    done = emu.send_view_submission(REP, view, {"words": {"words_input": {"value": words}}})
    assert done.ok
    [posted] = wait_for(lambda: emu.messages("C0DELIVER"))
    text = str(posted["blocks"])
    assert "Commitment to check" in text and f"<@{REP}>" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # inert: no mention
    assert "https://evil.example" not in text  # no link
    wait_for(lambda: any("Posted to" in str(e) for e in emu.ephemerals(REP)))
