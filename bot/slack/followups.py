"""What a /trust command's outcome does in Slack: a text reply, or, for the commands that go
beyond text, the setup modal, the digest, the CSV export, the rep's own page and forget-me's
confirm button."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import checkins, digests, home, privacy, teams
from bot.core.digests.rollup import rollup
from bot.core.trust.commands import (
    ConfirmForget,
    OpenSetup,
    Outcome,
    Reply,
    SendExport,
    ShowDigest,
    ShowMe,
    ShowRollup,
)
from bot.core.trust.grammar import CommandError
from bot.core.trust.registry import USAGE
from bot.runtime import Runtime
from bot.slack import digest_post
from bot.slack.home_publish import own_timezone
from bot.slack.kit.blocks import inert, message, notice, section
from bot.slack.kit.home import me_message
from bot.slack.kit.replies import error_message
from bot.slack.kit.replies import reply as reply_blocks
from bot.slack.kit.rollup import rollup_message
from bot.slack.kit.setup import setup_view
from bot.storage.models import Team

FORGET_ACTION = "privacy.forget"
log = logging.getLogger(__name__)


async def answer(
    runtime: Runtime, client: AsyncWebClient, command: dict[str, Any], outcome: Outcome
) -> dict[str, Any] | None:
    """What to answer a /trust command with, carrying out its outcome first; None when a
    modal was opened instead of a message."""
    team_id, user_id = command["team_id"], command["user_id"]
    match outcome:
        case Reply():
            return reply_blocks(outcome)
        case OpenSetup():
            await open_setup(runtime, client, command["trigger_id"], team_id)
            return None
        case ShowDigest(team=team, mode=mode):
            return await digest(runtime, client, team_id, team, mode)
        case ShowRollup():
            try:
                return rollup_message(await rollup(runtime, team_id))
            except digests.DigestError as error:
                return notice(str(error))
        case SendExport():
            return notice(await send_export(runtime, client, team_id, user_id))
        case ShowMe():
            tz = await own_timezone(runtime, client, team_id, user_id)
            page = await home.home_for(runtime, team_id, user_id, is_admin=False, tz=tz)
            return me_message(page)
        case ConfirmForget():
            return forget_confirmation()


async def open_setup(
    runtime: Runtime, client: AsyncWebClient, trigger_id: str, team_id: str
) -> None:
    summaries = await teams.summaries(runtime.db, team_id)
    await client.views_open(trigger_id=trigger_id, view=setup_view(summaries))


async def send_export(runtime: Runtime, client: AsyncWebClient, team_id: str, user_id: str) -> str:
    """Upload the person's own answers as CSV into their DM; returns what to tell them."""
    body, rows = await privacy.export_csv(runtime, team_id, user_id)
    if rows == 0:
        return "You have no answers stored yet, so there is nothing to export."
    dm = await client.conversations_open(users=user_id)
    await client.files_upload_v2(
        channel=dm["channel"]["id"],
        content=body,
        filename="trustbot-my-answers.csv",
        title="My Trustbot answers",
        initial_comment=f"Your {rows} answers and notes, as only you can see them.",
    )
    return f"Sent you a CSV of your {rows} answers and notes in our DM."


def forget_confirmation() -> dict[str, Any]:
    """An ephemeral message whose button (with Slack's confirm dialog) deletes everything."""
    text = (
        "*Delete everything Trustbot holds about you?* Your answers, notes, team memberships "
        "and deal updates naming you are removed for good. Published team digests keep their "
        "anonymous totals. If you opted out, that choice is remembered without your name."
    )
    button = {
        "type": "button",
        "action_id": FORGET_ACTION,
        "style": "danger",
        "text": {"type": "plain_text", "text": "Delete my data"},
        "value": "forget",
        "confirm": {
            "title": {"type": "plain_text", "text": "Delete your data?"},
            "text": {"type": "plain_text", "text": "This cannot be undone."},
            "confirm": {"type": "plain_text", "text": "Delete"},
            "deny": {"type": "plain_text", "text": "Keep it"},
            "style": "danger",
        },
    }
    return message(
        "Delete everything Trustbot holds about you?",
        [
            section(text),
            {"type": "actions", "block_id": "forget", "elements": [button]},
        ],
    )


async def forget(runtime: Runtime, client: AsyncWebClient, team_id: str, user_id: str) -> str:
    """forget-me: every row about the person, then, in Slack, the digests that quoted their
    notes are redrawn without them and the DMs Trustbot sent them are deleted (the open ones
    at once, the rest from the DM's history in the background: it may take minutes where
    Slack limits history reads)."""
    result = await privacy.forget(runtime, team_id, user_id)
    await digest_post.redraw_posted(runtime, client, result.digests)
    for dm in result.open_dms:
        with contextlib.suppress(SlackApiError):
            await client.chat_delete(channel=dm.channel_id, ts=dm.message_ts)
    task = asyncio.create_task(delete_dms(client, user_id), name=f"forget-dms-{user_id}")
    _background.add(task)
    task.add_done_callback(_background.discard)
    return (
        f"Done: {result.total} records about you were deleted, and the check-ins and nudges "
        "I sent you are being removed from our DMs. You will get no more check-ins unless an "
        "admin adds you to a team again."
    )


_background: set[asyncio.Task[int]] = set()  # deletions still running (kept from the GC)
HISTORY_PAGE = 15  # what Slack serves apps outside the Marketplace


async def delete_dms(client: AsyncWebClient, user_id: str) -> int:
    """Delete every message Trustbot posted in its DM with the user; how many went. Reads the
    DM's history a page at a time (slack_sdk's rate-limit handler waits out a 429)."""
    deleted = 0
    try:
        opened = await client.conversations_open(users=user_id)
        channel = str(opened["channel"]["id"])
        cursor: str | None = None
        while True:
            page = await client.conversations_history(
                channel=channel, limit=HISTORY_PAGE, cursor=cursor, include_all_metadata=True
            )
            for message in page.get("messages") or ():
                if message.get("bot_id") or message.get("app_id"):
                    with contextlib.suppress(SlackApiError):
                        await client.chat_delete(channel=channel, ts=str(message["ts"]))
                        deleted += 1
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                return deleted
    except SlackApiError as error:
        log.warning("forget-me: DMs not all deleted: %s", error.response.get("error"))
    return deleted


def week_in_progress_text(team: Team, progress: digests.WeekInProgress) -> str:
    """What ``/trust digest`` says when the last complete week had no check-in (a first run):
    what a digest covers, when this week's arrives, and how many have answered so far."""
    zone = checkins.zone(team.timezone)
    due = progress.due_at.astimezone(zone)
    name = inert(team.name)
    text = (
        f"A digest covers one whole week, Monday to Sunday in the team's time zone "
        f"({team.timezone}). The week of {progress.last_week:%-d %b} had no check-in for "
        f"`{name}`, so there is nothing to show for it."
    )
    if progress.period_start is None:
        return text + (
            f" The next digest comes on {due:%a %-d %b at %H:%M} {team.timezone}, after the "
            f"first week with a check-in (`/trust checkin {name} now` sends this week's)."
        )
    return text + (
        f" This week's answers go into the digest of the week of "
        f"{progress.period_start:%-d %b}, posted on {due:%a %-d %b at %H:%M} {team.timezone} "
        f"once its check-ins have closed. So far *{progress.answered}* of {progress.asked} "
        "asked have answered; the rest of the figures stay hidden until the week is over, so "
        "nobody's answer can be read off a change."
    )


async def digest(
    runtime: Runtime, client: AsyncWebClient, team_id: str, team_name: str, mode: str
) -> dict[str, Any]:
    """``/trust digest <team> now|preview``: post it to the team's channel (same frozen figures
    on every re-run), or show it privately to the admin."""
    try:
        async with runtime.db.session() as session:
            team = await teams.find(session, team_id, team_name)
        progress = await digests.week_in_progress(runtime, team)
        if progress is not None:
            return notice(week_in_progress_text(team, progress))
        if mode == "preview":
            return await digest_post.preview_digest(runtime, team)
        result = await digest_post.post_digest(runtime, client, team, repost=True)
    except (teams.TeamError, digests.DigestError) as error:
        return error_message(CommandError(str(error), USAGE["digest"]))
    except digest_post.ChannelRefused as refused:
        return notice(f":warning: {refused.advice()}")
    except SlackApiError as error:
        code = error.response.get("error")
        return notice(f":warning: Slack refused the digest ({code}); try again later.")
    if not result.posted:
        return notice(f":warning: The `{inert(team.name)}` digest was not posted: {result.detail}")
    if result.channel_id == digests.DM_ONLY:
        return notice(
            f"The `{inert(team.name)}` digest for the week of {result.period_start:%d %b %Y} is "
            "being sent to its managers by DM."
        )
    return notice(
        f"The `{inert(team.name)}` digest for the week of {result.period_start:%d %b %Y} is posted "
        f"in <#{result.channel_id}>."
    )
