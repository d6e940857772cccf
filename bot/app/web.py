"""The HTTP surface (Starlette): Slack's one URL, the deal webhooks, liveness, readiness, and
with ``SLACK_CLIENT_ID`` the OAuth install pages (``GET /slack/install``,
``GET /slack/oauth_redirect``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app.front_door import LIMITS, BodyDeadline, FrontDoor
from bot.app.salesforce_webhook import SalesforceWebhook
from bot.app.webhooks import DealWebhooks
from bot.core import deals, workspaces
from bot.core.deals import email_cache
from bot.runtime import Runtime, logs
from bot.slack.installations import INSTALL_PATH, REDIRECT_PATH, workspace_clients
from bot.slack.users import email_resolver

log = logging.getLogger(__name__)


async def confirm_single_install(runtime: Runtime, bolt: AsyncApp) -> None:
    """Single-workspace mode: the settings' token answers ``auth.test``, so the app is
    installed in its workspace (after an uninstall, a new install and a restart bring the
    workspace's schedules back)."""
    try:
        answer = await bolt.client.auth_test()
        team_id = str(answer["team_id"])
        await workspaces.mark_installed(
            runtime.db, team_id, runtime.clock, str(answer.get("team") or "")
        )
    except Exception as error:  # Slack or the database not reachable: try at next start
        log.warning("could not confirm the workspace of SLACK_BOT_TOKEN: %s", error)


def create_web_app(
    runtime: Runtime,
    bolt: AsyncApp,
    *,
    slack_routes: bool = True,
    leader: Callable[[], bool | None] = lambda: None,
    front_door: FrontDoor = LIMITS,
) -> Starlette:
    """``leader`` says whether this process holds the scheduler lease (None: it does not
    run the scheduler), for ``/readyz``. Every route reads its body within ``front_door``'s
    size and time limits (:mod:`bot.app.front_door`)."""
    slack = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        if request.method != "POST":
            return await slack.handle(request)  # the OAuth pages
        body = await request.body()  # within the front door's size and time limits
        try:  # Bolt parses the body before checking the signature, and raises on garbage
            bolt_request = to_async_bolt_request(request, body)
        except Exception:  # not UTF-8, not JSON, not an object: nothing Slack sends
            return JSONResponse({"error": "the body is not a Slack request"}, status_code=400)
        return to_starlette_response(await bolt.async_dispatch(bolt_request))

    async def healthz(_: Request) -> Response:
        if await runtime.db.ping():
            return JSONResponse({"ok": True})
        return JSONResponse({"ok": False, "error": "database unreachable"}, status_code=503)

    async def readyz(_: Request) -> Response:
        checks = {"database": await runtime.db.ping()}
        holds = leader()
        if holds is not None:
            checks["scheduler_lease"] = holds
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"ok": status == 200, **checks}, status_code=status)

    oauth = runtime.settings.oauth_enabled
    hooks = DealWebhooks(
        runtime,
        # a webhook names no workspace: with OAuth, the one installed workspace (503 while
        # there are several); with one bot token, the token's
        workspace=(lambda: workspaces.only_installed(runtime.db))
        if oauth
        else deals.single_workspace(runtime, bolt.client.auth_test),  # type: ignore[arg-type]
        resolve_email=email_resolver(workspace_clients(runtime, bolt), email_cache(runtime)),
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        confirm = None
        if not oauth and slack_routes and runtime.settings.SLACK_BOT_TOKEN:
            confirm = asyncio.create_task(confirm_single_install(runtime, bolt))
        yield
        if confirm is not None:
            confirm.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await confirm
        await hooks.aclose()
        await runtime.db.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if slack_routes:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
        routes += hooks.routes()  # POST /webhooks/deals, POST /webhooks/hubspot
        routes += SalesforceWebhook(hooks).routes()  # POST /webhooks/salesforce
        if oauth:  # Bolt's OAuth flow: the "Add to Slack" page and Slack's redirect back
            routes.append(Route(INSTALL_PATH, slack_events, methods=["GET"]))
            routes.append(Route(REDIRECT_PATH, slack_events, methods=["GET"]))
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(logs.RequestIds),
            Middleware(BodyDeadline, seconds=front_door.body_timeout),
        ],
        exception_handlers=front_door.exception_handlers(),  # type: ignore[arg-type]
        max_body_size=front_door.max_body,
    )
