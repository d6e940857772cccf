"""Events API listeners."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import deals
from bot.runtime import Runtime
from bot.slack.home_publish import publish_home
from bot.webhooks import email_resolver


def register(app: AsyncApp, runtime: Runtime) -> None:
    emails = deals.EmailCache(runtime.clock)

    @app.event("app_home_opened")
    async def home_opened(
        event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id = context.get("team_id") or event.get("view", {}).get("team_id", "")
        await publish_home(runtime, client, team_id, event["user"])

    @app.event("message_metadata_posted")
    async def deal_metadata(
        event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """``deal_updated`` message metadata: the deal webhook's update, posted in Slack."""
        team_id = context.get("team_id") or event.get("team_id")
        if team_id:
            resolve = email_resolver(client, emails)
            await deals.receive_metadata(runtime, team_id, event.get("metadata"), resolve)
