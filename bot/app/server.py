"""Running Trustbot: uvicorn for HTTP, plus Socket Mode when asked. Used by the CLI, the tests
and the demo alike, so all three take the same code path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import aiohttp
import uvicorn
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.app import jobs
from bot.app.bolt import create_app
from bot.app.front_door import LIMITS, FrontDoor
from bot.app.web import create_web_app
from bot.core import lease
from bot.core.deals import email_cache
from bot.runtime import Runtime
from bot.slack.installations import workspace_clients
from bot.slack.outbox_messages import DELIVERED_KINDS, compose
from bot.slack.sender import OutboxWorker, default_worker_id, make_outbox_client
from bot.slack.users import email_resolver

LEASE_TTL = timedelta(seconds=30)
LEASE_RENEW = timedelta(seconds=10)
ROLES = ("all", "web", "worker", "scheduler")

log = logging.getLogger(__name__)


class TrustbotServer:
    """One process's app: HTTP on ``host:port`` and, with ``socket_mode``, a Socket Mode link."""

    def __init__(
        self,
        runtime: Callable[[], Runtime],
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        socket_mode: bool = False,
        log_level: str = "info",
        schedule: bool = True,
        role: str = "all",
        front_door: FrontDoor = LIMITS,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        self._runtime = runtime
        self.role = role
        self.socket_mode = socket_mode
        self.sock = socket.create_server((host, port), reuse_port=False)
        # asyncio sets TCP_NODELAY only on sockets it creates; without it every small answer
        # waits ~40 ms for Nagle's algorithm
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host, self.port = self.sock.getsockname()[:2]
        self.log_level = log_level
        self.schedule = schedule and role in ("all", "scheduler")
        self.deliver = role in ("all", "worker")
        self.web = role in ("all", "web")
        self.front_door = front_door
        self.failure: str | None = None
        """Why the server stopped on its own (a refused SLACK_APP_TOKEN), else None."""
        self._server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def serve(self) -> None:
        """Serve until :meth:`stop` (or a signal, under the CLI)."""
        runtime = self._runtime()  # built on this loop: database connections belong to it
        bolt = create_app(runtime)
        background = Background(runtime, bolt, schedule=self.schedule, deliver=self.deliver)
        # only a dedicated scheduler is "not ready" while it waits for the lease
        leader = (lambda: background.leader) if self.role == "scheduler" else (lambda: None)
        web = create_web_app(
            runtime, bolt, slack_routes=self.web, leader=leader, front_door=self.front_door
        )
        # log_config=None: uvicorn's loggers write through ours (JSON, redacted), not its own
        config = uvicorn.Config(web, log_level=self.log_level, lifespan="on", log_config=None)
        self._server = _Uvicorn(config)
        await background.start()
        signals = self._handle_signals()
        link = None
        if self.socket_mode and self.web:  # in the background: serve and stop meanwhile
            link = SocketModeLink(bolt, runtime.settings.SLACK_APP_TOKEN or "", self._refused)
            link.start()
        try:
            await self._server.serve(sockets=[self.sock])
        finally:
            if link is not None:
                await link.close()
            await background.stop()
            await runtime.db.dispose()  # what the stopping worker used after the app's shutdown
            for signum in signals:
                asyncio.get_running_loop().remove_signal_handler(signum)

    def _handle_signals(self) -> tuple[signal.Signals, ...]:
        """SIGTERM or SIGINT (main thread only): stop gracefully, as :meth:`stop` does; a
        second one acts at once (the default handler is back)."""
        if threading.current_thread() is not threading.main_thread():
            return ()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)

        def graceful(signum: signal.Signals) -> None:
            log.info("%s: finishing the requests and deliveries in flight", signum.name)
            loop.remove_signal_handler(signum)
            self.stop()

        for signum in signals:
            loop.add_signal_handler(signum, graceful, signum)
        return signals

    def _refused(self, reason: str) -> None:
        """Slack refused the app-level token: stop, and let the CLI say why (exit 2)."""
        self.failure = reason
        self.stop()

    @property
    def started(self) -> bool:
        return bool(self._server and self._server.started)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True


REFUSED_TOKEN = frozenset(
    {"invalid_auth", "not_authed", "not_allowed_token_type", "account_inactive"}
    | {"token_revoked", "missing_scope"}
)
"""apps.connections.open's answers that no retry can change: a wrong or revoked token, a bot
token instead of an app-level one, no connections:write."""
LINK_RETRY_MAX = 60.0


class SocketModeLink:
    """The Socket Mode connection, opened in the background so that the process serves its
    HTTP endpoints (``/healthz``) and obeys SIGTERM while Slack is out of reach.

    The token is tried first with one ``apps.connections.open`` of our own: slack_sdk's
    client retries every failure (a refused token too) every 10 s, with a traceback each
    time. A refused token calls ``refused`` with one line saying so; an unreachable Slack is
    tried again, 1 s, 2 s, 4 s ... up to a minute apart, one warning line each time."""

    def __init__(self, bolt: AsyncApp, app_token: str, refused: Callable[[str], None]) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self.bolt = bolt
        self.app_token = app_token
        self.refused = refused
        self.handler = AsyncSocketModeHandler(bolt, app_token)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="socket-mode")

    async def _connect(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.bolt.client.apps_connections_open(app_token=self.app_token)
            except SlackApiError as error:
                code = str(error.response.get("error"))
                if code in REFUSED_TOKEN:
                    self.refused(
                        f"SLACK_APP_TOKEN was refused by Slack ({code}): expected an "
                        "app-level token (xapp-...) with connections:write, from Basic "
                        "Information › App-Level Tokens"
                    )
                    return
                log.warning("Socket Mode: Slack answered %s; trying again in %g s", code, delay)
            except Exception as error:  # Slack out of reach: serve meanwhile
                log.warning(
                    "Socket Mode: cannot reach Slack (%s); trying again in %g s",
                    type(error).__name__,
                    delay,
                )
            else:
                await self.handler.connect_async()
                log.info("connected to Slack over Socket Mode")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, LINK_RETRY_MAX)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.handler.close_async()


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: it re-raises a caught SIGTERM once HTTP is
    down, which ends the process before the outbox worker has finished its posts in flight
    and handed its other rows back. :class:`TrustbotServer` handles the signals instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Background:
    """What runs beside the request handlers: the outbox worker (any number of processes
    may run one) and, in exactly one process, the scheduler's jobs."""

    def __init__(
        self, runtime: Runtime, bolt: AsyncApp, *, schedule: bool, deliver: bool = True
    ) -> None:
        self.runtime = runtime
        self.bolt = bolt
        self.schedule = schedule
        self.deliver = deliver
        self.identity = default_worker_id()
        self.clients = workspace_clients(runtime, bolt)  # each workspace's token
        self.resolve_email = email_resolver(self.clients, email_cache(runtime))
        self.leader: bool | None = False if schedule else None
        self._leading: asyncio.Task[None] | None = None
        self._jobs: jobs.AsyncIOScheduler | None = None
        self._stop = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        runtime = self.runtime
        if self.deliver:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
            worker = OutboxWorker(
                runtime,
                make_outbox_client(runtime.settings, session=self._session),
                lambda row: compose(runtime, row),
                worker_id=self.identity,
                kinds=DELIVERED_KINDS,
                tokens=self.clients.token,
            )
            self._worker = asyncio.create_task(worker.run_forever(self._stop), name="outbox")
        if self.schedule:
            # the first try happens before requests are served
            await self._hold_lease()
            self._leading = asyncio.create_task(self._lead(), name="scheduler-lease")

    async def _lead(self) -> None:
        """Keep the lease while alive; a standby polls and takes over within
        :data:`LEASE_TTL` of the holder's death."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), LEASE_RENEW.total_seconds())
            if not self._stop.is_set():
                await self._hold_lease()

    async def _hold_lease(self) -> None:
        """Take or renew the scheduler lease; run the scheduler only while holding it."""
        try:
            held = await lease.acquire(
                self.runtime.db, lease.SCHEDULER, self.identity, LEASE_TTL, self.runtime.clock
            )
        except Exception:
            log.exception("could not reach the scheduler lease")
            held = False
        if held and self._jobs is None:
            log.info("holding the scheduler lease: starting the scheduler")
            self._jobs = self._build_jobs()
            self._jobs.start()
        elif not held and self._jobs is not None:
            log.warning("lost the scheduler lease: stopping the scheduler")
            self._jobs.shutdown(wait=False)
            self._jobs = None
        self.leader = held

    def _build_jobs(self) -> jobs.AsyncIOScheduler:
        return jobs.build(jobs.JobContext(self.runtime, self.clients, self.resolve_email))

    async def stop(self) -> None:
        """In-flight posts finish; rows not yet started go back to the outbox."""
        self._stop.set()
        if self._leading is not None:
            await self._leading
        if self._jobs is not None:
            self._jobs.shutdown(wait=False)
            await lease.release(self.runtime.db, lease.SCHEDULER, self.identity)
        if self._worker is not None:
            await self._worker
        if self._session is not None:
            await self._session.close()


class ServerThread:
    """A :class:`TrustbotServer` on a background thread with its own event loop (tests, demo)."""

    def __init__(self, server: TrustbotServer) -> None:
        self.server = server
        self._thread = threading.Thread(target=self._run, name="trustbot-server", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as error:  # surfaced by start()/stop()
            self._error = error

    def start(self, timeout: float = 15.0) -> ServerThread:
        self._thread.start()
        waited = 0.0
        while not self.server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the server did not start: {self._error!r}")
            if waited > timeout:
                raise TimeoutError("the server did not start in time")
            threading.Event().wait(0.02)
            waited += 0.02
        return self

    def stop(self) -> None:
        self.server.stop()
        self._thread.join(timeout=15)
        if self._error is not None:
            raise self._error

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
