"""Publish (or refresh) a person's App Home, in their own time zone."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.home import home_for
from bot.runtime import Runtime
from bot.slack.kit.home import home_view
from bot.slack.users import UserDirectory, is_admin

log = logging.getLogger(__name__)


async def own_timezone(
    runtime: Runtime, client: AsyncWebClient, team_id: str, user_id: str
) -> str | None:
    """The person's time zone as Slack has it (``users.info``, cached briefly); ``None`` if
    Slack cannot say now, and the page falls back to the one stored for them."""
    try:
        user = await runtime.service(UserDirectory).get(client, team_id, user_id)
    except SlackApiError as error:
        log.warning("users.info failed for a page's time zone: %s", error.response.get("error"))
        return None
    return user.tz if user else None


async def publish_home(
    runtime: Runtime, client: AsyncWebClient, team_id: str, user_id: str
) -> None:
    """Publish ``user_id``'s own Home to ``user_id``: it is built from their answers only,
    whoever's event asked for it."""
    admin = await is_admin(runtime, client, team_id, user_id)
    tz = await own_timezone(runtime, client, team_id, user_id)
    data = await home_for(runtime, team_id, user_id, is_admin=admin, tz=tz)
    await client.views_publish(user_id=user_id, view=home_view(data))
