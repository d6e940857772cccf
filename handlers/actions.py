"""Buttons and selects in messages: the check-in's and deal nudge's answers, the check-in's
"Add a note" button, the App Home's controls and the setup modal's team picker.

Each listener acks at once, then lets :mod:`bot.core.answers` do the work and redraws the DM
(where the outbox posted it, whatever the click says) with :mod:`bot.slack.checkin_dm`.
Anything refused is told to the rep in an ephemeral message. The setup modal's team picker
shows a team's roster, so it answers admins only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import answers, manager_checkin, nudges, people, teams
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.slack import follow_through as follow_up
from bot.slack import followups, note_reply
from bot.slack.checkin_dm import clicked_in, refresh_checkin, tell
from bot.slack.followups import FORGET_ACTION
from bot.slack.home_publish import publish_home
from bot.slack.kit.blocks import notice
from bot.slack.kit.checkin import (
    ANSWER_ACTION,
    NOTE_ACTION,
    note_modal_for,
    parse_answer,
    parse_round_id,
)
from bot.slack.kit.home import OPTIN_ACTION, OPTOUT_ACTION, SNOOZE_ACTION
from bot.slack.kit.manager_checkin import MANAGER_ACTION
from bot.slack.kit.note_reply import REPLY_ACTION
from bot.slack.kit.nudge import ANSWER_ACTION as NUDGE_ACTION
from bot.slack.kit.setup import PICK_ACTION, setup_view
from bot.slack.listen import Body, Listen
from bot.slack.manager_dm import refresh_manager_checkin
from bot.slack.middleware import AfterAck
from bot.slack.nudge_dm import refresh_nudge
from bot.slack.users import is_admin

log = logging.getLogger(__name__)

ANSWER_PATTERN = re.compile(r"^checkin\.answer:")
NUDGE_PATTERN = re.compile(r"^nudge\.answer:")
FOLLOW_PATTERN = re.compile(r"^nudge\.follow:")
MANAGER_PATTERN = re.compile(r"^manager\.answer:")
UNREADABLE = "That answer could not be read. Please use the buttons of your latest check-in."
UNREADABLE_NUDGE = "That answer could not be read. Please use the buttons of the nudge."
UNREADABLE_MANAGER = "That answer could not be read. Please use the buttons of your check-in."


def register(app: AsyncApp, runtime: Runtime, after_ack: AfterAck) -> None:
    listen = Listen(app, after_ack)

    @listen.click(FOLLOW_PATTERN)
    async def follow_through(
        body: Body, user_id: str, workspace_id: str, client: AsyncWebClient
    ) -> None:
        await follow_up.clicked(
            runtime,
            client,
            workspace_id,
            user_id,
            (body.get("actions") or [{}])[0],
            body.get("trigger_id"),
        )

    @listen.click(ANSWER_PATTERN, NUDGE_PATTERN, MANAGER_PATTERN)
    async def answer(body: Body, user_id: str, workspace_id: str, client: AsyncWebClient) -> None:
        """An answer button of a check-in, a nudge or a manager's check-in: one path for all."""
        action_id = str((body.get("actions") or [{}])[0].get("action_id") or "")
        dm = DM_ANSWERS[action_id.partition(":")[0]]
        await answer_click(runtime, client, body, user_id, workspace_id, dm)

    @listen.click(NOTE_ACTION)
    async def open_note(
        body: Body, user_id: str, workspace_id: str, client: AsyncWebClient
    ) -> None:
        channel = clicked_in(body)
        try:
            round_id = parse_round_id((body.get("actions") or [{}])[0].get("value"))
            state = await answers.checkin_state(runtime, workspace_id, user_id, round_id)
        except ValueError as error:  # AnswerError is a ValueError too
            text = error.message if isinstance(error, answers.AnswerError) else UNREADABLE
            await tell(client, channel, user_id, text)
            return
        if state.closed:
            await tell(client, channel, user_id, answers.CLOSED)
            await refresh_checkin(runtime, client, workspace_id, user_id, round_id)
            return
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=note_modal_for(default_bank(), state.round, state.note),
        )

    @listen.click(REPLY_ACTION)
    async def reply_to_note(
        body: Body, user_id: str, workspace_id: str, client: AsyncWebClient
    ) -> None:
        await note_reply.open_reply(runtime, client, body, workspace_id)

    @listen.click(PICK_ACTION)
    async def pick_team(
        body: Body, user_id: str, workspace_id: str, client: AsyncWebClient
    ) -> None:
        if not await is_admin(runtime, client, workspace_id, user_id):  # the roster is admins' only
            log.warning("refused the setup team picker to %s: not an admin", user_id)
            return
        chosen = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value")
        summaries = await teams.summaries(runtime.db, workspace_id)
        match = next((s for s in summaries if s.team.name == chosen), None)
        view = body.get("view") or {}
        if not isinstance(view.get("id"), str):  # not picked in a modal: nothing to redraw
            return
        try:
            await client.views_update(
                view_id=view.get("id"), hash=view.get("hash"), view=setup_view(summaries, match)
            )
        except SlackApiError as error:  # hash_conflict: a newer pick already redrew it
            log.warning("could not redraw the setup modal: %s", error.response.get("error"))

    @listen.click(SNOOZE_ACTION)
    async def snooze(body: Body, user_id: str, workspace_id: str, client: AsyncWebClient) -> None:
        raw = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value", "")
        if str(raw).isdecimal() and len(str(raw)) <= 2 and 1 <= int(raw) <= 90:
            await people.snooze(runtime.db, workspace_id, user_id, int(raw), runtime.clock)
        await publish_home(runtime, client, workspace_id, user_id)

    @listen.click(OPTOUT_ACTION, OPTIN_ACTION)
    async def opt(body: Body, user_id: str, workspace_id: str, client: AsyncWebClient) -> None:
        out = (body.get("actions") or [{}])[0].get("action_id") == OPTOUT_ACTION
        await people.set_opted_out(runtime.db, runtime.pseudonyms, workspace_id, user_id, out)
        await publish_home(runtime, client, workspace_id, user_id)

    @app.action(FORGET_ACTION)
    @after_ack
    async def forget(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        text = await followups.forget(runtime, client, str(context.team_id), body["user"]["id"])
        await respond(replace_original=True, **notice(text))


@dataclass(frozen=True)
class DmAnswers:
    """How the answer buttons of one kind of DM are read, recorded and redrawn."""

    action: str
    unreadable: str
    record: Callable[[Runtime, str, str, int, str, str], Awaitable[object]]
    """``(runtime, workspace_id, user_id, delivery_id, item_id, value)``"""
    closed: type[answers.AnswerError]
    """The error that says the DM has closed meanwhile: it is redrawn then too."""
    refresh: Callable[[Runtime, AsyncWebClient, str, str, int], Awaitable[None]]
    home: bool = False
    """Whether the App Home shows the answers too: it is republished after the DM."""


async def _record_manager_answer(
    runtime: Runtime, workspace_id: str, user_id: str, delivery_id: int, item_id: str, value: str
) -> None:
    await manager_checkin.record_manager_answer(
        runtime, workspace_id, user_id, delivery_id, item_id, value, default_bank()
    )


DM_ANSWERS = {
    dm.action: dm
    for dm in (
        DmAnswers(
            ANSWER_ACTION,
            UNREADABLE,
            answers.record_answer,
            answers.CheckinClosed,
            refresh_checkin,
            home=True,
        ),
        DmAnswers(
            NUDGE_ACTION,
            UNREADABLE_NUDGE,
            nudges.record_nudge_answer,
            nudges.NudgeClosed,
            refresh_nudge,
        ),
        DmAnswers(
            MANAGER_ACTION,
            UNREADABLE_MANAGER,
            _record_manager_answer,
            answers.CheckinClosed,
            refresh_manager_checkin,
        ),
    )
}
"""The DMs answered with :func:`answer_click`, by their answer action (the action id's
prefix)."""


async def answer_click(
    runtime: Runtime,
    client: AsyncWebClient,
    body: dict[str, Any],
    user_id: str,
    workspace_id: str,
    dm: DmAnswers,
) -> None:
    """One answer button of a DM (a check-in's, a nudge's, a manager check-in's): read the
    click, record it, say what went wrong in the DM, and redraw the DM (also when it had closed
    meanwhile)."""
    channel = clicked_in(body)
    try:
        delivery_id, item_id, value = parse_answer((body.get("actions") or [{}])[0], dm.action)
    except ValueError:
        await tell(client, channel, user_id, dm.unreadable)
        return
    try:
        await dm.record(runtime, workspace_id, user_id, delivery_id, item_id, value)
    except answers.AnswerError as error:
        await tell(client, channel, user_id, error.message)
        if not isinstance(error, dm.closed):
            return
    await dm.refresh(runtime, client, workspace_id, user_id, delivery_id)
    if dm.home:
        await publish_home(runtime, client, workspace_id, user_id)
