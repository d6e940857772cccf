"""A rep answers the weekly check-in in their DM: clicks, changes, a note, and expiry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.core.prompts import default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime.clock import SystemClock
from bot.runtime.pseudonyms import pseudonym
from bot.slack.kit.checkin import CLOSED_TEXT, checkin_message, checkin_tip
from bot.storage import Database
from bot.storage.models import CheckinRound, Delivery, Note, Response, Team
from slack_emulator import SlackEmulator
from tests.e2e.conftest import BOT_TOKEN, Stack, start_app

pytestmark = pytest.mark.slow

KEY = "e2e-pseudonym-key-0123456789"  # as tests/e2e/conftest.start_app sets it
REP = "U0REP1"
SCALE = "care.interests_first"
GOAL = "goal.trust_or_else"
T = TypeVar("T")


@pytest.fixture
def answering(emulator: SlackEmulator, database_url: str) -> Iterator[Stack]:
    """The app over HTTP (check-in listeners are registered like every other surface)."""
    s = Stack(emulator, start_app(emulator, database_url, "http"), "http", database_url)
    yield s
    s.server.stop()


def db_run(url: str, work: Callable[[Any], Any]) -> Any:
    async def go() -> Any:
        db = Database(url)
        try:
            async with db.session() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def rows(stack: Stack, model: type) -> list[Any]:
    async def fetch(session: Any) -> list[Any]:
        return list((await session.exec(select(model))).all())

    return list(db_run(stack.database_url, fetch))


def wait_for(check: Callable[[], T | None], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


@dataclass
class Sent:
    round_id: int
    channel: str
    ts: str


def send_checkin(stack: Stack, prompt_ids: list[str] | None = None) -> Sent:
    """Plan a round for REP and post its DM as the outbox would."""
    emu, bank = stack.emulator, default_bank()
    now = datetime.now(UTC)
    ids = prompt_ids or [GOAL, SCALE, "candor.forecast_honest", "internal_trust.weekly_note"]

    async def workspace_row() -> None:  # the app may be creating it too, as it starts
        db = Database(stack.database_url)
        try:
            await ensure_workspace(db, emu.state.team_id, SystemClock())
        finally:
            await db.dispose()

    async def plan(session: Any) -> CheckinRound:
        team = Team(
            workspace_id=emu.state.team_id, name="sales", channel_id="C0SALES", created_at=now
        )
        session.add(team)
        await session.flush()
        assert team.id is not None
        rnd = CheckinRound(
            workspace_id=emu.state.team_id,
            team_id=team.id,
            period_start=date(2026, 11, 23),
            period_end=date(2026, 11, 29),
            prompt_ids=ids,
            status="fanned_out",
            created_at=now,
        )
        session.add(rnd)
        await session.flush()
        session.add(
            Delivery(
                workspace_id=emu.state.team_id,
                kind="checkin",
                round_id=rnd.id,
                user_id=REP,
                status="sending",
                next_attempt_at=now,
                created_at=now,
            )
        )
        return rnd

    asyncio.run(workspace_row())
    rnd = db_run(stack.database_url, plan)
    message = checkin_message(bank, rnd, {}, None, tip=checkin_tip(bank, rnd))
    posted = WebClient(token=BOT_TOKEN, base_url=emu.api_url).chat_postMessage(
        channel=REP, **message
    )

    async def mark_sent(session: Any) -> None:
        delivery = (await session.exec(select(Delivery).where(Delivery.round_id == rnd.id))).one()
        delivery.status, delivery.channel_id, delivery.message_ts = (
            "sent",
            posted["channel"],
            posted["ts"],
        )
        delivery.sent_at, delivery.remind_at = now, now + timedelta(days=1)
        delivery.expires_at = now + timedelta(days=3)
        session.add(delivery)

    db_run(stack.database_url, mark_sent)
    return Sent(rnd.id, posted["channel"], posted["ts"])


def expire(stack: Stack, sent: Sent) -> None:
    async def work(session: Any) -> None:
        delivery = (
            await session.exec(select(Delivery).where(Delivery.round_id == sent.round_id))
        ).one()
        delivery.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add(delivery)

    db_run(stack.database_url, work)


def current(stack: Stack, sent: Sent) -> dict[str, Any]:
    message = stack.emulator.message(sent.channel, sent.ts)
    assert message is not None
    return message


def elements(message: dict[str, Any], prompt_id: str) -> list[dict[str, Any]]:
    for block in message["blocks"]:
        if block.get("block_id") == f"a|{prompt_id}":
            return list(block["elements"])
    return []


def primary(message: dict[str, Any], prompt_id: str) -> list[str]:
    return [b["text"]["text"] for b in elements(message, prompt_id) if b.get("style") == "primary"]


def click(stack: Stack, action_id: str, value: str | None = None) -> None:
    delivery = stack.emulator.send_click(REP, action_id, value=value)
    assert delivery.ok, delivery


def test_a_click_is_recorded_under_a_pseudonym_and_shown(answering: Stack) -> None:
    s = answering
    sent = send_checkin(s)
    click(s, f"checkin.answer:{SCALE}:4")
    assert wait_for(lambda: primary(current(s, sent), SCALE)) == ["4"]
    (row,) = rows(s, Response)
    assert row.pseudonym == pseudonym(KEY, s.emulator.state.team_id, REP)
    assert (row.prompt_id, row.value, row.score, row.context) == (
        SCALE,
        "4",
        4,
        f"round:{sent.round_id}",
    )
    assert REP not in " ".join(str(v) for v in row.model_dump().values())
    guidance = default_bank().prompt(SCALE).guidance
    assert guidance in str(current(s, sent)["blocks"])

    click(s, f"checkin.answer:{GOAL}", value=f"{sent.round_id}|trust_and_value")

    def picked() -> str | None:
        (select_,) = elements(current(s, sent), GOAL) or [{}]
        return (select_.get("initial_option") or {}).get("value")

    assert wait_for(picked) == f"{sent.round_id}|trust_and_value"
    assert primary(current(s, sent), SCALE) == ["4"]  # the earlier answer still shows
    assert {(r.prompt_id, r.value) for r in rows(s, Response)} == {
        (SCALE, "4"),
        (GOAL, "trust_and_value"),
    }
    assert s.emulator.validation_failures == []


def test_changing_an_answer_updates_it_in_place(answering: Stack) -> None:
    s = answering
    sent = send_checkin(s)
    click(s, f"checkin.answer:{SCALE}:4")
    wait_for(lambda: primary(current(s, sent), SCALE) == ["4"])
    click(s, f"checkin.answer:{SCALE}:2")
    wait_for(lambda: primary(current(s, sent), SCALE) == ["2"])
    (row,) = rows(s, Response)
    assert (row.value, row.score) == ("2", 2)
    assert s.emulator.ephemerals(REP) == []


def test_a_click_after_expiry_is_refused_and_the_message_closes(answering: Stack) -> None:
    s = answering
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
    (row,) = rows(s, Response)
    assert row.value == "5"


def test_a_malformed_click_is_explained(answering: Stack) -> None:
    s = answering
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
    assert rows(s, Response) == []


def test_a_note_is_written_in_a_modal_and_can_be_shared(answering: Stack) -> None:
    s = answering
    sent = send_checkin(s)
    click(s, "checkin.note")
    (view,) = wait_for(lambda: s.emulator.views_opened(REP))
    assert view["callback_id"] == "checkin.note" and view["private_metadata"] == str(sent.round_id)

    empty = s.emulator.send_view_submission(REP, view, note_values("   ", shared=True))
    assert empty.body == {
        "response_action": "errors",
        "errors": {"note": "Write something, or close this window."},
    }
    assert rows(s, Note) == []

    bad = dict(view, private_metadata="round:x")
    refused = s.emulator.send_view_submission(REP, bad, note_values("hello", shared=True))
    assert isinstance(refused.body, dict) and refused.body["response_action"] == "errors"
    assert rows(s, Note) == []

    text = "  A client asked for 20% off; I asked what they valued instead.  "
    saved = s.emulator.send_view_submission(REP, view, note_values(text, shared=True))
    assert saved.ok and not saved.body
    (note,) = rows(s, Note)
    assert (note.text, note.shared) == (text.strip(), True)
    assert note.pseudonym == pseudonym(KEY, s.emulator.state.team_id, REP)
    assert REP not in " ".join(str(v) for v in note.model_dump().values())
    wait_for(lambda: "Edit note" in str(current(s, sent)["blocks"]))

    click(s, "checkin.note")
    reopened = wait_for(lambda: s.emulator.views_opened(REP)[1:])[0]
    element = reopened["blocks"][0]["element"]
    assert element["initial_value"] == text.strip()
    assert reopened["blocks"][1]["element"]["initial_options"][0]["value"] == "shared"
    assert s.emulator.send_view_submission(REP, reopened, note_values("Private now", False)).ok
    (note,) = rows(s, Note)
    assert (note.text, note.shared) == ("Private now", False)
    wait_for(lambda: "Not shared" in str(current(s, sent)["blocks"]))
    assert s.emulator.validation_failures == []


def test_the_note_button_on_a_closed_checkin_opens_nothing(answering: Stack) -> None:
    s = answering
    sent = send_checkin(s)
    expire(s, sent)
    click(s, "checkin.note")
    (told,) = wait_for(lambda: s.emulator.ephemerals(REP))
    assert "closed" in told["text"]
    wait_for(lambda: CLOSED_TEXT in str(current(s, sent)["blocks"]))
    assert s.emulator.views_opened(REP) == []


def note_values(text: str, shared: bool) -> dict[str, Any]:
    option = {
        "text": {"type": "plain_text", "text": "Share anonymously with my team's digest"},
        "value": "shared",
    }
    return {
        "note": {"text": {"type": "plain_text_input", "value": text}},
        "share": {"shared": {"type": "checkboxes", "selected_options": [option] if shared else []}},
    }
