"""A manager's anonymous reply to a shared note, in Slack: the Reply button opens the modal
(for a current manager of the team only), the submission stores the reply and DMs it to the
note's writer, found with the key in memory (:mod:`bot.core.note_replies`). Neither the
manager's screens nor any log line name the writer."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import note_replies
from bot.runtime import Runtime
from bot.slack.checkin_dm import clicked_in, tell
from bot.slack.kit.note_reply import note_parent, reply_in_thread, reply_modal

log = logging.getLogger(__name__)


async def open_reply(
    runtime: Runtime, client: AsyncWebClient, body: dict[str, Any], workspace_id: str
) -> None:
    """The Reply button: the modal for a manager of the note's team; anyone else is told why
    not, privately."""
    user_id = body["user"]["id"]
    ref = (body.get("actions") or [{}])[0].get("value")
    try:
        note = await note_replies.target(runtime, workspace_id, user_id, ref)
    except note_replies.ReplyError as error:
        await tell(client, clicked_in(body), user_id, error.message)
        return
    await client.views_open(trigger_id=body["trigger_id"], view=reply_modal(str(ref), note))


async def deliver(
    client: AsyncWebClient, writers: list[str], note: note_replies.NoteTarget, text: str
) -> None:
    """DM each writer the note, with the reply in its thread. Failures are logged without the
    writer (the log is no place for who wrote a note)."""
    for writer in writers:
        try:
            dm = await client.conversations_open(users=writer)
            channel = dm["channel"]["id"]
            parent = await client.chat_postMessage(channel=channel, **note_parent(note))
            await client.chat_postMessage(
                channel=channel, thread_ts=parent["ts"], **reply_in_thread(text)
            )
        except SlackApiError as error:
            log.warning("a note reply was not delivered: %s", error.response.get("error"))
