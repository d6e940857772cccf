"""Bolt listeners only, one module per Slack surface; each has ``register(app, runtime)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.middleware import AfterAck, Listener
from handlers import actions, commands, events, views

SURFACES = frozenset(
    {
        "command",
        "action",
        "block_action",
        "view",
        "view_submission",
        "view_closed",
        "event",
        "message",
        "options",
        "block_suggestion",
        "shortcut",
        "global_shortcut",
        "message_shortcut",
    }
)
"""The app's methods that register a listener (each wraps it in :class:`AfterAck`)."""


class _Bounded:
    """The app as the surfaces see it: every listener registered through it does its work
    after its ack, in turn (:class:`~bot.slack.middleware.AfterAck`)."""

    def __init__(self, app: AsyncApp, after_ack: AfterAck) -> None:
        self._app = app
        self._after_ack = after_ack

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._app, name)
        if name not in SURFACES:
            return found

        def listener_for(*args: Any, **kwargs: Any) -> Callable[[Listener], Listener]:
            register = found(*args, **kwargs)
            return lambda listener: register(self._after_ack(listener))

        return listener_for


def register(app: AsyncApp, runtime: Runtime) -> None:
    bounded = cast(AsyncApp, _Bounded(app, AfterAck()))
    for surface in (commands, events, actions, views):
        surface.register(bounded, runtime)
