"""Slack -> app deliveries: the ``send_*`` / ``asend_*`` half of ``SlackEmulator``."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Literal, ParamSpec

from slack_emulator import payloads
from slack_emulator.delivery import HttpOverrides, form_body, interactive_body, new_envelope_id
from slack_emulator.models import AppDelivery, JsonDict
from slack_emulator.server import Core, ThreadLoop
from slack_emulator.state import WorkspaceState

Via = Literal["http", "socket"] | None

FORM = "application/x-www-form-urlencoded"
P = ParamSpec("P")
AsyncSend = Callable[Concatenate["Sender", P], Coroutine[Any, Any, AppDelivery]]


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

    def _overrides(
        self,
        timestamp: int | str | None,
        signature: str | None,
        raw_body: str | bytes | None,
        headers: dict[str, str] | None,
    ) -> HttpOverrides:
        return HttpOverrides(
            timestamp=timestamp, signature=signature, raw_body=raw_body, headers=headers or {}
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
        via: Via,
        ack_timeout: float | None,
        overrides: HttpOverrides,
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
        envelope = {
            "envelope_id": new_envelope_id(),
            "payload": fields,
            "type": "slash_commands",
            "accepts_response_payload": True,
        }
        return self.core.deliver(
            kind="slash_commands",
            payload=dict(fields),
            http_body=form_body(fields),
            content_type=FORM,
            envelope=envelope,
            via=via,
            ack_wait=ack_timeout or self.ack_timeout,
            overrides=overrides,
            extra_headers={},
            info=info,
        )

    def _interactive(
        self,
        payload: JsonDict,
        info: JsonDict,
        via: Via,
        ack_timeout: float | None,
        overrides: HttpOverrides,
    ) -> Coroutine[Any, Any, AppDelivery]:
        envelope = {
            "envelope_id": new_envelope_id(),
            "payload": payload,
            "type": "interactive",
            "accepts_response_payload": payload["type"] == "view_submission",
        }
        return self.core.deliver(
            kind="interactive",
            payload=payload,
            http_body=interactive_body(payload),
            content_type=FORM,
            envelope=envelope,
            via=via,
            ack_wait=ack_timeout or self.ack_timeout,
            overrides=overrides,
            extra_headers={},
            info=info,
        )

    def _block_action(
        self,
        user_id: str,
        actions: list[JsonDict],
        view: JsonDict | None,
        message: JsonDict | None,
        container: JsonDict | None,
        channel_id: str | None,
        state_values: JsonDict | None,
        via: Via,
        ack_timeout: float | None,
        overrides: HttpOverrides,
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
        return self._interactive(payload, info, via, ack_timeout, overrides)

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
        via: Via,
        ack_timeout: float | None,
        overrides: HttpOverrides,
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
        return self._interactive(payload, info, via, ack_timeout, overrides)

    def _event(
        self,
        event: JsonDict,
        event_id: str | None,
        retry_num: int,
        retry_reason: str | None,
        via: Via,
        ack_timeout: float | None,
        overrides: HttpOverrides,
    ) -> Coroutine[Any, Any, AppDelivery]:
        payload = payloads.event_envelope(
            self.state,
            event=event,
            event_id=event_id or payloads.new_event_id(),
            verification_token=self.verification_token,
        )
        envelope = {
            "envelope_id": new_envelope_id(),
            "payload": payload,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": retry_num,
            "retry_reason": retry_reason or "",
        }
        headers: dict[str, str] = {}
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return self.core.deliver(
            kind="events_api",
            payload=payload,
            http_body=json.dumps(payload),
            content_type="application/json",
            envelope=envelope,
            via=via,
            ack_wait=ack_timeout or self.ack_timeout,
            overrides=overrides,
            extra_headers=headers,
            info={"kind": "event", "team_id": self.state.team_id},
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
        via: Via = None,
        ack_timeout: float | None = None,
        timestamp: int | str | None = None,
        signature: str | None = None,
        raw_body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> AppDelivery:
        """Run a slash command as ``user_id`` (in their DM with the app by default).

        ``text`` is what the user typed, a picked user or channel written ``<@U123>`` /
        ``<#C123>``: it is sent as Slack sends it (``<@U123|name>``, ``&`` ``<`` ``>`` as
        entities; :func:`slack_emulator.payloads.command_text`). With ``escaped=True`` it is
        the ``text`` field itself, sent unchanged. Every other form field is Slack's.
        """
        over = self._overrides(timestamp, signature, raw_body, headers)
        coro = self._command(command, text, escaped, user_id, channel_id, via, ack_timeout, over)
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
        via: Via = None,
        ack_timeout: float | None = None,
        timestamp: int | str | None = None,
        signature: str | None = None,
        raw_body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> AppDelivery:
        """Send a ``block_actions`` payload (fresh trigger_id; response_url for messages)."""
        over = self._overrides(timestamp, signature, raw_body, headers)
        coro = self._block_action(
            user_id,
            actions,
            view,
            message,
            container,
            channel_id,
            state_values,
            via,
            ack_timeout,
            over,
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
        via: Via,
        ack_timeout: float | None,
        over: HttpOverrides,
    ) -> Coroutine[Any, Any, AppDelivery]:
        msg, vw, block_id, element = self._find_clickable(user_id, action_id, message, view)
        action = payloads.click_action(block_id, element, value)
        return self._block_action(
            user_id, [action], vw, msg, None, None, None, via, ack_timeout, over
        )

    async def asend_click(
        self,
        user_id: str,
        action_id: str,
        *,
        message: JsonDict | None = None,
        view: JsonDict | None = None,
        value: Any = None,
        via: Via = None,
        ack_timeout: float | None = None,
        timestamp: int | str | None = None,
        signature: str | None = None,
        raw_body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> AppDelivery:
        """Use the element ``action_id`` as a user would (button, select, checkboxes...).

        Without ``message``/``view`` it searches the user's DM (newest first), their
        Home tab, then modals opened for them. ``value``: an option value (selects,
        radio, overflow), a list of values (checkboxes) or the typed value.
        """
        over = self._overrides(timestamp, signature, raw_body, headers)
        coro = self._click(user_id, action_id, message, view, value, via, ack_timeout, over)
        return await self._async(coro)

    send_click = _blocking(asend_click)

    # -- delivery: views ------------------------------------------------------

    async def asend_view_submission(
        self,
        user_id: str,
        view: JsonDict,
        values: JsonDict | None = None,
        *,
        via: Via = None,
        ack_timeout: float | None = None,
        timestamp: int | str | None = None,
        signature: str | None = None,
        raw_body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> AppDelivery:
        """Submit a modal; ``values`` is ``view.state.values`` ({block_id: {action_id: ...}})."""
        over = self._overrides(timestamp, signature, raw_body, headers)
        coro = self._view_action("view_submission", user_id, view, values, via, ack_timeout, over)
        return await self._async(coro)

    send_view_submission = _blocking(asend_view_submission)

    async def asend_view_closed(
        self,
        user_id: str,
        view: JsonDict,
        *,
        via: Via = None,
        ack_timeout: float | None = None,
        timestamp: int | str | None = None,
        signature: str | None = None,
        raw_body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> AppDelivery:
        """Close a modal (sent only when the view has ``notify_on_close``)."""
        over = self._overrides(timestamp, signature, raw_body, headers)
        coro = self._view_action("view_closed", user_id, view, None, via, ack_timeout, over)
        return await self._async(coro)

    send_view_closed = _blocking(asend_view_closed)

    # -- delivery: events -------------------------------------------------------

    async def asend_event(
        self,
        event: JsonDict,
        event_id: str | None = None,
        retry_num: int = 0,
        retry_reason: str | None = None,
        *,
        via: Via = None,
        ack_timeout: float | None = None,
        timestamp: int | str | None = None,
        signature: str | None = None,
        raw_body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> AppDelivery:
        """Deliver an Events API event; pass the same ``event_id`` to simulate a retry."""
        over = self._overrides(timestamp, signature, raw_body, headers)
        coro = self._event(event, event_id, retry_num, retry_reason, via, ack_timeout, over)
        return await self._async(coro)

    send_event = _blocking(asend_event)
