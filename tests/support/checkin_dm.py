"""A check-in DM posted to a rep as the outbox would, and its buttons read and clicked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlmodel import select

from bot.core.prompts import default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime.clock import SystemClock
from bot.slack.kit.checkin import checkin_message, checkin_tip
from bot.storage import Database
from bot.storage.models import CheckinRound, Delivery
from tests.support.checkins import add_round, checkin_delivery
from tests.support.db import in_db, in_session
from tests.support.stack import BOT_TOKEN, Stack

REP = "U0REP1"
SCALE = "care.interests_first"
GOAL = "goal.trust_or_else"


@dataclass
class Sent:
    """Where the DM of a round is."""

    round_id: int
    channel: str
    ts: str


def send_checkin(stack: Stack, prompt_ids: list[str] | None = None) -> Sent:
    """Plan a round for REP and post its DM as the outbox would."""
    emu, bank = stack.emulator, default_bank()
    workspace = emu.state.team_id
    now = datetime.now(UTC)
    ids = prompt_ids or [GOAL, SCALE, "candor.forecast_honest", "internal_trust.weekly_note"]

    async def workspace_row(db: Database) -> None:  # the app may be creating it too
        await ensure_workspace(db, workspace, SystemClock())

    async def plan(session: Any) -> CheckinRound:
        rnd = await add_round(
            session, workspace, now, channel="C0SALES", prompt_ids=ids, status="fanned_out"
        )
        session.add(checkin_delivery(rnd, REP, "sending", now))
        return rnd

    in_db(stack.database_url, workspace_row)
    rnd = in_session(stack.database_url, plan)
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

    in_session(stack.database_url, mark_sent)
    return Sent(rnd.id, posted["channel"], posted["ts"])


def expire(stack: Stack, sent: Sent) -> None:
    """The DM's check-in closed a minute ago."""

    async def work(session: Any) -> None:
        delivery = (
            await session.exec(select(Delivery).where(Delivery.round_id == sent.round_id))
        ).one()
        delivery.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add(delivery)

    in_session(stack.database_url, work)


def current(stack: Stack, sent: Sent) -> dict[str, Any]:
    """The DM as Slack shows it now."""
    message = stack.emulator.message(sent.channel, sent.ts)
    assert message is not None
    return message


def elements(message: dict[str, Any], prompt_id: str) -> list[dict[str, Any]]:
    for block in message["blocks"]:
        if block.get("block_id") == f"a|{prompt_id}":
            return list(block["elements"])
    return []


def primary(message: dict[str, Any], prompt_id: str) -> list[str]:
    """The labels of the highlighted (chosen) buttons of ``prompt_id``'s row."""
    return [b["text"]["text"] for b in elements(message, prompt_id) if b.get("style") == "primary"]


def click(stack: Stack, action_id: str, value: str | None = None) -> None:
    """REP clicks the button ``action_id`` of the DM."""
    delivery = stack.emulator.send_click(REP, action_id, value=value)
    assert delivery.ok, delivery


def note_values(text: str, shared: bool) -> dict[str, Any]:
    """The note modal's state values as Slack sends them on submit."""
    option = {
        "text": {"type": "plain_text", "text": "Share anonymously with my team's digest"},
        "value": "shared",
    }
    return {
        "note": {"text": {"type": "plain_text_input", "value": text}},
        "share": {"shared": {"type": "checkboxes", "selected_options": [option] if shared else []}},
    }
