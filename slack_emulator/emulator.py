"""``SlackEmulator``: a local Slack for tests and the offline demo."""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from slack_emulator.api_methods import USER_ERRORS, WebApi
from slack_emulator.clock import EmulatorClock
from slack_emulator.delivery import SocketHub
from slack_emulator.limits import (
    Failure,
    FailureInjector,
    FailureKind,
    NonMarketplaceHistory,
    RateLimiter,
)
from slack_emulator.models import ApiCall, AppDelivery, JsonDict, ResponseUrlPost, ValidationFailure
from slack_emulator.recorder import TrafficRecorder
from slack_emulator.sending import Sender
from slack_emulator.server import Core, ThreadLoop
from slack_emulator.state import WorkspaceState


class SlackEmulator(Sender):
    """A Slack workspace on loopback: Web API, Socket Mode, signed HTTP delivery.

    Runs its own event loop in a background thread, so sync and async tests can
    share it. ``send_*`` block; ``asend_*`` await without blocking the caller's loop.

    What real Slack refuses, it refuses too:

    - ``scopes``: the bot token's OAuth scopes (:func:`~slack_emulator.scopes.
      scopes_from_manifest` reads an app manifest's); a method called without its scope
      answers ``missing_scope``. None grants every scope.
    - ``non_marketplace_history``: conversations.history as Slack serves apps distributed
      outside the Marketplace (15 messages a page, 1 call a minute).
    - ``enterprise_id`` / ``enterprise_name`` put the workspace in an Enterprise Grid org,
      ``org_install`` installs the app org-wide: every payload carries what Grid adds.
    - :meth:`set_user_error`, :meth:`archive_channel`, :meth:`remove_bot_from_channel`,
      :meth:`delete_channel`, :meth:`expire_trigger`: the error codes Slack answers then.

    ``clock`` (:class:`EmulatorClock`) drives rate limits, failure durations and trigger
    expiry: ``emu.clock.advance(61)`` stands for a minute gone by.
    """

    def __init__(
        self,
        signing_secret: str = "s3cret",  # noqa: S107 - a local emulator's default
        bot_token: str = "xoxb-test",  # noqa: S107
        app_token: str = "xapp-test",  # noqa: S107
        team_id: str = "T0001",
        team_name: str = "Acme",
        transcript_path: str | Path | None = None,
        *,
        team_domain: str | None = None,
        app_id: str = "A0EMULATOR",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "trustbot",
        verification_token: str = "verification-token",  # noqa: S107
        trigger_ttl: float = 3.0,
        ack_timeout: float = 3.0,
        deleted_user_dm_error: str | None = "user_disabled",
        scopes: Sequence[str] | None = None,
        non_marketplace_history: bool = False,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        org_install: bool = False,
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.app_token = app_token
        self.verification_token = verification_token
        self.ack_timeout = ack_timeout
        self.clock = EmulatorClock()
        self.state = WorkspaceState(
            team_id=team_id,
            team_name=team_name,
            team_domain=team_domain or team_name.lower().replace(" ", "-"),
            app_id=app_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            clock=self.clock,
        )
        self.state.join_enterprise(enterprise_id, enterprise_name, org_install=org_install)
        self.recorder = TrafficRecorder(transcript_path)
        self.limiter = RateLimiter(self.clock)
        self.failures = FailureInjector(self.clock)
        self.history_limits = NonMarketplaceHistory(self.clock)
        self.history_limits.configure(non_marketplace_history)
        self.hub = SocketHub(app_id)
        self.api = WebApi(
            self.state,
            bot_token=bot_token,
            app_token=app_token,
            base_url=lambda: self.base_url,
            socket_url=self._socket_url,
            on_refused=self.recorder.failure,
            trigger_ttl=trigger_ttl,
            deleted_user_dm_error=deleted_user_dm_error,
            scopes=None if scopes is None else list(scopes),
            history=self.history_limits,
        )
        self.core = Core(
            state=self.state,
            api=self.api,
            recorder=self.recorder,
            limiter=self.limiter,
            failures=self.failures,
            hub=self.hub,
            signing_secret=signing_secret,
        )
        self._thread: ThreadLoop | None = None
        self._workspaces: dict[str, WorkspaceEmulator] = {}
        self._deleted_user_dm_error = deleted_user_dm_error
        self._trigger_ttl = trigger_ttl

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> SlackEmulator:
        """Bind a free loopback port and serve in a background thread."""
        if self._thread is None:
            self._thread = ThreadLoop(self.core)
            self._thread.start()
            self.core.base_url = self.base_url
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._loop.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:<port>/api/``: the ``base_url`` for slack_sdk clients."""
        return f"{self.base_url}/api/"

    def _socket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket-mode/{self.hub.new_ticket()}"

    # -- workspace ------------------------------------------------------------

    def add_user(self, user_id: str, **profile: Any) -> JsonDict:
        """Add (or replace) a workspace member; returns the user as users.info shows it.

        ``profile``: ``name``, ``real_name``, ``tz`` (``"UTC"``), ``email``, ``deleted``,
        ``is_bot``; ``is_admin``/``is_owner`` are workspace roles; on Grid,
        ``is_org_admin``/``is_org_owner`` are the org's, shown in users.info's
        ``enterprise_user`` (see :meth:`slack_emulator.state.WorkspaceState.add_user`)."""
        return self.state.add_user(user_id, **profile)

    def add_channel(self, channel_id: str, *, name: str, **options: Any) -> JsonDict:
        """Add a channel (the app is a member unless ``is_member=False``); ``options``:
        ``is_private``, ``is_archived``, ``is_member``, ``members``."""
        return self.state.add_channel(channel_id, name=name, **options)

    def user(self, user_id: str) -> JsonDict | None:
        return self.state.user_object(user_id)

    def set_user(self, user_id: str, **changes: Any) -> None:
        """Change a stored user (e.g. ``deleted=True`` or ``tz="Europe/Paris"``)."""
        with self.state.lock:
            self.state.users[user_id].update(changes)

    def issue_trigger(self, user_id: str) -> str:
        """A fresh trigger_id, as a delivery would carry (single use, expires)."""
        return self.state.issue_trigger(user_id)

    def expire_trigger(self, trigger_id: str) -> None:
        """views.open/push with this trigger_id answer ``expired_trigger_id`` from now on, as
        they do once ``trigger_ttl`` (3 s) has gone by on :attr:`clock` ("The trigger_id is
        expired.", slack-api-ref docs.slack.dev/methods/views.open.json)."""
        self.state.expire_trigger(trigger_id)

    # -- states Slack refuses -------------------------------------------------------------

    def set_user_error(self, user_id: str, error: str | None) -> None:
        """Make Slack answer ``error`` to conversations.open with this user, to chat.postMessage
        to their ID or their DM, and (for user_not_visible / user_not_found) to users.info;
        None clears it. One of :data:`~slack_emulator.api_methods.USER_ERRORS`: Slack's codes
        for a user the app may not message (a guest, an external person, a hidden or
        deactivated account)."""
        if error is not None and error not in USER_ERRORS:
            raise ValueError(f"not an error Slack answers about a user: {error}")
        with self.state.lock:
            self.state.users[user_id]["error"] = error

    def hide_user(self, user_id: str) -> None:
        """The app may not see this user: ``user_not_visible``."""
        self.set_user_error(user_id, "user_not_visible")

    def restrict_user(self, user_id: str) -> None:
        """A workspace preference forbids messaging this user: ``restricted_action``."""
        self.set_user_error(user_id, "restricted_action")

    def _channel(self, channel_id: str) -> JsonDict:
        channel = self.state.channels.get(channel_id)
        if channel is None or channel.get("is_im"):
            raise KeyError(f"no channel {channel_id}")
        return channel

    def archive_channel(self, channel_id: str, archived: bool = True) -> None:
        """Archive (or unarchive) a channel: posts answer ``is_archived`` ("Channel has been
        archived.", chat.postMessage.json), chat.update ``is_inactive``."""
        with self.state.lock:
            self._channel(channel_id)["is_archived"] = archived

    def remove_bot_from_channel(self, channel_id: str) -> None:
        """The app leaves (or was never invited to) a channel: posts to it answer
        ``not_in_channel`` when it is public, ``channel_not_found`` when it is private."""
        with self.state.lock:
            self._channel(channel_id)["is_member"] = False

    def invite_bot(self, channel_id: str) -> None:
        """``/invite @app`` in a channel: the app is a member again."""
        with self.state.lock:
            self._channel(channel_id)["is_member"] = True

    def delete_channel(self, channel_id: str) -> None:
        """Delete a channel and its messages: ``channel_not_found`` from now on."""
        with self.state.lock:
            self._channel(channel_id)
            del self.state.channels[channel_id]
            self.state.messages.pop(channel_id, None)

    # -- scopes, Marketplace, Grid ----------------------------------------------------------

    @property
    def scopes(self) -> list[str] | None:
        """The static bot token's scopes (None: every scope)."""
        return None if self.api.scopes is None else list(self.api.scopes)

    def set_scopes(self, scopes: Sequence[str] | None) -> None:
        """Re-grant the static bot token ``scopes`` (None: every scope), as reinstalling the
        app with another manifest would."""
        self.api.scopes = None if scopes is None else list(scopes)

    def set_non_marketplace_history(self, enabled: bool = True) -> None:
        """Serve conversations.history as to an app outside the Marketplace (see
        :class:`~slack_emulator.limits.NonMarketplaceHistory`), or as to Tier 3 apps."""
        self.history_limits.configure(enabled)

    def join_enterprise(
        self,
        enterprise_id: str | None,
        enterprise_name: str | None = None,
        *,
        org_install: bool = False,
    ) -> None:
        """Put this workspace in an Enterprise Grid org (``E0123``; None: out of Grid), with the
        app installed on the workspace or, ``org_install=True``, org-wide."""
        self.state.join_enterprise(enterprise_id, enterprise_name, org_install=org_install)

    # -- more workspaces and OAuth ----------------------------------------------

    def add_workspace(
        self,
        team_id: str,
        team_name: str,
        *,
        bot_token: str | None = None,
        team_domain: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        org_install: bool = False,
    ) -> WorkspaceEmulator:
        """Another workspace the same app is installed in, served by this emulator.

        The returned object has this class's API (``add_user``, ``send_command``,
        ``dm_messages`` ...) for that workspace; Web API calls reach it by its bot tokens
        (``bot_token``, and those :meth:`configure_oauth` installs hand out). Recorded
        calls, failures, rate limits, Socket Mode and the app's request URL are shared.
        """
        if self.core.api_for_team(team_id) is not None:
            raise ValueError(f"workspace {team_id} exists already")
        n = len(self._workspaces) + 2
        state = WorkspaceState(
            team_id=team_id,
            team_name=team_name,
            team_domain=team_domain or team_name.lower().replace(" ", "-"),
            app_id=self.state.app_id,
            bot_user_id=bot_user_id or f"U0BOT{n}",
            bot_id=bot_id or f"B0BOT{n}",
            bot_name=self.state.bot_name,
            clock=self.clock,
            _ids=itertools.count(n << 24),  # object IDs unique across workspaces
        )
        state.join_enterprise(enterprise_id, enterprise_name, org_install=org_install)
        api = WebApi(
            state,
            bot_token=bot_token or f"xoxb-{team_id.lower()}-static",
            app_token=self.app_token,
            base_url=lambda: self.base_url,
            socket_url=self._socket_url,
            on_refused=self.recorder.failure,
            trigger_ttl=self._trigger_ttl,
            deleted_user_dm_error=self._deleted_user_dm_error,
            scopes=self.scopes,
            history=self.history_limits,
        )
        self.core.extra.append(api)
        view = WorkspaceEmulator(self, state, api)
        self._workspaces[team_id] = view
        return view

    def workspace(self, team_id: str) -> SlackEmulator:
        """This emulator's view of workspace ``team_id`` (itself for the first one)."""
        if team_id == self.state.team_id:
            return self
        return self._workspaces[team_id]

    def configure_oauth(
        self,
        client_id: str,
        client_secret: str,
        redirect_urls: list[str],
        *,
        installer: str | None = None,
        deny: bool = False,
    ) -> None:
        """Accept OAuth installs for the app with these credentials.

        ``GET /oauth/v2/authorize`` (:attr:`authorize_url`) redirects the browser to the
        redirect URL with a code, for the workspace named by its ``team`` parameter (the
        first workspace by default), installed by ``installer``; ``deny=True`` answers
        ``error=access_denied`` instead. ``oauth.v2.access`` exchanges the code for a new bot
        token of that workspace.
        """
        self.core.oauth.configure(client_id, client_secret, redirect_urls, installer=installer)
        self.core.oauth.deny = deny

    @property
    def authorize_url(self) -> str:
        """``http://127.0.0.1:<port>/oauth/v2/authorize``: Slack's install page."""
        return f"{self.base_url}/oauth/v2/authorize"

    @property
    def bot_tokens(self) -> list[str]:
        """This workspace's bot tokens that work now (the static one and OAuth installs)."""
        api = self.api
        return [t for t in [api.bot_token, *sorted(api.tokens)] if t not in api.revoked]

    def revoke_tokens(self, token: str | None = None) -> list[str]:
        """Revoke a bot token of this workspace (None: all of them), as an uninstall does;
        calls with it are answered ``token_revoked``. Returns the tokens revoked."""
        return self.api.revoke(token)

    def uninstall(self, **options: Any) -> AppDelivery:
        """Uninstall the app from this workspace: revoke its tokens, then send
        ``app_uninstalled`` (``options`` as for :meth:`send_event`)."""
        self.revoke_tokens()
        return self.send_event({"type": "app_uninstalled"}, **options)

    def dm_channel_id(self, user_id: str) -> str:
        """The app's DM channel with a user (opened if needed)."""
        return self.state.open_dm(user_id)[0]

    # -- recorded traffic ---------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        return self.recorder.snapshot_calls()

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    @property
    def deliveries(self) -> list[AppDelivery]:
        return self.recorder.snapshot_deliveries()

    @property
    def validation_failures(self) -> list[ValidationFailure]:
        """Every Block Kit payload refused (API calls, response_url posts, acks)."""
        return self.recorder.snapshot_failures()

    def reset_calls(self) -> None:
        """Forget recorded calls, deliveries and refusals (the workspace stays)."""
        self.recorder.reset_calls()

    def messages(self, channel: str | None = None) -> list[JsonDict]:
        """Messages as Slack stores them now (after updates/deletes), oldest first."""
        return self.state.list_messages(channel)

    def dm_messages(self, user_id: str) -> list[JsonDict]:
        channel = self.state.dm_by_user.get(user_id)
        return self.state.list_messages(channel) if channel else []

    def message(self, channel: str, ts: str) -> JsonDict | None:
        with self.state.lock:  # the app may be updating the same message right now
            found = self.state.get_message(channel, ts)
            return copy.deepcopy(found) if found else None

    def ephemerals(self, user: str | None = None) -> list[JsonDict]:
        """Ephemeral messages (chat.postEphemeral, command acks, response_url posts)."""
        with self.state.lock:
            found = [e for e in self.state.ephemerals if user is None or e["user"] == user]
            return copy.deepcopy(found)

    def view_events(self, kind: str | None = None) -> list[JsonDict]:
        """``{"kind", "user", "view", "time"}`` for open/push/update/publish/ack_* in order."""
        with self.state.lock:
            found = [e for e in self.state.view_events if kind is None or e["kind"] == kind]
            return copy.deepcopy(found)

    def views_published(self, user: str | None = None) -> list[JsonDict]:
        """Every Home tab view published (oldest first), optionally for one user."""
        return [e["view"] for e in self.view_events("publish") if user is None or e["user"] == user]

    def home_view(self, user: str) -> JsonDict | None:
        """The Home tab a user sees now."""
        with self.state.lock:
            view = self.state.home_views.get(user)
            return copy.deepcopy(view) if view else None

    def views_opened(self, user: str | None = None) -> list[JsonDict]:
        """Modals opened or pushed (by API or ack), oldest first."""
        kinds = ("open", "push", "ack_push")
        return [
            e["view"]
            for e in self.view_events()
            if e["kind"] in kinds and (user is None or e["user"] == user)
        ]

    def view(self, view_id: str) -> JsonDict | None:
        """A view's current state."""
        with self.state.lock:
            view = self.state.views.get(view_id)
            return copy.deepcopy(view) if view else None

    @property
    def files(self) -> list[JsonDict]:
        """Uploaded files, with ``content`` bytes and where they were shared."""
        with self.state.lock:
            return copy.deepcopy(list(self.state.files.values()))

    def response_url_posts(self, url: str | None = None) -> list[ResponseUrlPost]:
        with self.state.lock:
            return [p for p in self.state.response_url_posts if url is None or p.url == url]

    # -- rate limits and failures -------------------------------------------------

    def set_rate_limits(self, enabled: bool = True, **limits: Any) -> None:
        """Enforce Slack's limits: 429 + ``Retry-After`` once a bucket is empty. ``limits``:
        ``per_channel_per_s`` (1), ``workspace_cap_per_s`` (50), ``tier_per_min`` (per
        method, over the tiers' defaults), as :meth:`RateLimiter.configure` takes them."""
        self.limiter.configure(enabled=enabled, **limits)

    def inject_failure(
        self,
        method: str | None = None,
        kind: FailureKind = "status",
        status: int = 503,
        times: int | None = None,
        duration: float | None = None,
        rate: float = 1.0,
        delay: float = 0.0,
        retry_after: int = 1,
    ) -> Failure:
        """Fail calls to ``method`` (None: every Web API method).

        ``kind``: "status" answers ``status`` (a 429 with ``Retry-After: retry_after``);
        "drop" closes the connection unanswered; "delay" waits ``delay`` seconds then answers
        normally. Limited by ``times`` and/or ``duration`` seconds; ``rate`` is the fraction of
        calls affected. ``method="upload"`` and ``"response_url"`` target those endpoints.
        """
        return self.failures.add(
            method=method,
            kind=kind,
            status=status,
            delay=delay,
            times=times,
            duration=duration,
            rate=rate,
            retry_after=retry_after,
        )

    def clear_failures(self) -> None:
        self.failures.clear()

    # -- app connection -------------------------------------------------------

    def connect_http(self, url: str) -> None:
        """Deliver to the app's Request URL (used when no socket is connected)."""
        self.core.http_url = url

    def disconnect_http(self) -> None:
        self.core.http_url = None

    @property
    def socket_connected(self) -> bool:
        return self.hub.count > 0

    def wait_for_socket(self, timeout: float = 5.0) -> bool:
        """Block until the app has a Socket Mode connection."""
        return self.hub.connected.wait(timeout)

    async def await_socket(self, timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Await a Socket Mode connection without blocking the caller's loop."""
        deadline = time.monotonic() + timeout
        while not self.hub.connected.is_set():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def disconnect_socket(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message to every socket (the client reconnects)."""
        self._loop.run(self.hub.disconnect(reason), 10)

    async def adisconnect_socket(self, reason: str = "refresh_requested") -> None:
        await self._loop.arun(self.hub.disconnect(reason))

    def drop_sockets(self) -> None:
        """Close every socket without warning, as a network failure would."""
        self._loop.run(self.hub.close_all(), 10)

    async def adrop_sockets(self) -> None:
        await self._loop.arun(self.hub.close_all())


SHARED_WITH_PARENT = (
    "signing_secret", "app_token", "verification_token", "ack_timeout", "clock", "recorder",
    "limiter", "failures", "history_limits", "hub", "core", "_workspaces",
    "_deleted_user_dm_error", "_trigger_ttl",
)  # fmt: skip
"""What every workspace of one emulator shares: its app, server, clock, limits and failures."""


class WorkspaceEmulator(SlackEmulator):
    """A second (third ...) workspace of a :class:`SlackEmulator`: its own users, channels,
    messages and tokens, on the parent's server. Made by :meth:`SlackEmulator.add_workspace`."""

    def __init__(self, parent: SlackEmulator, state: WorkspaceState, api: WebApi) -> None:
        # not SlackEmulator.__init__: everything but the workspace is the parent's
        self._parent = parent
        for name in SHARED_WITH_PARENT:
            setattr(self, name, getattr(parent, name))
        self.bot_token = api.bot_token
        self.state = state
        self.api = api

    @property
    def _thread(self) -> ThreadLoop | None:
        return self._parent._thread

    @_thread.setter
    def _thread(self, value: ThreadLoop | None) -> None:
        self._parent._thread = value

    def start(self) -> WorkspaceEmulator:
        self._parent.start()
        return self

    def stop(self) -> None:
        """The server is the parent's: stop that one."""

    def workspace(self, team_id: str) -> SlackEmulator:
        return self._parent.workspace(team_id)
