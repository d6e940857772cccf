"""Bolt listeners only, one module per Slack surface; each has ``register(app, runtime)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from handlers import actions, commands, events, views


def register(app: AsyncApp, runtime: Runtime) -> None:
    for surface in (commands, events, actions, views):
        surface.register(app, runtime)
