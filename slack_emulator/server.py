"""The aiohttp server (Web API, upload URLs, response_url sinks, Socket Mode) and its thread."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from slack_emulator.api_methods import ApiError, Call, Result, WebApi
from slack_emulator.blockkit import error_response, validate_blocks, validate_view
from slack_emulator.delivery import Answer, HttpOverrides, SocketHub, post_http
from slack_emulator.limits import FailureInjector, RateLimiter
from slack_emulator.models import ApiCall, AppDelivery, JsonDict, ResponseUrlPost, ValidationFailure
from slack_emulator.oauth import OAuthServer
from slack_emulator.recorder import TrafficRecorder
from slack_emulator.state import WorkspaceState

T = TypeVar("T")

_STATUS_ERRORS = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}


async def _read_args(request: web.Request) -> JsonDict:
    """Arguments merged from the query string and a form or JSON body."""
    args: JsonDict = dict(request.query)
    if not request.body_exists:
        return args
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            args.update(data)
    else:
        form = await request.post()
        args.update({k: v if isinstance(v, str) else str(v) for k, v in form.items()})
    return args


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


class Core:
    """Request handling and delivery, running on the emulator's event loop."""

    def __init__(
        self,
        *,
        state: WorkspaceState,
        api: WebApi,
        recorder: TrafficRecorder,
        limiter: RateLimiter,
        failures: FailureInjector,
        hub: SocketHub,
        signing_secret: str,
    ) -> None:
        self.state = state
        self.api = api
        self.recorder = recorder
        self.limiter = limiter
        self.failures = failures
        self.hub = hub
        self.signing_secret = signing_secret
        self.http_url: str | None = None
        self.base_url = ""
        self.session: aiohttp.ClientSession | None = None
        self.extra: list[WebApi] = []  # more workspaces the app is installed in
        self.oauth = OAuthServer(self.api_for_team)

    # -- workspaces -------------------------------------------------------------

    def apis(self) -> list[WebApi]:
        """Every workspace's Web API, the first workspace first."""
        return [self.api, *self.extra]

    def api_for_token(self, token: str | None) -> WebApi:
        """The workspace a token belongs to (the first one for unknown tokens)."""
        for api in self.extra:
            if api.owns(token):
                return api
        return self.api

    def api_for_team(self, team_id: str | None) -> WebApi | None:
        """A workspace by team ID (None: the first workspace)."""
        if team_id is None:
            return self.api
        return next((a for a in self.apis() if a.state.team_id == team_id), None)

    def _api_of(self, info: JsonDict) -> WebApi:
        return self.api_for_team(info.get("team_id")) or self.api

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/api/{method}", self.handle_api)
        app.router.add_post("/upload/v1/{upload_id}", self.handle_upload)
        app.router.add_post("/response-url/{rid}", self.handle_response_url)
        app.router.add_get("/socket-mode/{ticket}", self.hub.handle)
        app.router.add_get("/oauth/v2/authorize", self.handle_authorize)
        return app

    # -- failure injection --------------------------------------------------

    async def _injected(self, request: web.Request, method: str) -> web.Response | None:
        """Apply an injected failure; returns the answer to send, if any."""
        rule = self.failures.pick(method)
        if rule is None:
            return None
        if rule.kind == "delay":
            await asyncio.sleep(rule.delay)
            return None
        if rule.kind == "drop":
            await request.read()
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        body = {"ok": False, "error": _STATUS_ERRORS.get(rule.status, "fatal_error")}
        headers = {"Retry-After": str(rule.retry_after)} if rule.status == 429 else {}
        return web.json_response(body, status=rule.status, headers=headers)

    # -- Web API --------------------------------------------------------------

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = _bearer(request) or (str(args["token"]) if args.get("token") else None)
        try:
            injected = await self._injected(request, method)
        except web.HTTPServiceUnavailable:
            self.recorder.call(ApiCall(method, args, 0, None, token=token))
            raise
        if injected is not None:
            body = json.loads(injected.text or "{}")
            self.recorder.call(ApiCall(method, args, injected.status, body, token=token))
            return injected
        call = Call(method, args, token)
        if method == "oauth.v2.access":
            try:
                body = self.oauth.access(call, request.headers.get("Authorization"))
            except ApiError as exc:
                body = exc.body()
            self.recorder.call(ApiCall(method, args, 200, body, token=token))
            return web.json_response(body)
        result = self._answer(call)
        self.recorder.call(ApiCall(method, args, result.status, result.body, token=token))
        return web.json_response(result.body, status=result.status, headers=result.headers)

    def _answer(self, call: Call) -> Result:
        """Slack's checks in turn: the method exists, the token, its scopes, the rate limits
        (the non-Marketplace history minute, then the tiers); then the method itself."""
        if not self.api.known(call.method):
            return Result({"ok": False, "error": "unknown_method"})
        api = self.api_for_token(call.token)
        refused = api.check_auth(call) or api.check_scope(call)
        if refused is not None:
            return refused
        team = api.state.team_id
        retry_after = api.history_limits.check(call.method, team)
        if retry_after is None:
            retry_after = self.limiter.check(call.method, call.args, team)
        if retry_after is not None:
            # "ratelimited: The request has been ratelimited. Refer to the Retry-After header
            # for when to retry the request." (slack-api-ref methods/conversations/
            # conversations.open.json); HTTP 429 (docs.slack.dev/apis/web-api/rate-limits)
            return Result(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(retry_after)},
            )
        return api.dispatch(call)

    async def handle_authorize(self, request: web.Request) -> web.StreamResponse:
        """The OAuth authorize page: the installer allows the app at once."""
        answer = self.oauth.authorize(dict(request.query))
        self.recorder.write(
            {
                "direction": "browser->slack",
                "kind": "oauth_authorize",
                "query": dict(request.query),
                "status": answer.status,
                "location": answer.location,
            }
        )
        if answer.location is not None:
            raise web.HTTPFound(answer.location)
        return web.Response(status=answer.status, text=answer.text)

    async def handle_upload(self, request: web.Request) -> web.StreamResponse:
        injected = await self._injected(request, "upload")
        if injected is not None:
            return injected
        content = b""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, aiohttp.BodyPartReader):
                    content = await part.read()
                    break
        else:
            content = await request.read()
        upload_id = request.match_info["upload_id"]
        known = any(api.receive_upload(upload_id, content) for api in self.apis())
        self.recorder.write(
            {
                "direction": "app->slack",
                "kind": "upload",
                "upload_id": upload_id,
                "bytes": len(content),
            }
        )
        if not known:
            return web.Response(status=404, text="invalid_upload_url")
        return web.Response(text=f"OK - {len(content)}")

    # -- response_url ---------------------------------------------------------

    async def handle_response_url(self, request: web.Request) -> web.StreamResponse:
        injected = await self._injected(request, "response_url")
        if injected is not None:
            return injected
        rid = request.match_info["rid"]
        url = f"{self.base_url}/response-url/{rid}"
        with self.state.lock:
            info = self.state.response_urls.get(rid)
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            body = None
        if info is None or not isinstance(body, dict):
            status, answer = 404 if info is None else 400, "invalid_payload"
            self._record_post(url, body if isinstance(body, dict) else {}, status, [], info or {})
            return web.Response(status=status, text="invalid_url" if info is None else answer)
        errors = self.apply_message_response(info, body, source="response_url")
        status = 400 if errors else 200
        self._record_post(url, body, status, errors, info)
        if errors:
            return web.json_response(error_response("invalid_blocks", errors), status=400)
        return web.json_response({"ok": True})

    def _record_post(
        self, url: str, body: JsonDict, status: int, errors: list[str], info: JsonDict
    ) -> None:
        st = self._api_of(info).state
        with st.lock:
            st.response_url_posts.append(ResponseUrlPost(url, body, status, errors))
        self.recorder.write(
            {
                "direction": "app->slack",
                "kind": "response_url",
                "url": url,
                "payload": body,
                "status": status,
                "errors": errors,
            }
        )

    def apply_message_response(self, info: JsonDict, body: JsonDict, *, source: str) -> list[str]:
        """Show a command/interaction response (ack body or response_url post) as Slack would."""
        blocks = body.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                blocks = "not json"
        errors = validate_blocks(blocks, "message") if blocks is not None else []
        if errors:
            self.recorder.failure(ValidationFailure(source, "message", errors, body))
            return errors
        blocks = blocks if isinstance(blocks, list) else []
        st = self._api_of(info).state
        channel_id = str(info.get("channel_id") or "")
        message_ts = info.get("message_ts")
        if body.get("delete_original") and message_ts:
            st.delete_message(channel_id, str(message_ts))
            return []
        if body.get("replace_original") and message_ts:
            with st.lock:
                original = st.get_message(channel_id, str(message_ts))
                if original is not None:
                    original["text"] = str(body.get("text") or "")
                    original["blocks"] = self.api.blocks_with_ids(blocks)
                    original["edited"] = {"user": st.bot_user_id, "ts": st.new_ts()}
                    return []
        if body.get("response_type") == "in_channel":
            st.store_message(
                {
                    "type": "message",
                    "channel": channel_id,
                    "ts": st.new_ts(),
                    "user": st.bot_user_id,
                    "bot_id": st.bot_id,
                    "app_id": st.app_id,
                    "team": st.team_id,
                    "text": str(body.get("text") or ""),
                    "blocks": self.api.blocks_with_ids(blocks),
                }
            )
            return []
        with st.lock:
            st.ephemerals.append(
                {
                    "channel": channel_id,
                    "user": info.get("user_id"),
                    "ts": st.new_ts(),
                    "text": str(body.get("text") or ""),
                    "blocks": self.api.blocks_with_ids(blocks),
                    "source": source,
                }
            )
        return []

    def new_response_url(self, info: JsonDict) -> str:
        rid = self.state.new_id("R") + "-" + str(time.time_ns())[-6:]
        with self.state.lock:
            self.state.response_urls[rid] = dict(info)
        return f"{self.base_url}/response-url/{rid}"

    # -- acks -----------------------------------------------------------------

    def apply_ack(self, kind: str, payload: JsonDict, body: Any, info: JsonDict) -> list[str]:
        """Apply what the app put in its ack, as Slack would; returns refusals."""
        if body is None or body == "":
            return []
        if kind == "slash_commands":
            message = body if isinstance(body, dict) else {"text": str(body)}
            return self.apply_message_response(info, message, source="ack")
        if kind == "view_submission" and isinstance(body, dict):
            return self._apply_view_ack(payload, body, self._api_of(info))
        if isinstance(body, dict) and body.get("blocks") is not None:
            errors = validate_blocks(body["blocks"], "message")  # Slack ignores it; we check
            if errors:
                self.recorder.failure(ValidationFailure("ack", "message", errors, body))
            return errors
        return []

    def _apply_view_ack(self, payload: JsonDict, body: JsonDict, api: WebApi) -> list[str]:
        action = body.get("response_action")
        user_id = payload["user"]["id"]
        current = payload["view"]
        if action in ("update", "push"):
            view = body.get("view")
            errors = validate_view(view, prefix="/view")
            if errors:
                self.recorder.failure(ValidationFailure("ack", "modal", errors, view))
                return errors
            assert isinstance(view, dict)
            view_id = current.get("id") if action == "update" else None
            try:
                stored = api.store_view(view, view_id=view_id, root=current.get("root_view_id"))
            except ApiError as exc:
                return [exc.code]
            api.record_view_event(f"ack_{action}", user_id, stored)
        elif action == "clear":
            api.record_view_event("ack_clear", user_id, copy.deepcopy(current))
        return []

    # -- delivery ---------------------------------------------------------------

    async def deliver(
        self,
        *,
        kind: str,
        payload: JsonDict,
        http_body: str,
        content_type: str,
        envelope: JsonDict,
        via: str | None,
        ack_wait: float,
        overrides: HttpOverrides,
        extra_headers: dict[str, str],
        info: JsonDict,
    ) -> AppDelivery:
        """Send one payload to the app (Socket Mode when connected, else HTTP)."""
        route = via or ("socket" if self.hub.count else "http")
        started = time.monotonic()
        answer: Answer
        if route == "socket":
            answer = await self.hub.send(envelope, ack_wait)
        else:
            if self.http_url is None:
                raise RuntimeError("the app is not connected: call connect_http() or open a socket")
            if self.session is None:
                self.session = aiohttp.ClientSession()
            answer = await post_http(
                self.session,
                self.http_url,
                body=http_body,
                content_type=content_type,
                signing_secret=self.signing_secret,
                ack_wait=ack_wait,
                overrides=overrides,
                extra_headers=extra_headers,
            )
        ack_kind = payload.get("type") if kind == "interactive" else kind
        errors: list[str] = []
        if answer.status and 200 <= answer.status < 300:
            errors = self.apply_ack(str(ack_kind), payload, answer.body, info)
        delivery = AppDelivery(
            kind=str(ack_kind),
            payload=payload,
            status=answer.status,
            body=answer.body,
            headers=answer.headers,
            via=route,
            envelope_id=envelope.get("envelope_id"),
            event_id=payload.get("event_id"),
            trigger_id=payload.get("trigger_id"),
            response_url=payload.get("response_url"),
            errors=errors,
            elapsed=time.monotonic() - started,
            timed_out=answer.timed_out,
        )
        self.recorder.delivery(delivery)
        return delivery

    async def shutdown(self) -> None:
        await self.hub.close_all()
        if self.session is not None:
            await self.session.close()
            self.session = None


class ThreadLoop:
    """An event loop in a daemon thread, serving one aiohttp app on a free loopback port."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self, timeout: float = 10.0) -> None:
        ready: Future[int] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="slack-emulator", daemon=True
        )
        self._thread.start()
        self.port = ready.result(timeout)

    def _run(self, ready: Future[int]) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            port = self.loop.run_until_complete(self._startup())
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(port)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self._cleanup())
            self.loop.close()

    async def _startup(self) -> int:
        self._runner = web.AppRunner(self.core.build_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        address = self._runner.addresses[0]
        return int(address[1])

    async def _cleanup(self) -> None:
        await self.core.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        self._thread = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the emulator loop from another thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine that runs on the emulator loop, without blocking the caller's."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))
