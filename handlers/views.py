"""Modal submissions: the check-in's note, a manager's reply to a shared note and the team
setup."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import answers, note_check, note_replies, teams
from bot.runtime import Runtime
from bot.slack import follow_through as follow_up
from bot.slack import note_reply, timezones
from bot.slack.checkin_dm import refresh_checkin, tell
from bot.slack.kit.blocks import inert, notice
from bot.slack.kit.checkin import (
    EMPTY_NOTE_ERROR,
    NOTE_BLOCK,
    NOTE_CALLBACK,
    note_submission,
)
from bot.slack.kit.follow_through import WORDS_BLOCK, WORDS_CALLBACK
from bot.slack.kit.note_reply import REPLY_BLOCK, REPLY_CALLBACK, reply_submission, sent_view
from bot.slack.kit.setup import CALLBACK_ID as SETUP_CALLBACK
from bot.slack.kit.setup import parse_setup
from bot.slack.listen import Body, Listen
from bot.slack.middleware import AfterAck
from bot.slack.users import is_admin

UNKNOWN_ROUND = "This note cannot be saved: its check-in is unknown. Close this window."
NOT_ADMIN = ":warning: Only Trustbot admins can set up teams; nothing was saved."


def register(app: AsyncApp, runtime: Runtime, after_ack: AfterAck) -> None:
    listen = Listen(app, after_ack)

    @listen.submission(NOTE_CALLBACK)
    async def save_note(
        ack: AsyncAck, user_id: str, workspace_id: str, view: Body, client: AsyncWebClient
    ) -> None:
        try:
            round_id, text, shared = note_submission(view)
        except ValueError:
            await ack(response_action="errors", errors={NOTE_BLOCK: UNKNOWN_ROUND})
            return
        if not text.strip():
            await ack(response_action="errors", errors={NOTE_BLOCK: EMPTY_NOTE_ERROR})
            return
        try:
            await answers.record_note(runtime, workspace_id, user_id, round_id, text, shared)
        except answers.AnswerError as error:
            await ack(response_action="errors", errors={NOTE_BLOCK: error.message})
            if isinstance(error, answers.CheckinClosed):
                await refresh_checkin(runtime, client, workspace_id, user_id, round_id)
            return
        await ack()
        await refresh_checkin(runtime, client, workspace_id, user_id, round_id)
        if shared:  # a shared note naming a deal or a person can point back to its writer
            warned = await note_check.check_shared_note(
                runtime, workspace_id, user_id, round_id, text
            )
            if warned is not None:
                await tell(client, None, user_id, warned)

    @listen.submission(REPLY_CALLBACK)
    async def reply_to_note(
        ack: AsyncAck, user_id: str, workspace_id: str, view: Body, client: AsyncWebClient
    ) -> None:
        ref, text = reply_submission(view)
        try:
            note, writers = await note_replies.reply(runtime, workspace_id, user_id, ref, text)
        except note_replies.ReplyError as error:
            await ack(response_action="errors", errors={REPLY_BLOCK: error.message})
            return
        await ack(response_action="update", view=sent_view())
        await note_reply.deliver(client, writers, note, text.strip())

    @listen.submission(WORDS_CALLBACK)
    async def follow_through_words(
        ack: AsyncAck, user_id: str, workspace_id: str, view: Body, client: AsyncWebClient
    ) -> None:
        plan = await follow_up.submitted(runtime, workspace_id, user_id, view)
        if isinstance(plan, str):
            await ack(response_action="errors", errors={WORDS_BLOCK: plan})
            return
        await ack()
        await follow_up.finish(client, plan)

    @listen.submission(SETUP_CALLBACK)
    async def save_setup(
        ack: AsyncAck, user_id: str, workspace_id: str, view: Body, client: AsyncWebClient
    ) -> None:
        """Acks as soon as the form reads well (nothing slow before the ack: the admin check
        may ask Slack's ``users.info``); the rest is told in the admin's DM."""
        parsed = parse_setup(view)
        if isinstance(parsed, dict):
            await ack(response_action="errors", errors=parsed)
            return
        await ack()
        if not await is_admin(runtime, client, workspace_id, user_id):
            await client.chat_postMessage(channel=user_id, **notice(NOT_ADMIN))
            return
        try:
            team = await teams.save(runtime.db, workspace_id, user_id, parsed, runtime.clock)
        except teams.TeamError as error:
            await client.chat_postMessage(
                channel=user_id, **notice(f":warning: The team was not saved: {error}")
            )
            return
        await timezones.learn(runtime, client, workspace_id, parsed.reps)
        await client.chat_postMessage(
            channel=user_id,
            **notice(
                f"Team `{inert(team.name)}` saved: {len(parsed.reps)} reps, {len(parsed.managers)} "
                f"managers, digest in <#{team.channel_id}>, k={team.k}."
            ),
        )
