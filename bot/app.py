"""The app factory: a Bolt ``AsyncApp`` wired to our client, middleware and listeners."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

import handlers
from bot.runtime import Runtime
from bot.slack import middleware
from bot.slack.client import make_client

log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> AsyncApp:
    """A Bolt app for the single workspace whose bot token is in the settings."""
    settings = runtime.settings
    app = AsyncApp(
        name="trustbot",
        token=settings.SLACK_BOT_TOKEN,
        signing_secret=settings.SLACK_SIGNING_SECRET,
        client=make_client(settings),
        logger=logging.getLogger("trustbot.bolt"),
    )
    middleware.install(app, runtime)
    handlers.register(app, runtime)
    return app
