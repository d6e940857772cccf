"""Finding a message the app posted, by its metadata, in a channel's recent history.

Every post that must happen once (a DM of the outbox, a team's digest) carries
``metadata={"event_type": ..., "event_payload": {key: id}}``; after a crash this is how the
app tells whether the post reached Slack before it posts again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient


class HistoryTooLong(LookupError):
    """The channel's history since ``since`` is longer than the pages looked through."""


async def find_by_metadata(
    client: AsyncWebClient,
    channel: str,
    *,
    since: datetime,
    event_type: str,
    key: str,
    value: object,
    page: int,
    max_pages: int,
    token: str | None = None,
) -> str | None:
    """The ts of the message in ``channel`` at or after ``since`` whose metadata is
    ``event_type`` with ``event_payload[key] == value``; None when there is none. Raises
    :class:`HistoryTooLong` after ``max_pages`` pages of ``page`` messages."""
    auth: dict[str, Any] = {"token": token} if token else {}
    cursor: str | None = None
    for _ in range(max_pages):
        response = await client.conversations_history(
            channel=channel,
            oldest=f"{since.timestamp():.6f}",
            include_all_metadata=True,
            limit=page,
            cursor=cursor,
            **auth,
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and str(payload.get(key)) == str(value):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not response.get("has_more") or not cursor:
            return None
    raise HistoryTooLong(f"channel {channel}: history too long to look through")
