"""Web API method handlers with Slack's response shapes and error codes."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import mimetypes
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_emulator.blockkit import error_response, validate_blocks, validate_view
from slack_emulator.limits import NonMarketplaceHistory
from slack_emulator.models import JsonDict, ValidationFailure
from slack_emulator.scopes import (
    CHAT_WRITE_PUBLIC,
    METHOD_SCOPES,
    missing_scope,
    needed_scope,
)
from slack_emulator.state import WorkspaceState

MAX_TEXT = 40_000
MAX_VIEW_STACK = 3
HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999

USER_ERRORS: dict[str, str] = {
    # conversations.open (slack-api-ref docs.slack.dev/methods/conversations.open.json)
    "user_not_visible": "The calling user is restricted from seeing the requested user.",
    "invalid_user_combination": (
        "All external people must already be in at least one channel together to send a message."
    ),
    "restricted_action": "User does not have permission to perform this action.",
    "user_not_found": "Value(s) passed for `users` was invalid.",
    "user_disabled": "A specified `user` has been disabled.",
    # chat.postMessage (methods/chat/chat.postMessage.json, the older page's common errors)
    "account_inactive": "Authentication token is for a deleted user or workspace.",
}
"""The errors :meth:`SlackEmulator.set_user_error` can make Slack answer about a user, with
Slack's description of each."""

USERS_INFO_ERRORS = frozenset({"user_not_visible", "user_not_found"})
"""Of those, the ones users.info also documents (slack-api-ref docs.slack.dev/methods/
users.info.json)."""


@dataclass
class Call:
    """One incoming Web API request, already parsed."""

    method: str
    args: JsonDict
    token: str | None


@dataclass
class Result:
    """What the server answers."""

    body: JsonDict
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Answer ``{"ok": false, "error": code, ...extra}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def body(self) -> JsonDict:
        return {"ok": False, "error": self.code, **self.extra}


class BlockKitRefused(ApiError):
    """A payload that failed Block Kit validation."""

    def __init__(self, code: str, errors: list[str], *, with_errors: bool) -> None:
        super().__init__(code)
        self.errors = errors
        self.with_errors = with_errors

    def body(self) -> JsonDict:
        return error_response(self.code, self.errors, with_errors=self.with_errors)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _json_arg(args: JsonDict, key: str, error: str) -> Any:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(error) from None
    return value


def _ts_arg(value: Any, error: str) -> Decimal | None:
    """A message timestamp argument ("1700000000.000100" or "1700000000"), or None."""
    if value is None or value == "":
        return None
    try:
        ts = Decimal(str(value))
    except InvalidOperation:
        raise ApiError(error) from None
    if not ts.is_finite() or ts < 0:
        raise ApiError(error)
    return ts


def _history_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor_ts(cursor: str) -> Decimal:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError("invalid_cursor") from None
    if not decoded.startswith("next_ts:"):
        raise ApiError("invalid_cursor")
    ts = _ts_arg(decoded.removeprefix("next_ts:"), "invalid_cursor")
    if ts is None:
        raise ApiError("invalid_cursor")
    return ts


def _csv(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


Handler = Callable[[Call], JsonDict]


class WebApi:
    """The Web API methods. Stateless except for ``state``; safe to call from any thread."""

    def __init__(
        self,
        state: WorkspaceState,
        *,
        bot_token: str,
        app_token: str,
        base_url: Callable[[], str],
        socket_url: Callable[[], str],
        on_refused: Callable[[ValidationFailure], None],
        trigger_ttl: float = 3.0,
        deleted_user_dm_error: str | None = "user_disabled",
        scopes: list[str] | None = None,
        history: NonMarketplaceHistory | None = None,
    ) -> None:
        self.state = state
        self.bot_token = bot_token
        self.app_token = app_token
        self.base_url = base_url
        self.socket_url = socket_url
        self.on_refused = on_refused
        self.trigger_ttl = trigger_ttl
        self.deleted_user_dm_error = deleted_user_dm_error
        self.scopes = scopes  # the static bot token's scopes (None: every scope)
        self.history_limits = history or NonMarketplaceHistory(state.clock)
        self.tokens: set[str] = set()  # more bot tokens of this workspace (OAuth installs)
        self.token_scopes: dict[str, list[str]] = {}  # their scopes, as the install granted
        self.revoked: set[str] = set()  # tokens answered with token_revoked
        self._stacks: dict[str, list[str]] = {}
        self.handlers: dict[str, Handler] = {
            "api.test": self.api_test,
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "conversations.info": self.conversations_info,
            "conversations.history": self.conversations_history,
            "users.info": self.users_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "team.info": self.team_info,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }
        unscoped = set(self.handlers) - set(METHOD_SCOPES)
        assert not unscoped, f"methods without a scope rule: {unscoped}"

    # -- dispatch ---------------------------------------------------------

    def known(self, method: str) -> bool:
        return method in self.handlers

    def owns(self, token: str | None) -> bool:
        """True when ``token`` is (or was) a bot token of this workspace."""
        return token is not None and (
            token == self.bot_token or token in self.tokens or token in self.revoked
        )

    def issue_token(self, scopes: list[str]) -> str:
        """A new bot token for this workspace with ``scopes``, as an OAuth install hands out."""
        token = f"xoxb-{self.state.team_id}-{secrets.token_hex(12)}"
        self.tokens.add(token)
        self.token_scopes[token] = list(scopes)
        return token

    def granted(self, token: str | None) -> list[str] | None:
        """The scopes of one of this workspace's bot tokens (None: every scope)."""
        if token is not None and token in self.token_scopes:
            return self.token_scopes[token]
        return self.scopes

    def _kind_of(self, ref: Any) -> str | None:
        return self.state.conversation_kind(str(ref or ""))

    def needed_scope(self, call: Call) -> str | None:
        """The scope ``call`` needs (see :mod:`slack_emulator.scopes`); None when it needs none
        or names no conversation the emulator knows (the method then answers for itself)."""
        kind = None
        if call.method in ("conversations.history", "conversations.info"):
            kind = self._kind_of(call.args.get("channel"))
        elif call.method == "conversations.open":
            if call.args.get("channel"):
                kind = self._kind_of(call.args.get("channel"))
            else:
                kind = "mpim" if len(_csv(call.args.get("users"))) > 1 else "im"
        return needed_scope(call.method, kind)

    def check_scope(self, call: Call) -> Result | None:
        """Slack's ``missing_scope`` answer (HTTP 200) when the token lacks the scope, else None."""
        if call.method == "apps.connections.open":
            return None
        granted = self.granted(call.token)
        needed = self.needed_scope(call)
        if granted is None or needed is None or needed in granted:
            return None
        return Result(missing_scope(needed, granted))

    def revoke(self, token: str | None = None) -> list[str]:
        """Revoke ``token`` (None: every bot token of the workspace); returns those revoked.
        Calls with a revoked token are answered ``token_revoked``."""
        chosen = [token] if token is not None else [self.bot_token, *sorted(self.tokens)]
        for t in chosen:
            self.tokens.discard(t)
            self.revoked.add(t)
        return chosen

    def authenticate(self, call: Call) -> None:
        """Raise not_authed / invalid_auth / not_allowed_token_type as Slack does."""
        if call.method == "api.test":
            return
        token = call.token
        if not token:
            raise ApiError("not_authed")
        if call.method == "apps.connections.open":
            if token == self.app_token:
                return
            if token == self.bot_token:
                raise ApiError("not_allowed_token_type")
            raise ApiError("invalid_auth")
        if token in self.revoked:
            raise ApiError("token_revoked")
        if token == self.bot_token or token in self.tokens:
            return
        if token == self.app_token:
            raise ApiError("not_allowed_token_type")
        raise ApiError("invalid_auth")

    def check_auth(self, call: Call) -> Result | None:
        """The error answer when the token is missing or wrong, else None."""
        try:
            self.authenticate(call)
        except ApiError as exc:
            return Result(exc.body())
        return None

    def dispatch(self, call: Call) -> Result:
        """Run a known method (auth already checked)."""
        try:
            return Result(self.handlers[call.method](call))
        except ApiError as exc:
            return Result(exc.body())

    # -- helpers ------------------------------------------------------------

    def _check_blocks(self, blocks: Any, source: str) -> None:
        if blocks is None:
            return
        errors = validate_blocks(blocks, "message")
        if errors:
            self.on_refused(ValidationFailure(source, "message", errors, blocks))
            raise BlockKitRefused("invalid_blocks", errors, with_errors=True)

    def _check_view(self, call: Call, view: Any) -> None:
        errors = validate_view(view)
        surface = view.get("type", "?") if isinstance(view, dict) else "?"
        if errors:
            self.on_refused(ValidationFailure(call.method, str(surface), errors, view))
            raise BlockKitRefused("invalid_arguments", errors, with_errors=False)

    def _user_for_dm(self, user_id: str) -> None:
        """Refuse a DM to this user as Slack would.

        An error set with ``set_user_error`` comes first. Slack documents those codes for
        conversations.open (conversations.open.json); chat.postMessage's reference lists none
        of them, so that a post to the user's ID (or their DM) answers the same is our reading:
        that post opens the DM itself. What Slack answers there for a deactivated user is not
        documented either: ``deleted_user_dm_error``.
        """
        user = self.state.users.get(user_id)
        if user is None:
            raise ApiError("channel_not_found")
        if user.get("error"):
            raise ApiError(user["error"])
        if user["deleted"] and self.deleted_user_dm_error:
            raise ApiError(self.deleted_user_dm_error)
        if user["is_bot"]:
            raise ApiError("cannot_dm_bot")

    @staticmethod
    def _visible(channel: JsonDict) -> bool:
        """Whether the bot can see a channel at all.

        A private channel the bot was not invited to does not exist for it: Slack answers
        ``channel_not_found``, not ``not_in_channel``. Slack's reference does not say so in
        words; it is what apps observe (getsentry/sentry#119600: "If channel is private and
        @sentry not in the channel the error will be 404 - the same as the channel does not
        really exist"; mishk0/slack-bot-api#97 and 18F/standup-slack-bot#82: "slack does not
        make private channel's existence public"). A public one answers ``not_in_channel``
        (chat.postMessage.json: "Cannot post user messages to a channel they are not in.").
        """
        is_private = bool(channel.get("is_private")) and not channel.get("is_im")
        return not (is_private and not channel.get("is_member", True))

    @staticmethod
    def _outside(channel: JsonDict) -> bool:
        """A public or private channel the bot is not a member of."""
        return channel.get("is_channel") is not None and not channel.get("is_member", True)

    def _resolve_channel(self, raw: Any, *, allow_user: bool, call: Call | None = None) -> str:
        """A channel id from a channel id, name or (when allowed) user id.

        Refusals in Slack's order as far as it is known: ``channel_not_found`` (unknown, or
        private without the bot), ``is_archived``, ``not_in_channel`` (public without the bot,
        unless chat.postMessage's token has chat:write.public).
        """
        if not raw:
            raise ApiError("channel_not_found")
        ref = str(raw)
        st = self.state
        with st.lock:
            if allow_user and ref in st.users:
                self._user_for_dm(ref)
                return st.open_dm(ref)[0]
            channel = st.channels.get(ref)
            if channel is None:
                name = ref.lstrip("#")
                channel = next(
                    (c for c in st.channels.values() if c.get("name") == name and name), None
                )
            if channel is None or not self._visible(channel):
                raise ApiError("channel_not_found")
            if channel.get("is_im"):
                self._user_for_dm(channel["user"])
            if channel.get("is_archived"):
                raise ApiError("is_archived")
            if self._outside(channel) and not self._may_post_outside(channel, call):
                raise ApiError("not_in_channel")
            return str(channel["id"])

    def _may_post_outside(self, channel: JsonDict, call: Call | None) -> bool:
        """chat.postMessage to a public channel the bot is not in, with chat:write.public
        granted by name (a token with "every scope", ``scopes=None``, checks no scope but does
        not widen where it may post)."""
        if call is None or call.method != "chat.postMessage" or channel.get("is_private"):
            return False
        granted = self.granted(call.token)
        return granted is not None and CHAT_WRITE_PUBLIC in granted

    def blocks_with_ids(self, blocks: list[Any]) -> list[Any]:
        """Blocks as Slack stores them: every block gets a block_id."""
        stored = copy.deepcopy(blocks)
        for block in stored:
            if isinstance(block, dict) and "block_id" not in block:
                block["block_id"] = secrets.token_urlsafe(4)[:5]
        return stored

    def _bot_profile(self) -> JsonDict:
        st = self.state
        return {
            "id": st.bot_id,
            "app_id": st.app_id,
            "name": st.bot_name,
            "icons": {"image_48": "https://a.slack-edge.com/bot_48.png"},
            "deleted": False,
            "updated": int(time.time()),
            "team_id": st.team_id,
        }

    def _metadata(self, call: Call) -> Any:
        metadata = _json_arg(call.args, "metadata", "invalid_metadata_format")
        if metadata is None or metadata == {}:
            return metadata
        if not isinstance(metadata, dict) or "event_type" not in metadata:
            raise ApiError("invalid_metadata_format")
        if not isinstance(metadata.get("event_payload", {}), dict):
            raise ApiError("invalid_metadata_format")
        return metadata

    @staticmethod
    def _public(message: JsonDict) -> JsonDict:
        result = copy.deepcopy(message)
        result.pop("channel", None)
        return result

    # -- api / auth / team --------------------------------------------------

    def api_test(self, call: Call) -> JsonDict:
        args = {k: v for k, v in call.args.items() if k != "token"}
        if "error" in args:
            return {"ok": False, "error": args["error"], "args": args}
        return {"ok": True, "args": args}

    def auth_test(self, call: Call) -> JsonDict:
        st = self.state
        body: JsonDict = {
            "ok": True,
            "url": f"https://{st.team_domain}.slack.com/",
            "team": st.team_name,
            "user": st.bot_name,
            "team_id": st.team_id,
            "user_id": st.bot_user_id,
            "bot_id": st.bot_id,
            "is_enterprise_install": st.is_enterprise_install,
        }
        if st.on_grid:  # auth.test.json's output: enterprise_id, is_enterprise_install
            body["enterprise_id"] = st.enterprise_id
        return body

    def team_info(self, call: Call) -> JsonDict:
        st = self.state
        return {
            "ok": True,
            "team": {
                "id": st.team_id,
                "name": st.team_name,
                "url": f"https://{st.team_domain}.slack.com/",
                "domain": st.team_domain,
                "email_domain": "",
                "icon": {"image_default": True},
                "avatar_base_url": "https://ca.slack-edge.com/",
                "is_verified": False,
            },
        }

    def apps_connections_open(self, call: Call) -> JsonDict:
        return {"ok": True, "url": self.socket_url()}

    # -- chat ---------------------------------------------------------------

    def _content(self, call: Call, *, required: bool) -> tuple[str | None, Any]:
        text = call.args.get("text")
        blocks = _json_arg(call.args, "blocks", "invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise ApiError("invalid_blocks_format")
        attachments = _json_arg(call.args, "attachments", "invalid_attachments")
        if required and not text and not blocks and not attachments:
            raise ApiError("no_text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise ApiError("msg_too_long")
        return (str(text) if text is not None else None), blocks

    def _bot_message(self, channel_id: str, text: str, **fields: Any) -> JsonDict:
        """A message the app's bot user posts now in ``channel_id`` (as history returns it)."""
        st = self.state
        return {
            "type": "message",
            "channel": channel_id,
            "ts": st.new_ts(),
            "user": st.bot_user_id,
            "bot_id": st.bot_id,
            "app_id": st.app_id,
            "team": st.team_id,
            "text": text,
            **fields,
        }

    def chat_post_message(self, call: Call) -> JsonDict:
        text, blocks = self._content(call, required=True)
        metadata = self._metadata(call)
        self._check_blocks(blocks, call.method)
        channel_id = self._resolve_channel(call.args.get("channel"), allow_user=True, call=call)
        st = self.state
        message = self._bot_message(
            channel_id, text or "", blocks=self.blocks_with_ids(blocks or [])
        )
        message["bot_profile"] = self._bot_profile()
        ts = message["ts"]
        attachments = _json_arg(call.args, "attachments", "invalid_attachments")
        if attachments:
            message["attachments"] = attachments
        thread_ts = call.args.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            message["parent_user_id"] = st.bot_user_id
        if metadata:
            message["metadata"] = metadata
        st.store_message(message)
        return {"ok": True, "channel": channel_id, "ts": ts, "message": self._public(message)}

    def _existing(self, call: Call) -> tuple[str, JsonDict]:
        channel_id = str(call.args.get("channel") or "")
        channel = self.state.channels.get(channel_id)
        if channel is None or not self._visible(channel):
            raise ApiError("channel_not_found")
        message = self.state.get_message(channel_id, str(call.args.get("ts") or ""))
        if message is None:
            raise ApiError("message_not_found")
        if call.method == "chat.update" and channel.get("is_archived"):
            # chat.update.json: is_inactive, "The message cannot be edited within a frozen,
            # archived or deleted channel."
            raise ApiError("is_inactive")
        return channel_id, message

    def chat_update(self, call: Call) -> JsonDict:
        text, blocks = self._content(call, required=False)
        metadata = self._metadata(call)
        self._check_blocks(blocks, call.method)
        channel_id, message = self._existing(call)
        st = self.state
        with st.lock:
            if text is None and blocks is None and "attachments" not in call.args:
                raise ApiError("no_text")
            if "text" in call.args:
                message["text"] = text or ""
            if blocks is not None:
                message["blocks"] = self.blocks_with_ids(blocks)
            if metadata is not None:
                if metadata:
                    message["metadata"] = metadata
                else:
                    message.pop("metadata", None)
            message["edited"] = {"user": st.bot_user_id, "ts": st.new_ts()}
            public = self._public(message)
        return {
            "ok": True,
            "channel": channel_id,
            "ts": message["ts"],
            "text": message["text"],
            "message": public,
        }

    def chat_delete(self, call: Call) -> JsonDict:
        channel_id, message = self._existing(call)
        self.state.delete_message(channel_id, message["ts"])
        return {"ok": True, "channel": channel_id, "ts": message["ts"]}

    def chat_post_ephemeral(self, call: Call) -> JsonDict:
        text, blocks = self._content(call, required=True)
        self._check_blocks(blocks, call.method)
        user_id = str(call.args.get("user") or "")
        st = self.state
        channel_ref = call.args.get("channel")
        if channel_ref in st.users:
            channel_id, _ = st.open_dm(str(channel_ref))
        else:
            channel_id = self._resolve_channel(channel_ref, allow_user=False)
        user = st.users.get(user_id)
        channel = st.channels[channel_id]
        members = channel.get("members") or []
        if user is None or user["deleted"] or (members and user_id not in members):
            raise ApiError("user_not_in_channel")
        if channel.get("is_im") and channel.get("user") != user_id:
            raise ApiError("user_not_in_channel")
        ts = st.new_ts()
        record = {
            "channel": channel_id,
            "user": user_id,
            "ts": ts,
            "text": text or "",
            "blocks": self.blocks_with_ids(blocks or []),
            "source": call.method,
        }
        if call.args.get("thread_ts"):
            record["thread_ts"] = str(call.args["thread_ts"])
        with st.lock:
            st.ephemerals.append(record)
        return {"ok": True, "message_ts": ts}

    # -- conversations -------------------------------------------------------

    def conversations_open(self, call: Call) -> JsonDict:
        st = self.state
        users = _csv(call.args.get("users"))
        channel_ref = call.args.get("channel")
        if not users and not channel_ref:
            raise ApiError("users_list_not_supplied")
        if channel_ref:
            channel = st.channel_object(str(channel_ref))
            if channel is None or not channel.get("is_im"):
                raise ApiError("channel_not_found")
            return {"ok": True, "no_op": True, "already_open": True, "channel": channel}
        if len(users) > 8:
            raise ApiError("too_many_users")
        for uid in users:
            user = st.users.get(uid)
            if user is None:
                raise ApiError("user_not_found")
            if user.get("error"):
                raise ApiError(user["error"])
            if user["deleted"]:
                raise ApiError("user_disabled")
        if len(users) > 1:
            raise ApiError("method_not_supported_for_channel_type")
        if _flag(call.args.get("prevent_creation")) and users[0] not in st.dm_by_user:
            return {"ok": True, "no_op": True, "channel": {}}
        channel_id, already_open = st.open_dm(users[0])
        full = st.channel_object(channel_id) or {"id": channel_id}
        shown = full if _flag(call.args.get("return_im")) else {"id": channel_id}
        if already_open:
            return {"ok": True, "no_op": True, "already_open": True, "channel": shown}
        return {"ok": True, "channel": shown}

    def conversations_info(self, call: Call) -> JsonDict:
        channel = self.state.channel_object(str(call.args.get("channel") or ""))
        if channel is None or not self._visible(channel):
            raise ApiError("channel_not_found")
        if _flag(call.args.get("include_num_members")):
            members = self.state.channels[channel["id"]].get("members") or []
            channel["num_members"] = 2 if channel.get("is_im") else len(members)
        return {"ok": True, "channel": channel}

    def conversations_history(self, call: Call) -> JsonDict:
        """Top-level messages, newest first, paginated by ``limit`` and ``cursor``.

        ``metadata`` appears only with ``include_all_metadata``; ``oldest``/``latest`` bounds
        are exclusive unless ``inclusive``.
        """
        st = self.state
        channel_id = str(call.args.get("channel") or "")
        with st.lock:
            channel = st.channels.get(channel_id)
            if channel is None or not self._visible(channel):
                raise ApiError("channel_not_found")
            if self._outside(channel):  # "Only user tokens can access public channels they
                raise ApiError("not_in_channel")  # are not in." (conversations.history.json)
        oldest = _ts_arg(call.args.get("oldest"), "invalid_ts_oldest")
        latest = _ts_arg(call.args.get("latest"), "invalid_ts_latest")
        inclusive = _flag(call.args.get("inclusive"))
        include_latest = inclusive and latest is not None
        cursor = call.args.get("cursor")
        if cursor:
            latest, include_latest = _cursor_ts(str(cursor)), False
        try:
            asked = int(call.args["limit"]) if call.args.get("limit") else None
        except (TypeError, ValueError):
            raise ApiError("invalid_limit") from None
        # Tier 3 apps: default 100, "Maximum of 999" (conversations.history.json); outside the
        # Marketplace both are 15 (see limits.NonMarketplaceHistory)
        limit = self.history_limits.page_size(asked, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT)
        found = st.history(
            channel_id,
            oldest=oldest if oldest is not None else Decimal(0),
            latest=latest,
            include_oldest=inclusive and oldest is not None,
            include_latest=include_latest,
        )
        page = found[:limit]
        with_metadata = _flag(call.args.get("include_all_metadata"))
        messages = []
        for message in page:
            shown = self._public(message)
            if not with_metadata:
                shown.pop("metadata", None)
            messages.append(shown)
        has_more = len(found) > limit
        body: JsonDict = {
            "ok": True,
            "messages": messages,
            "has_more": has_more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if has_more:
            body["response_metadata"] = {"next_cursor": _history_cursor(page[-1]["ts"])}
        return body

    # -- users --------------------------------------------------------------

    def users_info(self, call: Call) -> JsonDict:
        user_id = str(call.args.get("user") or "")
        error = (self.state.users.get(user_id) or {}).get("error")
        if error in USERS_INFO_ERRORS:
            raise ApiError(error)
        user = self.state.user_object(user_id)
        if user is None:
            raise ApiError("user_not_found")
        return {"ok": True, "user": user}

    def users_lookup_by_email(self, call: Call) -> JsonDict:
        user_id = self.state.find_user_by_email(str(call.args.get("email") or ""))
        user = self.state.user_object(user_id) if user_id else None
        if user is None:
            raise ApiError("users_not_found")
        return {"ok": True, "user": user}

    # -- views --------------------------------------------------------------

    def _view_arg(self, call: Call) -> JsonDict:
        view = _json_arg(call.args, "view", "invalid_arguments")
        if view is None:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing `view`"]}
            )
        self._check_view(call, view)
        return dict(view)

    def store_view(
        self, view: JsonDict, *, view_id: str | None = None, root: str | None = None
    ) -> JsonDict:
        st = self.state
        view_id = view_id or st.new_id("V")
        stored: JsonDict = {
            "id": view_id,
            "team_id": st.team_id,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": self.blocks_with_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root or view_id,
            "previous_view_id": None,
            "app_id": st.app_id,
            "app_installed_team_id": st.team_id,
            "bot_id": st.bot_id,
        }
        with st.lock:
            external = stored["external_id"]
            if external and any(
                v["external_id"] == external and v["id"] != view_id for v in st.views.values()
            ):
                raise ApiError("duplicate_external_id")
            st.views[view_id] = stored
        return copy.deepcopy(stored)

    def record_view_event(self, kind: str, user_id: str | None, view: JsonDict) -> None:
        with self.state.lock:
            self.state.view_events.append(
                {"kind": kind, "user": user_id, "view": copy.deepcopy(view), "time": time.time()}
            )

    def _trigger_user(self, call: Call) -> str:
        trigger_id = call.args.get("trigger_id") or call.args.get("interactivity_pointer")
        error = self.state.consume_trigger(trigger_id, self.trigger_ttl)
        if error:
            raise ApiError(error)
        return self.state.triggers[str(trigger_id)].user_id

    def views_open(self, call: Call) -> JsonDict:
        view = self._view_arg(call)
        if view["type"] != "modal":
            raise ApiError("invalid_arguments")
        user_id = self._trigger_user(call)
        stored = self.store_view(view)
        self._stacks[user_id] = [stored["id"]]
        self.record_view_event("open", user_id, stored)
        return {"ok": True, "view": stored}

    def views_push(self, call: Call) -> JsonDict:
        view = self._view_arg(call)
        if view["type"] != "modal":
            raise ApiError("invalid_arguments")
        user_id = self._trigger_user(call)
        stack = self._stacks.setdefault(user_id, [])
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        root = stack[0] if stack else None
        stored = self.store_view(view, root=root)
        stored["previous_view_id"] = stack[-1] if stack else None
        with self.state.lock:
            self.state.views[stored["id"]]["previous_view_id"] = stored["previous_view_id"]
        stack.append(stored["id"])
        self.record_view_event("push", user_id, stored)
        return {"ok": True, "view": stored}

    def views_update(self, call: Call) -> JsonDict:
        view = self._view_arg(call)
        st = self.state
        view_id = call.args.get("view_id")
        external_id = call.args.get("external_id") or (None if view_id else view.get("external_id"))
        with st.lock:
            current = st.views.get(str(view_id)) if view_id else None
            if current is None and external_id:
                current = next(
                    (v for v in st.views.values() if v["external_id"] == external_id), None
                )
            if current is None:
                raise ApiError("not_found")
            expected_hash = call.args.get("hash")
            if expected_hash and expected_hash != current["hash"]:
                raise ApiError("hash_conflict")
            stored = self.store_view(view, view_id=current["id"], root=current["root_view_id"])
            st.views[current["id"]]["previous_view_id"] = current["previous_view_id"]
            stored["previous_view_id"] = current["previous_view_id"]
        user = next((u for u, s in self._stacks.items() if current["id"] in s), None)
        if current["type"] == "home":
            user = next((u for u, v in st.home_views.items() if v["id"] == current["id"]), None)
        self.record_view_event("update", user, stored)
        return {"ok": True, "view": stored}

    def views_publish(self, call: Call) -> JsonDict:
        user_id = str(call.args.get("user_id") or "")
        st = self.state
        if user_id not in st.users:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] invalid `user_id`"]},
            )
        view = self._view_arg(call)
        if view["type"] != "home":
            raise ApiError("invalid_arguments")
        with st.lock:
            current = st.home_views.get(user_id)
            expected_hash = call.args.get("hash")
            if current and expected_hash and expected_hash != current["hash"]:
                raise ApiError("hash_conflict")
            stored = self.store_view(view, view_id=current["id"] if current else None)
            st.home_views[user_id] = stored
        self.record_view_event("publish", user_id, stored)
        return {"ok": True, "view": stored}

    # -- files --------------------------------------------------------------

    def files_get_upload_url_external(self, call: Call) -> JsonDict:
        filename = call.args.get("filename")
        try:
            length = int(call.args.get("length") or 0)
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        if not filename or length <= 0:
            raise ApiError("missing_argument")
        st = self.state
        file_id = st.new_id("F")
        upload_id = secrets.token_urlsafe(12)
        with st.lock:
            st.files[file_id] = {
                "id": file_id,
                "name": str(filename),
                "title": str(filename),
                "length": length,
                "alt_txt": call.args.get("alt_txt"),
                "snippet_type": call.args.get("snippet_type"),
                "content": None,
                "completed": False,
                "channels": [],
                "initial_comment": None,
                "thread_ts": None,
                "created": int(time.time()),
            }
            st.uploads[upload_id] = file_id
        return {
            "ok": True,
            "upload_url": f"{self.base_url()}/upload/v1/{upload_id}",
            "file_id": file_id,
        }

    def _file_object(self, record: JsonDict) -> JsonDict:
        st = self.state
        name = record["name"]
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        filetype = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        base = f"{self.base_url()}/files-pri/{st.team_id}-{record['id']}/{name}"
        return {
            "id": record["id"],
            "created": record["created"],
            "timestamp": record["created"],
            "name": name,
            "title": record["title"],
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": st.bot_user_id,
            "user_team": st.team_id,
            "editable": False,
            "size": len(record["content"] or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(c.startswith("C") for c in record["channels"]),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": base,
            "url_private_download": f"{base}?download=1",
            "permalink": f"https://{st.team_domain}.slack.com/files/{st.bot_user_id}/{record['id']}",
            "channels": [c for c in record["channels"] if c.startswith("C")],
            "groups": [c for c in record["channels"] if c.startswith("G")],
            "ims": [c for c in record["channels"] if c.startswith("D")],
            "comments_count": 0,
            "has_rich_preview": False,
            "file_access": "visible",
            **({"alt_txt": record["alt_txt"]} if record.get("alt_txt") else {}),
        }

    def files_complete_upload_external(self, call: Call) -> JsonDict:
        items = _json_arg(call.args, "files", "invalid_arguments")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        st = self.state
        channel_refs = _csv(call.args.get("channels")) + _csv(call.args.get("channel_id"))
        channels: list[str] = []
        for ref in channel_refs:
            try:
                channels.append(self._resolve_channel(ref, allow_user=False))
            except ApiError:
                raise ApiError("invalid_channel") from None
        records: list[JsonDict] = []
        with st.lock:
            for item in items:
                file_id = item.get("id") if isinstance(item, dict) else None
                record = st.files.get(str(file_id))
                if record is None or record["content"] is None or record["completed"]:
                    raise ApiError("file_not_found")
                records.append(record)
            for item, record in zip(items, records, strict=True):
                record["title"] = item.get("title") or record["title"]
                record["completed"] = True
                record["channels"] = channels
                record["initial_comment"] = call.args.get("initial_comment")
                record["thread_ts"] = call.args.get("thread_ts")
        objects = [self._file_object(r) for r in records]
        for channel_id in channels:
            comment = str(call.args.get("initial_comment") or "")
            message = self._bot_message(channel_id, comment, subtype="file_share", blocks=[])
            message.update(files=copy.deepcopy(objects), upload=True)
            if call.args.get("thread_ts"):
                message["thread_ts"] = str(call.args["thread_ts"])
            st.store_message(message)
        return {"ok": True, "files": objects}

    def receive_upload(self, upload_id: str, content: bytes) -> bool:
        """Store the bytes POSTed to an upload_url; False when the URL is unknown."""
        st = self.state
        with st.lock:
            file_id = st.uploads.get(upload_id)
            if file_id is None:
                return False
            st.files[file_id]["content"] = content
        return True
