"""Installing Trustbot in many workspaces (OAuth v2, when ``SLACK_CLIENT_ID`` is set).

slack_sdk's async SQLAlchemy installation and OAuth state stores run on our own async engine
(``TRUSTBOT_DATABASE_URL``); their tables (``slack_installations``, ``slack_bots``,
``slack_oauth_states``) are created by our migrations (``trustbot migrate``), never at run
time. Bolt serves ``GET /slack/install`` (the "Add to Slack" page, with a state bound to
the browser by a cookie) and ``GET /slack/oauth_redirect`` (the code exchanged with
``oauth.v2.access``, the install stored); saving an install marks its workspace installed.
"""

from __future__ import annotations

import copy
import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urljoin

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import and_, desc, or_, select

from bot.core import workspaces
from bot.runtime import Runtime
from bot.slack.client import WorkspaceClients
from bot.storage import sealed, slack_tables  # noqa: F401  (the tables these stores use)

log = logging.getLogger(__name__)
T = TypeVar("T")

BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "im:history",
    "channels:history",
    "groups:history",
    "files:write",
    "metadata.message:read",
)
"""The bot scopes asked for at install: app.yml's ``oauth_config.scopes.bot`` (a test keeps
the two the same)."""

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600
"""How long an install link (its OAuth state) stays valid."""

FAILURES = {
    "access_denied": "The installation was cancelled in Slack.",
    "invalid_browser": "This install link was started in another browser, or its cookie has gone.",
    "invalid_state": "This install link has expired or has been used already.",
    "missing_code": "Slack did not send an authorization code.",
    "invalid_code": "Slack did not accept the authorization code (expired or used already).",
    "storage_error": "The installation could not be saved.",
}


class InstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's store on the app's engine, with every token sealed at rest
    (:mod:`bot.storage.sealed`, ``TRUSTBOT_TOKEN_KEY``): sealed when saved, opened when found.

    Saving an installation marks its workspace installed again
    (:func:`bot.workspaces.mark_installed`). On Enterprise Grid an install is found by
    (enterprise, workspace), by the org alone when it is org-wide, and also when it was
    stored before its workspace joined the org (requests then carry an enterprise id the
    stored install lacks: slack_sdk's lookup would find nothing, and Bolt would answer
    "please reinstall").
    """

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        if not settings.SLACK_CLIENT_ID:
            raise ValueError("SLACK_CLIENT_ID is not set")
        if not settings.TRUSTBOT_TOKEN_KEY:
            raise ValueError(f"{sealed.SETTING} is not set: OAuth tokens are stored sealed")
        super().__init__(settings.SLACK_CLIENT_ID, runtime.db.engine, logger=log)
        self.runtime = runtime
        self.sealer = sealed.TokenSealer.from_setting(settings.TRUSTBOT_TOKEN_KEY)

    async def async_save(self, installation: Installation) -> None:
        stored = copy.copy(installation)
        for name in ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"):
            setattr(stored, name, self.sealer.seal(getattr(installation, name)))
        await super().async_save(stored)
        if installation.team_id:
            rt = self.runtime
            again = await workspaces.mark_installed(
                rt.db, installation.team_id, rt.clock, installation.team_name or ""
            )
            log.info("installed in workspace %s%s", installation.team_id, " again" if again else "")
        elif installation.enterprise_id:
            log.info("installed org-wide in Enterprise Grid org %s", installation.enterprise_id)

    async def async_save_bot(self, bot: Bot) -> None:
        stored = copy.copy(bot)
        stored.bot_token = self.sealer.seal(bot.bot_token) or ""
        stored.bot_refresh_token = self.sealer.seal(bot.bot_refresh_token)
        await super().async_save_bot(stored)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = await _here_or_before_grid(
            super().async_find_bot, enterprise_id, team_id, is_enterprise_install
        )
        if bot is not None:
            bot.bot_token = self.sealer.open(bot.bot_token) or ""
            bot.bot_refresh_token = self.sealer.open(bot.bot_refresh_token)
        return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await _here_or_before_grid(
            super().async_find_installation,
            enterprise_id,
            team_id,
            is_enterprise_install,
            user_id=user_id,
        )
        if found is not None:
            for name in ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"):
                setattr(found, name, self.sealer.open(getattr(found, name)))
        return found

    async def bot_token(self, team_id: str) -> str | None:
        """The bot token of the workspace's latest installation (in any Enterprise Grid org),
        or else of the org-wide install of the org the workspace was last seen in."""
        c = self.bots.c
        enterprise = await workspaces.enterprise_of(self.runtime.db, team_id)
        here = c.team_id == team_id
        org_wide = and_(c.is_enterprise_install.is_(True), c.enterprise_id == enterprise)
        query = (
            select(c.bot_token)
            .where(
                c.client_id == self.client_id,
                c.bot_token.is_not(None),
                or_(here, org_wide) if enterprise else here,
            )
            .order_by(desc(c.team_id.is_not(None)), desc(c.installed_at))
            .limit(1)
        )
        async with self.engine.connect() as conn:
            token = (await conn.execute(query)).scalar()
        return self.sealer.open(str(token)) if token else None


def state_store(runtime: Runtime) -> AsyncSQLAlchemyOAuthStateStore:
    """OAuth states in ``slack_oauth_states``, valid for :data:`STATE_SECONDS`."""
    return AsyncSQLAlchemyOAuthStateStore(STATE_SECONDS, runtime.db.engine, logger=log)


def authorization_url(api_url: str) -> str:
    """Slack's authorize page on the host of ``SLACK_API_URL``
    (``https://slack.com/api/`` -> ``https://slack.com/oauth/v2/authorize``)."""
    return urljoin(api_url, "/oauth/v2/authorize")


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    return await args.default.success(args)


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    """A page that says what went wrong and links back to the install page."""
    what = FAILURES.get(args.reason, f"The installation failed ({args.reason}).")
    install = html.escape(args.settings.install_path)
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Trustbot: not installed"
        "</title></head><body style='font-family: sans-serif; padding: 1em 2em'>"
        "<h2>Trustbot was not installed</h2>"
        f"<p>{html.escape(what)}</p>"
        f"<p><a href='{install}'>Start the installation again</a>.</p>"
        f"<p><small>reason: {html.escape(args.reason)}</small></p></body></html>"
    )
    log.warning("OAuth install failed: %s", args.reason)
    return BoltResponse(
        status=args.suggested_status_code,
        body=body,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion(),
        },
    )


def oauth_settings(runtime: Runtime, store: InstallationStore) -> AsyncOAuthSettings:
    """Bolt's OAuth settings: our scopes, paths, stores and failure page."""
    settings = runtime.settings
    oauth = AsyncOAuthSettings(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=authorization_url(settings.SLACK_API_URL),
        installation_store=store,
        state_store=state_store(runtime),
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=_success, failure=_failure),
        logger=log,
    )
    # remember auth.test's answer per token instead of asking Slack on every request: a
    # token is looked up in the store first, so an uninstalled workspace's is never used
    oauth.authorize = AsyncInstallationStoreAuthorize(
        logger=log,
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        installation_store=store,
        cache_enabled=True,
    )
    return oauth


async def revoke(
    runtime: Runtime,
    store: AsyncInstallationStore | None,
    team_id: str,
    enterprise_id: str | None = None,
    *,
    users: Sequence[str] = (),
    bot: bool = True,
    org_wide: bool = False,
) -> int:
    """Slack revoked tokens of ``team_id``: ``app_uninstalled`` (everything, the default) or
    ``tokens_revoked`` (these ``users``' tokens, and the bot's when ``bot``). Revoked tokens
    leave the store (``store`` is None with one bot token); without its bot token the
    workspace is marked uninstalled (:func:`bot.workspaces.mark_uninstalled`): its schedules
    stop and its pending deliveries are skipped. ``org_wide``: the event is about an org-wide
    install (``is_enterprise_install``), whose tokens are stored under the org alone.
    Returns how many deliveries were skipped."""
    if store is not None:
        for user_id in users:
            await store.async_delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )
        if bot:
            await store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
            if org_wide and enterprise_id:  # installed org-wide: stored under the org alone
                await store.async_delete_all(enterprise_id=enterprise_id, team_id=None)
    if not bot:
        return 0
    skipped = await workspaces.mark_uninstalled(runtime.db, team_id, runtime.clock)
    log.info("workspace %s: bot token revoked; %d pending deliveries skipped", team_id, skipped)
    return skipped


async def _here_or_before_grid(
    find: Callable[..., Awaitable[T | None]],
    enterprise_id: str | None,
    team_id: str | None,
    is_enterprise_install: bool | None,
    **more: str | None,
) -> T | None:
    """What the store's ``find`` has for the workspace; for a workspace in a Grid org with
    nothing stored under the org, what was installed before it joined the org (stored without
    one)."""
    found = await find(
        enterprise_id=enterprise_id,
        team_id=team_id,
        is_enterprise_install=is_enterprise_install,
        **more,
    )
    if found is None and enterprise_id and team_id and not is_enterprise_install:
        found = await find(enterprise_id=None, team_id=team_id, **more)
    return found


def workspace_clients(runtime: Runtime, bolt: AsyncApp) -> WorkspaceClients:
    """Each workspace's client for ``bolt``'s background work: the installation's bot token
    in OAuth mode, ``SLACK_BOT_TOKEN`` otherwise."""
    store = bolt.installation_store
    lookup = store.bot_token if isinstance(store, InstallationStore) else None
    return WorkspaceClients(runtime, lookup)
