"""OAuth scopes: which a bot token needs for each Web API method the emulator serves, and
the refusal Slack answers without them.

Every row of :data:`METHOD_SCOPES` copies the bot-token scope of the method's reference page,
as machine-copied in ``slack-ruby/slack-api-ref`` (``docs.slack.dev/methods/<method>.json``,
fields ``scope`` / ``no_scope_required``). Methods that take "one of" several scopes take the
one that fits the conversation type (:data:`BY_CONVERSATION`).

The refusal, HTTP 200::

    {"ok": false, "error": "missing_scope", "needed": "groups:history",
     "provided": "channels:history,reactions:read,reactions:write"}

``needed`` and ``provided`` are top-level strings, ``provided`` the token's scopes joined by
commas: the generated response types of slackapi/node-slack-sdk (``needed?: string;
provided?: string;`` in ``packages/web-api/src/types/response/*Response.ts``), slackapi/
java-slack-sdk ``json-logs/samples/api/users.info.json``, and real answers quoted in issues
(DataDog/slapr#47, the body above, for conversations.history on a private channel with only
``channels:history``; getsentry/sentry#18317, ``"needed": "im:read"`` for an IM).
In which order Slack checks a token, its scopes and its rate limits is not documented; the
emulator checks them in that order, and a refused call does not count against a limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from slack_emulator.models import JsonDict

Kind = str
"""A conversation type: "public", "private", "im" or "mpim"."""

BY_CONVERSATION: dict[str, dict[Kind, str]] = {
    # conversations.history.json: bot scopes groups:history, im:history, mpim:history,
    # channels:history (docs.slack.dev/reference/methods/conversations.history, bot token:
    # "Any conversation the relevant bot is a member of")
    "conversations.history": {
        "public": "channels:history",
        "private": "groups:history",
        "im": "im:history",
        "mpim": "mpim:history",
    },
    # The docs.slack.dev JSON says only "conversations:read"; the per-type list is the older
    # reference (api.slack.com/conversations-api: "to retrieve details about a public channel,
    # you'll need channels:read. For details about a private channel, you'll need
    # groups:read") and the im:read scope page (docs.slack.dev/reference/scopes/im.read,
    # which lists conversations.info).
    "conversations.info": {
        "public": "channels:read",
        "private": "groups:read",
        "im": "im:read",
        "mpim": "mpim:read",
    },
    # slack-api-ref docs.slack.dev/methods/conversations.open.json: bot scopes channels:manage,
    # groups:write, im:write, mpim:write; a 1:1 DM is an im, several users an mpim.
    "conversations.open": {
        "public": "channels:manage",
        "private": "groups:write",
        "im": "im:write",
        "mpim": "mpim:write",
    },
}

METHOD_SCOPES: dict[str, str | None] = {
    "api.test": None,  # needs no token at all
    "auth.test": None,  # auth.test.json: "no_scope_required": true
    "apps.connections.open": None,  # an app-level token's connections:write, not a bot scope
    "chat.postMessage": "chat:write",  # chat.postMessage.json: "scope": "chat:write"
    "chat.update": "chat:write",  # chat.update.json
    "chat.delete": "chat:write",  # chat.delete.json
    "chat.postEphemeral": "chat:write",  # chat.postEphemeral.json
    "conversations.open": "by conversation",
    "conversations.info": "by conversation",
    "conversations.history": "by conversation",
    "users.info": "users:read",  # users.info.json
    # users.lookupByEmail.json lists users:read.email alone; whether Slack also wants
    # users:read is not said anywhere we found, so the emulator does not ask for it.
    "users.lookupByEmail": "users:read.email",
    "team.info": "team:read",  # team.info.json
    "views.open": None,  # views.open.json: "no_scope_required": true
    "views.push": None,  # views.push.json: "no_scope_required": true
    "views.update": None,  # views.update.json: "no_scope_required": true
    "views.publish": None,  # views.publish.json: "no_scope_required": true
    "files.getUploadURLExternal": "files:write",  # files.getUploadURLExternal.json
    "files.completeUploadExternal": "files:write",  # files.completeUploadExternal.json
}
"""Each method's bot scope; None: no scope needed; "by conversation": see BY_CONVERSATION."""

CHAT_WRITE_PUBLIC = "chat:write.public"
"""Lets chat.postMessage reach public channels the bot is not in (api.slack.com/scopes/
chat:write.public: "Send messages to channels @your_slack_app isn't a member of"; "your app must
also request chat:write")."""


def scopes_from_manifest(path: str | Path) -> list[str]:
    """The bot scopes of an app manifest (YAML or JSON): ``oauth_config.scopes.bot``."""
    manifest: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    scopes = ((manifest or {}).get("oauth_config") or {}).get("scopes") or {}
    return [str(s) for s in scopes.get("bot") or []]


def needed_scope(method: str, kind: Kind | None) -> str | None:
    """The scope ``method`` needs on a conversation of type ``kind`` (None: unknown
    conversation, which the method itself answers with channel_not_found)."""
    scope = METHOD_SCOPES.get(method)
    if scope != "by conversation":
        return scope
    if kind is None:
        return None
    return BY_CONVERSATION[method][kind]


def missing_scope(needed: str, provided: Sequence[str]) -> JsonDict:
    """Slack's answer to a token without ``needed`` (sent with HTTP 200)."""
    return {
        "ok": False,
        "error": "missing_scope",
        "needed": needed,
        "provided": ",".join(provided),
    }
