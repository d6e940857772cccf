"""The HTTP surface (Starlette): Slack's one URL, the deal webhooks, liveness, readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import deals
from bot.runtime import Runtime
from bot.webhooks import DealWebhooks, email_resolver


def create_web_app(
    runtime: Runtime,
    bolt: AsyncApp,
    *,
    slack_routes: bool = True,
    leader: Callable[[], bool | None] = lambda: None,
) -> Starlette:
    """``leader`` says whether this process holds the scheduler lease (None: it does not
    run the scheduler), for ``/readyz``."""
    slack = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        return await slack.handle(request)

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

    hooks = DealWebhooks(
        runtime,
        workspace=deals.single_workspace(runtime, bolt.client.auth_test),  # type: ignore[arg-type]
        resolve_email=email_resolver(bolt.client, deals.EmailCache(runtime.clock)),
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await hooks.aclose()
        await runtime.db.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if slack_routes:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
        routes += hooks.routes()  # POST /webhooks/deals, POST /webhooks/hubspot
    return Starlette(routes=routes, lifespan=lifespan)
