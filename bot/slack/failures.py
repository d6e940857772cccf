"""What a failed Web API call means for the message it carried: posted or not, try again or
give up, and how long Slack asked us to wait."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError

PERMANENT_ERRORS = frozenset(
    {
        # conversations.open / chat.postMessage about a person the app may not message
        # (slack-api-ref docs.slack.dev/methods/conversations.open.json): a guest or external
        # person hidden from the app, a workspace preference, a deactivated account
        "user_not_visible",
        "invalid_user_combination",
        "restricted_action",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",  # the install lacks a scope: only a reinstall fixes it
        "not_allowed_token_type",
        "ekm_access_denied",
        "team_access_not_granted",  # an org-wide install not granted to this workspace
        "invalid_metadata_format",
    }
)
"""Errors no retry can fix: the row fails with the code."""

UNCERTAIN_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout"})
"""Server-side errors after which the message may have been posted anyway."""


OutcomeKind = Literal["rate_limited", "permanent", "retry", "uncertain"]


@dataclass(frozen=True)
class Outcome:
    """A failed Web API call, classified.

    ``retry``: not posted, try again later; ``uncertain``: maybe posted, look before trying
    again; ``rate_limited``: not posted, wait ``retry_after``; ``permanent``: give up.
    """

    kind: OutcomeKind
    error: str
    retry_after: float = 0.0


def retry_after(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """Seconds from a ``Retry-After`` header (any case), at least 0.1."""
    for name, value in (headers or {}).items():
        if str(name).lower() == "retry-after":
            try:
                return max(0.1, float(value))
            except (TypeError, ValueError):
                break
    return default


def classify(exc: BaseException) -> Outcome:
    """What a failed call means for the message it carried."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error") or "") if isinstance(data, dict) else ""
        error = error or f"http_{status}"
        if status == 429 or error == "ratelimited":
            return Outcome("rate_limited", "ratelimited", retry_after(response.headers))
        if error in PERMANENT_ERRORS:
            return Outcome("permanent", error)
        if status == 503:  # service unavailable: refused before any work
            return Outcome("retry", error)
        if status >= 500 or error in UNCERTAIN_ERRORS:
            return Outcome("uncertain", error)
        return Outcome("retry", error)
    if isinstance(exc, aiohttp.ClientConnectorError):  # never connected: nothing was sent
        return Outcome("retry", "connect_error")
    if isinstance(exc, TimeoutError):
        return Outcome("uncertain", "timeout")
    return Outcome("uncertain", type(exc).__name__)
