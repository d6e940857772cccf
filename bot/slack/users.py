"""What we ask Slack about a user (``users.info``), cached briefly per process."""

from __future__ import annotations

import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import admins
from bot.runtime import Runtime

TTL_SECONDS = 300.0


@dataclass(frozen=True)
class SlackUser:
    id: str
    tz: str | None
    workspace_admin: bool  # is_admin or is_owner
    deleted: bool


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
            workspace_admin=bool(data.get("is_admin") or data.get("is_owner")),
            deleted=bool(data.get("deleted")),
        )
        self._cache[key] = (time.monotonic(), user)
        return user


directory = UserDirectory()  # one per process: a burst of requests costs one call per user


async def is_admin(runtime: Runtime, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
    """TRUSTBOT_ADMINS, Slack's workspace admins and owners, or ``/trust admin add``."""
    if user_id in runtime.settings.TRUSTBOT_ADMINS:
        return True
    user = await directory.get(client, team_id, user_id)
    return await admins.is_admin(
        runtime.db,
        team_id,
        user_id,
        configured=runtime.settings.TRUSTBOT_ADMINS,
        workspace_admin=bool(user and user.workspace_admin),
    )
