"""Carry out a rep's follow-through from a nudge (:mod:`bot.core.deals.follow_through`
checks it): post their words to the delivery channel, draft a reference ask in their DM, or
tell their managers they qualified out. Returns what to tell the rep."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import answers
from bot.core.deals import follow_through as follow
from bot.core.deals.follow_through import Action, FollowError, FollowThrough
from bot.runtime import Runtime
from bot.slack.kit.blocks import notice
from bot.slack.kit.follow_through import (
    commitment_post,
    parse_follow,
    qualify_out_note,
    reference_draft,
    words_modal,
    words_submission,
)

log = logging.getLogger(__name__)

CANNOT_POST = (
    "I could not post in <#{channel}> ({error}). Ask an admin to invite me there "
    "(`/invite @Trustbot`); nothing was posted."
)


async def carry_out(client: AsyncWebClient, plan: FollowThrough) -> str:
    """Do what ``plan`` says; the confirmation for the rep (:class:`FollowError` when Slack
    refused the post, saying why)."""
    if plan.action in (Action.COMMITMENT, Action.HANDOVER):
        assert plan.delivery_channel is not None and plan.words is not None
        try:
            await client.chat_postMessage(channel=plan.delivery_channel, **commitment_post(plan))
        except SlackApiError as error:
            code = str(error.response.get("error"))
            log.warning("follow-through post to %s refused: %s", plan.delivery_channel, code)
            raise FollowError(
                CANNOT_POST.format(channel=plan.delivery_channel, error=code)
            ) from None
        return (
            f"Posted to <#{plan.delivery_channel}>. Delivery can now tell you in the thread if "
            "anything can't be honoured."
        )
    if plan.action is Action.REFERENCE:
        await client.chat_postMessage(channel=plan.user_id, **reference_draft(plan))
        return "A draft reference ask is in your DM with me: adapt it and send it yourself."
    told = []
    for manager in plan.managers:
        try:
            await client.chat_postMessage(channel=manager, **qualify_out_note(plan))
            told.append(f"<@{manager}>")
        except SlackApiError as error:
            log.warning("qualify-out note to %s refused: %s", manager, error.response.get("error"))
    if not told:
        raise FollowError("Your manager could not be reached in Slack; nothing was sent.")
    return f"Told {', '.join(told)} that you qualified out, in your name."


async def _confirm(client: AsyncWebClient, user_id: str, text: str) -> None:
    """The outcome, privately, in the rep's DM with the app (where the nudge is)."""
    try:
        await client.chat_postEphemeral(channel=user_id, user=user_id, **notice(text))
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user_id, error.response.get("error"))


async def clicked(
    runtime: Runtime,
    client: AsyncWebClient,
    workspace_id: str,
    user_id: str,
    action: object,
    trigger_id: object,
) -> None:
    """A follow-through button: checked, then done (or its form opened for the rep's words);
    anything refused is told to the rep, and nothing is sent."""
    try:
        delivery_id, wanted = parse_follow(action)
        plan = await follow.check(runtime, workspace_id, user_id, delivery_id, wanted)
    except answers.AnswerError as error:
        await _confirm(client, user_id, f":warning: {error.message}")
        return
    except ValueError:
        await _confirm(client, user_id, ":warning: " + UNREADABLE)
        return
    if plan.action in follow.NEEDS_WORDS:
        if isinstance(trigger_id, str) and trigger_id:
            await client.views_open(
                trigger_id=trigger_id,
                view=words_modal(plan.action, plan.delivery_id, plan.deal_name),
            )
        return
    await finish(client, plan)


async def finish(client: AsyncWebClient, plan: FollowThrough) -> None:
    try:
        said = await carry_out(client, plan)
    except FollowError as error:
        await _confirm(client, plan.user_id, f":warning: {error.message}")
        return
    await _confirm(client, plan.user_id, f":white_check_mark: {said}")


async def submitted(
    runtime: Runtime, workspace_id: str, user_id: str, view: Mapping[str, Any]
) -> FollowThrough | str:
    """A submitted words form: the checked plan, or what to show under the input."""
    try:
        delivery_id, wanted, words = words_submission(view)
        return await follow.check(runtime, workspace_id, user_id, delivery_id, wanted, words)
    except answers.AnswerError as error:
        return error.message
    except ValueError:
        return UNREADABLE


UNREADABLE = "That could not be read. Please use the buttons of the nudge."
