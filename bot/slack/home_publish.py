"""Publish (or refresh) a person's App Home."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.home import home_for
from bot.runtime import Runtime
from bot.slack.kit.home import home_view
from bot.slack.users import is_admin


async def publish_home(
    runtime: Runtime, client: AsyncWebClient, team_id: str, user_id: str
) -> None:
    admin = await is_admin(runtime, client, team_id, user_id)
    data = await home_for(runtime, team_id, user_id, is_admin=admin)
    await client.views_publish(user_id=user_id, view=home_view(data))
