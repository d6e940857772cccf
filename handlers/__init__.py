"""Bolt listeners only, one module per Slack surface; each has ``register(app, runtime,
after_ack)`` and marks every listener with ``@after_ack`` (its work waits for a turn once it
has acknowledged, :class:`~bot.slack.middleware.AfterAck`), directly or through
:class:`~bot.slack.listen.Listen` (clicks and modal submissions)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.middleware import AfterAck
from handlers import actions, commands, events, views


def register(app: AsyncApp, runtime: Runtime) -> None:
    after_ack = AfterAck()  # one bound for every listener of the app
    for surface in (commands, events, actions, views):
        surface.register(app, runtime, after_ack)
