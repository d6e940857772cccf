"""A rep answers the weekly check-in in their DM: clicks, changes, a note, and expiry."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.prompts import default_bank
from bot.runtime.pseudonyms import Pseudonyms
from bot.slack.kit.checkin import CLOSED_TEXT
from bot.storage.models import Note, Response
from tests.support.checkin_dm import (
    GOAL,
    REP,
    SCALE,
    click,
    current,
    elements,
    expire,
    note_values,
    primary,
    send_checkin,
)
from tests.support.db import rows
from tests.support.stack import PSEUDONYM_KEY, Stack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def weekly(s: Stack, user: str, period: date) -> str:
    """``user``'s pseudonym of that week in the stack's workspace."""
    return Pseudonyms(PSEUDONYM_KEY).weekly(s.emulator.state.team_id, user, period)


def test_a_click_is_recorded_under_a_pseudonym_and_shown(http_stack: Stack) -> None:
    s = http_stack
    sent = send_checkin(s)
    click(s, f"checkin.answer:{SCALE}:4")
    assert wait_for(lambda: primary(current(s, sent), SCALE)) == ["4"]
    (row,) = rows(s.database_url, Response)
    assert row.pseudonym == weekly(s, REP, row.period_start)
    assert (row.prompt_id, row.value, row.score, row.context) == (
        SCALE,
        "4",
        4,
        f"checkin:{row.period_start.isoformat()}",
    )
    assert REP not in " ".join(str(v) for v in row.model_dump().values())
    said = default_bank().prompt(SCALE).feedback_for("4")  # the feedback for that very answer
    assert said is not None
    assert said.text in str(current(s, sent)["blocks"])

    click(s, f"checkin.answer:{GOAL}", value=f"{sent.round_id}|trust_and_value")

    def picked() -> str | None:
        (select_,) = elements(current(s, sent), GOAL) or [{}]
        return (select_.get("initial_option") or {}).get("value")

    assert wait_for(picked) == f"{sent.round_id}|trust_and_value"
    assert primary(current(s, sent), SCALE) == ["4"]  # the earlier answer still shows
    assert {(r.prompt_id, r.value) for r in rows(s.database_url, Response)} == {
        (SCALE, "4"),
        (GOAL, "trust_and_value"),
    }
    assert s.emulator.validation_failures == []


def test_changing_an_answer_updates_it_in_place(http_stack: Stack) -> None:
    s = http_stack
    sent = send_checkin(s)
    click(s, f"checkin.answer:{SCALE}:4")
    wait_for(lambda: primary(current(s, sent), SCALE) == ["4"])
    click(s, f"checkin.answer:{SCALE}:2")
    wait_for(lambda: primary(current(s, sent), SCALE) == ["2"])
    (row,) = rows(s.database_url, Response)
    assert (row.value, row.score) == ("2", 2)
    assert s.emulator.ephemerals(REP) == []


def test_a_click_after_expiry_is_refused_and_the_message_closes(http_stack: Stack) -> None:
    s = http_stack
    sent = send_checkin(s)
    click(s, f"checkin.answer:{SCALE}:5")
    wait_for(lambda: primary(current(s, sent), SCALE) == ["5"])
    expire(s, sent)
    button = next(b for b in elements(current(s, sent), SCALE) if b["text"]["text"] == "1")
    click(s, button["action_id"])
    (told,) = wait_for(lambda: s.emulator.ephemerals(REP))
    assert "This check-in has closed" in told["text"] and told["channel"] == sent.channel
    wait_for(lambda: CLOSED_TEXT in str(current(s, sent)["blocks"]))
    closed = current(s, sent)
    assert not any(b["type"] == "actions" for b in closed["blocks"])
    assert "*5 of 5*" in str(closed["blocks"])
    (row,) = rows(s.database_url, Response)
    assert row.value == "5"


def test_a_malformed_click_is_explained(http_stack: Stack) -> None:
    s = http_stack
    sent = send_checkin(s)
    message = current(s, sent)
    message["channel"] = sent.channel
    action = {
        "type": "button",
        "action_id": f"checkin.answer:{SCALE}:4",
        "block_id": f"a|{SCALE}",
        "value": "not-a-round|4",
    }
    assert s.emulator.send_block_action(REP, [action], message=message).ok
    (told,) = wait_for(lambda: s.emulator.ephemerals(REP))
    assert "could not be read" in told["text"]
    assert rows(s.database_url, Response) == []


def test_a_note_is_written_in_a_modal_and_can_be_shared(http_stack: Stack) -> None:
    s = http_stack
    sent = send_checkin(s)
    click(s, "checkin.note")
    (view,) = wait_for(lambda: s.emulator.views_opened(REP))
    assert view["callback_id"] == "checkin.note" and view["private_metadata"] == str(sent.round_id)

    empty = s.emulator.send_view_submission(REP, view, note_values("   ", shared=True))
    assert empty.body == {
        "response_action": "errors",
        "errors": {"note": "Write something, or close this window."},
    }
    assert rows(s.database_url, Note) == []

    bad = dict(view, private_metadata="round:x")
    refused = s.emulator.send_view_submission(REP, bad, note_values("hello", shared=True))
    assert isinstance(refused.body, dict) and refused.body["response_action"] == "errors"
    assert rows(s.database_url, Note) == []

    text = "  A client asked for 20% off; I asked what they valued instead.  "
    saved = s.emulator.send_view_submission(REP, view, note_values(text, shared=True))
    assert saved.ok and not saved.body
    (note,) = rows(s.database_url, Note)
    assert (note.text, note.shared) == (text.strip(), True)
    assert note.pseudonym == weekly(s, REP, note.period_start)
    assert REP not in " ".join(str(v) for v in note.model_dump().values())
    wait_for(lambda: "Edit note" in str(current(s, sent)["blocks"]))

    click(s, "checkin.note")
    reopened = wait_for(lambda: s.emulator.views_opened(REP)[1:])[0]
    element = reopened["blocks"][0]["element"]
    assert element["initial_value"] == text.strip()
    assert reopened["blocks"][1]["element"]["initial_options"][0]["value"] == "shared"
    assert s.emulator.send_view_submission(REP, reopened, note_values("Private now", False)).ok
    (note,) = rows(s.database_url, Note)
    assert (note.text, note.shared) == ("Private now", False)
    wait_for(lambda: "Not shared" in str(current(s, sent)["blocks"]))
    assert s.emulator.validation_failures == []


def test_the_note_button_on_a_closed_checkin_opens_nothing(http_stack: Stack) -> None:
    s = http_stack
    sent = send_checkin(s)
    expire(s, sent)
    click(s, "checkin.note")
    (told,) = wait_for(lambda: s.emulator.ephemerals(REP))
    assert "closed" in told["text"]
    wait_for(lambda: CLOSED_TEXT in str(current(s, sent)["blocks"]))
    assert s.emulator.views_opened(REP) == []
