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
    """A Bolt app: for the single workspace whose bot token is in the settings, or, when
    ``SLACK_CLIENT_ID`` is set, for every workspace installed through OAuth (each request
    carries its workspace's token from the installation store)."""
    settings = runtime.settings
    bolt_logger = logging.getLogger("trustbot.bolt")
    if settings.oauth_enabled:
        from bot.slack.installations import InstallationStore, oauth_settings

        store = InstallationStore(runtime)
        oauth = oauth_settings(runtime, store)
        app = AsyncApp(
            name="trustbot",
            signing_secret=settings.SLACK_SIGNING_SECRET,
            client=make_client(settings),
            oauth_settings=oauth,
            installation_store=store,
            authorize=oauth.authorize,  # type: ignore[arg-type]  # an AsyncAuthorize is accepted
            logger=bolt_logger,
        )
    else:
        app = AsyncApp(
            name="trustbot",
            token=settings.SLACK_BOT_TOKEN,
            signing_secret=settings.SLACK_SIGNING_SECRET,
            client=make_client(settings),
            logger=bolt_logger,
        )
    middleware.install(app, runtime)
    handlers.register(app, runtime)
    return app
