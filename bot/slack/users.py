"""What we ask Slack about a user: ``users.info`` (cached briefly per process) and
``users.lookupByEmail`` for deal updates that name the rep by e-mail."""

from __future__ import annotations

import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import admins, deals
from bot.runtime import Runtime
from bot.slack.client import ClientSource, client_for

TTL_SECONDS = 300.0


@dataclass(frozen=True)
class SlackUser:
    id: str
    tz: str | None
    workspace_admin: bool  # is_admin or is_owner, of the workspace or of its Grid org
    deleted: bool


def is_slack_admin(user: dict[str, object]) -> bool:
    """An admin or owner of the workspace, or on Enterprise Grid of the org (users.info's
    ``enterprise_user.is_admin`` / ``is_owner``, as in slackapi/java-slack-sdk
    ``json-logs/samples/api/users.info.json``): an org admin is not always an admin of each
    workspace, and Slack lets them manage every workspace's apps."""
    org = user.get("enterprise_user")
    org_admin = isinstance(org, dict) and bool(org.get("is_admin") or org.get("is_owner"))
    return bool(user.get("is_admin") or user.get("is_owner") or org_admin)


class UserDirectory:
    """``users.info`` with a short cache, so a burst of commands costs one call per user."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, SlackUser]] = {}

    async def get(self, client: AsyncWebClient, team_id: str, user_id: str) -> SlackUser | None:
        key = (team_id, user_id)
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as error:
            if error.response.get("error") == "user_not_found":
                return None
            raise
        data = response["user"]
        user = SlackUser(
            id=user_id,
            tz=data.get("tz"),
            workspace_admin=is_slack_admin(data),
            deleted=bool(data.get("deleted")),
        )
        self._cache[key] = (time.monotonic(), user)
        return user


async def is_admin(runtime: Runtime, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
    """TRUSTBOT_ADMINS, Slack's workspace admins and owners, or ``/trust admin add``."""
    if user_id in runtime.settings.TRUSTBOT_ADMINS:
        return True
    user = await runtime.service(UserDirectory).get(client, team_id, user_id)
    return await admins.has_rights(
        runtime.db,
        team_id,
        user_id,
        configured=runtime.settings.TRUSTBOT_ADMINS,
        workspace_admin=bool(user and user.workspace_admin),
    )


def lookup_by_email(clients: ClientSource) -> deals.ResolveEmail:
    """``users.lookupByEmail`` as a :data:`bot.deals.ResolveEmail` (uncached; see
    :func:`email_resolver`), with the workspace's client. Unknown, deleted and bot users,
    and everyone in a workspace that uninstalled the app, resolve to ``None``."""

    async def lookup(workspace_id: str, email: str) -> str | None:
        client = await client_for(clients, workspace_id)
        if client is None:
            return None
        try:
            response = await client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            if error.response.get("error") in ("users_not_found", "user_not_found"):
                return None
            raise
        user = response.get("user") or {}
        if user.get("deleted") or user.get("is_bot") or not user.get("id"):
            return None
        return str(user["id"])

    return lookup


def email_resolver(clients: ClientSource, cache: deals.EmailCache) -> deals.ResolveEmail:
    """``users.lookupByEmail`` with ``clients`` (one client, or each workspace's), behind
    ``cache``."""
    return cache.resolver(lookup_by_email(clients))
