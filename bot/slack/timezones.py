"""Reps' time zones, read from Slack's ``users.info`` so check-ins arrive at their local time."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import people
from bot.runtime import Runtime
from bot.slack.client import ClientSource, client_for
from bot.slack.users import UserDirectory

log = logging.getLogger(__name__)


async def learn(
    runtime: Runtime, client: AsyncWebClient, workspace_id: str, users: list[str]
) -> None:
    """Look the users up and store their time zones (unknown users keep the team's)."""
    zones: dict[str, str | None] = {}
    for user_id in users:
        try:
            user = await runtime.service(UserDirectory).get(client, workspace_id, user_id)
        except SlackApiError as error:
            log.warning("users.info failed for a rep: %s", error.response.get("error"))
            continue
        zones[user_id] = user.tz if user else None
    if zones:
        await people.set_timezones(runtime.db, workspace_id, zones, runtime.clock)


async def refresh_stale(runtime: Runtime, clients: ClientSource, limit: int = 50) -> int:
    """Refresh up to ``limit`` reps whose time zone is unknown or a week old (a tick's share
    of users.info's Tier 4 budget), each with its workspace's client; returns how many were
    looked up. Reps of a workspace that uninstalled the app are left as they are."""
    stale = await people.stale_timezones(runtime.db, runtime.clock, limit)
    by_workspace: dict[str, list[str]] = {}
    for workspace_id, user_id in stale:
        by_workspace.setdefault(workspace_id, []).append(user_id)
    looked_up = 0
    for workspace_id, users in by_workspace.items():
        client = await client_for(clients, workspace_id)
        if client is None:
            continue
        await learn(runtime, client, workspace_id, users)
        looked_up += len(users)
    return looked_up
