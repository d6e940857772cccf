"""Slack -> app deliveries: the ``send_*`` / ``asend_*`` half of ``SlackEmulator``."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Literal, ParamSpec, TypedDict, Unpack

from slack_emulator import payloads
from slack_emulator.delivery import HttpOverrides, form_body, interactive_body, new_envelope_id
from slack_emulator.models import AppDelivery, JsonDict
from slack_emulator.server import Core, ThreadLoop
from slack_emulator.state import WorkspaceState

Via = Literal["http", "socket"] | None

FORM = "application/x-www-form-urlencoded"
HTTP_BODIES: dict[str, tuple[Callable[[JsonDict], str], str]] = {
    "slash_commands": (form_body, FORM),
    "interactive": (interactive_body, FORM),
    "events_api": (json.dumps, "application/json"),
}
"""How Slack's HTTP request carries each kind of delivery: its body and content type."""
P = ParamSpec("P")
AsyncSend = Callable[Concatenate["Sender", P], Coroutine[Any, Any, AppDelivery]]


class How(TypedDict, total=False):
    """How every ``send_*`` / ``asend_*`` delivers: ``via`` "http" or "socket", how long
    Slack waits for the ack (``ack_timeout``), and for signed HTTP what to send instead of
    Slack's own ``timestamp``, ``signature``, body (``raw_body``) or extra ``headers``."""

    via: Via
    ack_timeout: float | None
    timestamp: int | str | None
    signature: str | None
    raw_body: str | bytes | None
    headers: dict[str, str] | None


def _delivery(how: How) -> tuple[Via, float | None, HttpOverrides]:
    unknown = how.keys() - How.__annotations__.keys()
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    overrides = HttpOverrides(
        timestamp=how.get("timestamp"),
        signature=how.get("signature"),
        raw_body=how.get("raw_body"),
        headers=how.get("headers") or {},
    )
    return how.get("via"), how.get("ack_timeout"), overrides


def _blocking(asend: AsyncSend[P]) -> Callable[Concatenate[Sender, P], AppDelivery]:
    """The blocking twin of an ``asend_*`` method: run it on the emulator's loop and wait."""

    @functools.wraps(asend)
    def send(self: Sender, *args: P.args, **kwargs: P.kwargs) -> AppDelivery:
        timeout = kwargs.get("ack_timeout") or self.ack_timeout
        return self._loop.run(asend(self, *args, **kwargs), float(timeout) + 10)  # type: ignore[arg-type]

    return send


class Sender:
    """Builds Slack's payloads and delivers them over Socket Mode or signed HTTP.

    ``send_*`` block the calling thread; ``asend_*`` await without blocking its loop.
    ``via`` forces "http" or "socket" (default: the socket when one is connected).
    ``ack_timeout`` is how long Slack waits for the ack (3 s by default).
    """

    state: WorkspaceState
    core: Core
    verification_token: str
    ack_timeout: float
    _thread: ThreadLoop | None

    @property
    def _loop(self) -> ThreadLoop:
        if self._thread is None:
            raise RuntimeError("the emulator is not started")
        return self._thread

    # -- internals -------------------------------------------------------

    def _runner(self, coro: Coroutine[Any, Any, AppDelivery]) -> ThreadLoop:
        if self._thread is None:
            coro.close()
        return self._loop

    async def _async(self, coro: Coroutine[Any, Any, AppDelivery]) -> AppDelivery:
        return await self._runner(coro).arun(coro)

    def _deliver(
        self,
        kind: str,
        payload: JsonDict,
        how: How,
        info: JsonDict,
        *,
        accepts_response: bool = False,
        envelope: JsonDict | None = None,
        headers: dict[str, str] | None = None,
    ) -> Coroutine[Any, Any, AppDelivery]:
        """Send ``payload`` as Slack does: in a Socket Mode envelope of type ``kind`` (with
        these ``envelope`` fields besides), or as a signed HTTP request with its body."""
        via, ack_timeout, overrides = _delivery(how)
        http_body, content_type = HTTP_BODIES[kind]
        return self.core.deliver(
            kind=kind,
            payload=payload,
            http_body=http_body(payload),
            content_type=content_type,
            envelope={
                "envelope_id": new_envelope_id(),
                "payload": payload,
                "type": kind,
                "accepts_response_payload": accepts_response,
                **(envelope or {}),
            },
            via=via,
            ack_wait=ack_timeout or self.ack_timeout,
            overrides=overrides,
            extra_headers=headers or {},
            info=info,
        )

    def _channel_name(self, channel_id: str) -> str:
        channel = self.state.channels.get(channel_id, {})
        if channel.get("is_im"):
            return "directmessage"
        if channel.get("is_private"):
            return "privategroup"
        return str(channel.get("name", channel_id))

    def _command(
        self,
        command: str,
        text: str,
        escaped: bool,
        user_id: str,
        channel_id: str | None,
        how: How,
    ) -> Coroutine[Any, Any, AppDelivery]:
        channel = channel_id or self.state.open_dm(user_id)[0]
        if not escaped:
            text = payloads.command_text(self.state, text)
        info = {
            "kind": "command",
            "channel_id": channel,
            "user_id": user_id,
            "team_id": self.state.team_id,
        }
        fields = payloads.command_fields(
            self.state,
            command=command,
            text=text,
            user_id=user_id,
            channel_id=channel,
            channel_name=self._channel_name(channel),
            trigger_id=self.state.issue_trigger(user_id),
            response_url=self.core.new_response_url(info),
            verification_token=self.verification_token,
        )
        return self._deliver("slash_commands", dict(fields), how, info, accepts_response=True)

    def _interactive(
        self,
        payload: JsonDict,
        info: JsonDict,
        how: How,
    ) -> Coroutine[Any, Any, AppDelivery]:
        accepts = payload["type"] == "view_submission"
        return self._deliver("interactive", payload, how, info, accepts_response=accepts)

    def _block_action(
        self,
        user_id: str,
        actions: list[JsonDict],
        view: JsonDict | None,
        message: JsonDict | None,
        container: JsonDict | None,
        channel_id: str | None,
        state_values: JsonDict | None,
        how: How,
    ) -> Coroutine[Any, Any, AppDelivery]:
        info: JsonDict = {
            "kind": "block_actions",
            "user_id": user_id,
            "channel_id": channel_id,
            "team_id": self.state.team_id,
        }
        response_url = None
        if message is not None:
            info["channel_id"] = channel_id or message.get("channel")
            info["message_ts"] = message.get("ts")
        if view is None:  # Slack gives no response_url for actions in modals or Home
            response_url = self.core.new_response_url(info)
        payload = payloads.block_actions_payload(
            self.state,
            user_id=user_id,
            actions=actions,
            trigger_id=self.state.issue_trigger(user_id),
            verification_token=self.verification_token,
            message=message,
            view=view,
            container=container,
            channel_id=channel_id,
            response_url=response_url,
            state_values=state_values,
        )
        return self._interactive(payload, info, how)

    def _find_clickable(
        self, user_id: str, action_id: str, message: JsonDict | None, view: JsonDict | None
    ) -> tuple[JsonDict | None, JsonDict | None, str, JsonDict]:
        """(message, view, block_id, element) holding ``action_id``; newest surface first."""
        surfaces: list[tuple[JsonDict | None, JsonDict | None]] = [(message, view)]
        if message is None and view is None:
            st = self.state
            dm = st.dm_by_user.get(user_id)
            surfaces = [(m, None) for m in reversed(st.list_messages(dm))] if dm else []
            with st.lock:
                home = copy.deepcopy(st.home_views.get(user_id))
                opened = [
                    copy.deepcopy(e["view"])
                    for e in st.view_events
                    if e["user"] == user_id and e["kind"] in ("open", "push", "ack_push")
                ]
            if home is not None:
                surfaces.append((None, home))
            surfaces.extend((None, v) for v in reversed(opened))
        for msg, vw in surfaces:
            source = msg if msg is not None else vw
            assert source is not None
            found = payloads.find_element(source.get("blocks") or [], action_id)
            if found is not None:
                return msg, vw, found[0], found[1]
        raise LookupError(f"no element with action_id {action_id!r} for {user_id}")

    def _view_action(
        self,
        kind: str,
        user_id: str,
        view: JsonDict,
        values: JsonDict | None,
        how: How,
    ) -> Coroutine[Any, Any, AppDelivery]:
        trigger = self.state.issue_trigger(user_id) if kind == "view_submission" else None
        payload = payloads.view_payload(
            self.state,
            kind=kind,
            user_id=user_id,
            view=view,
            values=values,
            verification_token=self.verification_token,
            trigger_id=trigger,
        )
        info = {"kind": kind, "user_id": user_id, "team_id": self.state.team_id}
        return self._interactive(payload, info, how)

    def _event(
        self,
        event: JsonDict,
        event_id: str | None,
        retry_num: int,
        retry_reason: str | None,
        how: How,
    ) -> Coroutine[Any, Any, AppDelivery]:
        payload = payloads.event_envelope(
            self.state,
            event=event,
            event_id=event_id or payloads.new_event_id(),
            verification_token=self.verification_token,
        )
        headers: dict[str, str] = {}
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return self._deliver(
            "events_api",
            payload,
            how,
            {"kind": "event", "team_id": self.state.team_id},
            envelope={"retry_attempt": retry_num, "retry_reason": retry_reason or ""},
            headers=headers,
        )

    # -- delivery: slash commands ---------------------------------------------

    async def asend_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str,
        channel_id: str | None = None,
        escaped: bool = False,
        **how: Unpack[How],
    ) -> AppDelivery:
        """Run a slash command as ``user_id`` (in their DM with the app by default).

        ``text`` is what the user typed, a picked user or channel written ``<@U123>`` /
        ``<#C123>``: it is sent as Slack sends it (``<@U123|name>``, ``&`` ``<`` ``>`` as
        entities; :func:`slack_emulator.payloads.command_text`). With ``escaped=True`` it is
        the ``text`` field itself, sent unchanged. Every other form field is Slack's.
        """
        coro = self._command(command, text, escaped, user_id, channel_id, how)
        return await self._async(coro)

    send_command = _blocking(asend_command)

    # -- delivery: block actions ------------------------------------------------

    async def asend_block_action(
        self,
        user_id: str,
        actions: list[JsonDict],
        view: JsonDict | None = None,
        message: JsonDict | None = None,
        container: JsonDict | None = None,
        *,
        channel_id: str | None = None,
        state_values: JsonDict | None = None,
        **how: Unpack[How],
    ) -> AppDelivery:
        """Send a ``block_actions`` payload (fresh trigger_id; response_url for messages)."""
        coro = self._block_action(
            user_id,
            actions,
            view,
            message,
            container,
            channel_id,
            state_values,
            how,
        )
        return await self._async(coro)

    send_block_action = _blocking(asend_block_action)

    def _click(
        self,
        user_id: str,
        action_id: str,
        message: JsonDict | None,
        view: JsonDict | None,
        value: Any,
        how: How,
    ) -> Coroutine[Any, Any, AppDelivery]:
        msg, vw, block_id, element = self._find_clickable(user_id, action_id, message, view)
        action = payloads.click_action(block_id, element, value)
        return self._block_action(user_id, [action], vw, msg, None, None, None, how)

    async def asend_click(
        self,
        user_id: str,
        action_id: str,
        *,
        message: JsonDict | None = None,
        view: JsonDict | None = None,
        value: Any = None,
        **how: Unpack[How],
    ) -> AppDelivery:
        """Use the element ``action_id`` as a user would (button, select, checkboxes...).

        Without ``message``/``view`` it searches the user's DM (newest first), their
        Home tab, then modals opened for them. ``value``: an option value (selects,
        radio, overflow), a list of values (checkboxes) or the typed value.
        """
        coro = self._click(user_id, action_id, message, view, value, how)
        return await self._async(coro)

    send_click = _blocking(asend_click)

    # -- delivery: views ------------------------------------------------------

    async def asend_view_submission(
        self,
        user_id: str,
        view: JsonDict,
        values: JsonDict | None = None,
        **how: Unpack[How],
    ) -> AppDelivery:
        """Submit a modal; ``values`` is ``view.state.values`` ({block_id: {action_id: ...}})."""
        coro = self._view_action("view_submission", user_id, view, values, how)
        return await self._async(coro)

    send_view_submission = _blocking(asend_view_submission)

    async def asend_view_closed(
        self,
        user_id: str,
        view: JsonDict,
        **how: Unpack[How],
    ) -> AppDelivery:
        """Close a modal (sent only when the view has ``notify_on_close``)."""
        coro = self._view_action("view_closed", user_id, view, None, how)
        return await self._async(coro)

    send_view_closed = _blocking(asend_view_closed)

    # -- delivery: events -------------------------------------------------------

    async def asend_event(
        self,
        event: JsonDict,
        event_id: str | None = None,
        retry_num: int = 0,
        retry_reason: str | None = None,
        **how: Unpack[How],
    ) -> AppDelivery:
        """Deliver an Events API event; pass the same ``event_id`` to simulate a retry."""
        coro = self._event(event, event_id, retry_num, retry_reason, how)
        return await self._async(coro)

    send_event = _blocking(asend_event)
