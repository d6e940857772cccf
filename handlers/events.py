"""Events API listeners."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import deals
from bot.core.deals import email_cache
from bot.runtime import Runtime
from bot.slack import installations
from bot.slack.home_publish import publish_home
from bot.slack.middleware import AfterAck, once_per_event
from bot.slack.users import email_resolver


def register(app: AsyncApp, runtime: Runtime, after_ack: AfterAck) -> None:
    emails = email_cache(runtime)
    once = once_per_event(runtime)

    @app.event("app_home_opened")
    @after_ack
    @once
    async def home_opened(
        event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient, body: dict[str, Any]
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id = context.get("team_id") or event.get("view", {}).get("team_id", "")
        await publish_home(runtime, client, team_id, event["user"])

    @once
    async def store_deal(
        event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient, body: dict[str, Any]
    ) -> None:
        team_id = context.get("team_id") or event.get("team_id")
        if team_id:
            resolve = email_resolver(client, emails)
            await deals.receive_metadata(runtime, team_id, event.get("metadata"), resolve)

    @app.event("message_metadata_posted")
    @after_ack
    async def deal_metadata(
        event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient, body: dict[str, Any]
    ) -> None:
        """``deal_updated`` message metadata: the deal webhook's update, posted in Slack by
        an app named in ``TRUSTBOT_DEAL_APP_IDS``; any other app's is stored nowhere (not
        even as an event seen)."""
        if deals.metadata_apps(runtime).allows(event.get("app_id")):
            await store_deal(event=event, context=context, client=client, body=body)

    @app.event("app_uninstalled")
    @after_ack
    @once
    async def uninstalled(context: dict[str, Any], body: dict[str, Any]) -> None:
        """Forget the workspace's tokens; stop its schedules and pending DMs."""
        await revoke(context)

    @app.event("tokens_revoked")
    @after_ack
    @once
    async def revoked(event: dict[str, Any], context: dict[str, Any], body: dict[str, Any]) -> None:
        """Forget the revoked tokens; a workspace without its bot token counts as uninstalled."""
        tokens = event.get("tokens") or {}
        await revoke(context, users=list(tokens.get("oauth") or []), bot=bool(tokens.get("bot")))

    async def revoke(context: dict[str, Any], users: Sequence[str] = (), bot: bool = True) -> None:
        """:func:`installations.revoke` for the workspace (or org-wide install) of an event."""
        if context.get("team_id"):
            await installations.revoke(
                runtime,
                app.installation_store,
                context["team_id"],
                context.get("enterprise_id"),
                users=users,
                bot=bot,
                org_wide=bool(context.get("is_enterprise_install")),
            )
