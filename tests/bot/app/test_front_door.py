"""The HTTP front door under attack (bot/app/front_door.py): bodies too big to hold and bodies
too slow to wait for, on every route, against ``trustbot serve`` as it runs in production."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.app.front_door import MAX_BODY, FrontDoor
from bot.app.server import ServerThread, TrustbotServer
from bot.runtime import Runtime
from bot.runtime.settings import load_settings
from bot.storage import Database
from slack_emulator import SlackEmulator
from tests.support.cli import SERVE_SETTINGS, Running, running, trustbot
from tests.support.slack_app import APP_SCOPES

pytestmark = pytest.mark.slow

MB = 1024 * 1024
ROUTES = ("/slack/events", "/webhooks/deals", "/webhooks/hubspot", "/webhooks/salesforce")


def rss_kib(pid: int) -> int:
    """The process's resident set size now (Linux /proc), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class PeakRss:
    """Samples a process's RSS every few milliseconds on a thread, keeping the highest."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.002)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP/1.1 answer."""
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer.split(b" ", 2)[1])


def read_answer(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """What the server sent until it closed the connection or went quiet after its headers."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return data


def upload(port: int, path: str, size: int, *, chunked: bool) -> bytes:
    """POST ``size`` bytes of junk (unsigned) to ``path``, 1 MiB at a time, as fast as the
    server takes them; the server's answer. With ``chunked`` no length is announced, so the
    server cannot refuse the body before reading it."""
    piece = b"x" * MB
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: trustbot\r\nContent-Type: application/json\r\n"
        head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {size}\r\n"
        sock.sendall(head.encode() + b"\r\n")
        sent = 0
        try:
            while sent < size:
                sock.sendall(b"%x\r\n%s\r\n" % (MB, piece) if chunked else piece)
                sent += MB
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer is already on its way
        return read_answer(sock)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """``trustbot serve`` on a migrated SQLite database (Slack itself is never called here)."""
    tmp_path = tmp_path_factory.mktemp("front-door")
    assert trustbot(tmp_path, "migrate").returncode == 0
    with running(
        tmp_path, "serve", SLACK_API_URL="http://127.0.0.1:9/api/", **SERVE_SETTINGS
    ) as server:
        yield server


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_attack_100mb_unsigned_body_costs_under_20mb_and_gets_413(
    served: Running, chunked: bool
) -> None:
    """Attack: one unsigned 100 MB request to Slack's URL (on main it was read whole and
    parsed by Bolt before the signature check: 4.2 GB RSS for 50 MB)."""
    pid = served.proc.pid
    before = rss_kib(pid)
    with PeakRss(pid) as rss:
        answer = upload(served.port, "/slack/events", 100 * MB, chunked=chunked)
    after = rss_kib(pid)
    grew = (rss.peak - before) / 1024
    print(
        f"\n100 MB {'chunked' if chunked else 'with Content-Length'} to /slack/events: RSS "
        f"{before / 1024:.1f} MB before, peak {rss.peak / 1024:.1f} MB, {after / 1024:.1f} MB "
        f"after: +{grew:.1f} MB; answer {status_of(answer)}"
    )
    assert status_of(answer) == 413
    assert answer.endswith(b"Content Too Large")
    assert grew < 20
    assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200  # still serving


@pytest.mark.parametrize("path", ROUTES)
def test_attack_oversized_bodies_on_every_route_get_413(served: Running, path: str) -> None:
    """Attack: a body just over the cap, without a length, on each POST route."""
    answer = upload(served.port, path, MAX_BODY + MB, chunked=True)
    assert status_of(answer) == 413


def test_a_body_at_the_cap_still_reaches_the_route(served: Running) -> None:
    """The cap is exact: 1 MiB of junk is read and refused for what it is (not signed)."""
    reply = httpx.post(f"{served.url}/webhooks/deals", content=b"x" * MAX_BODY, timeout=10)
    assert reply.status_code == 401


# -- slow bodies ----------------------------------------------------------------------------


@pytest.fixture
def quick_deadline(sqlite_url: str) -> Iterator[ServerThread]:
    """The app with a 1 s body deadline (10 s in production), so that a test can wait it out."""
    token, secret = SERVE_SETTINGS["SLACK_BOT_TOKEN"], SERVE_SETTINGS["SLACK_SIGNING_SECRET"]
    with SlackEmulator(scopes=APP_SCOPES, bot_token=token, signing_secret=secret) as emu:
        database = {"SLACK_API_URL": emu.api_url, "TRUSTBOT_DATABASE_URL": sqlite_url}
        settings = load_settings(**SERVE_SETTINGS, **database)
        server = TrustbotServer(
            lambda: Runtime(settings=settings, db=Database(sqlite_url)),
            port=0,
            log_level="warning",
            schedule=False,
            front_door=FrontDoor(body_timeout=1.0),
        )
        with ServerThread(server) as thread:
            yield thread


def trickle(port: int, path: str, seconds: float) -> tuple[bytes, float]:
    """Announce a 1,000-byte body, then send it a byte every 50 ms for up to ``seconds``; what
    the server answered, and how long until it hung up (``seconds`` if it never did)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: trustbot\r\nContent-Length: 1000\r\n\r\n".encode()
        )
        started = time.monotonic()
        sock.settimeout(0.05)
        answer = b""
        while time.monotonic() - started < seconds:
            try:
                sock.sendall(b"x")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                return answer, time.monotonic() - started
            if not chunk:  # the server closed the connection
                return answer, time.monotonic() - started
            answer += chunk
        return answer, seconds


@pytest.mark.parametrize("path", ROUTES)
def test_attack_a_body_trickled_byte_by_byte_is_cut_off(
    quick_deadline: ServerThread, path: str
) -> None:
    """Attack: slowloris, a body sent one byte at a time so that a request never ends (on
    main nothing timed it out: the connection and its task were held for as long as the
    client liked)."""
    answer, hung_up_after = trickle(quick_deadline.server.port, path, seconds=6)
    assert hung_up_after < 4, "the connection was still open after 6 s"
    assert status_of(answer) == 408
    assert b"longer than 1 s" in answer


async def test_a_body_that_arrives_in_time_in_pieces_is_read() -> None:
    """The deadline counts the whole body, not each piece; a body that makes it is untouched."""
    from bot.app.front_door import BodyDeadline

    seen: list[bytes] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        body = b""
        more = True
        while more:
            message = await receive()  # type: ignore[operator]
            body += message.get("body", b"")
            more = message.get("more_body", False)
        seen.append(body)

    pieces = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    ]

    async def receive() -> dict[str, object]:
        await asyncio.sleep(0.01)
        return pieces.pop(0)

    await BodyDeadline(app, seconds=1)({"type": "http"}, receive, None)  # type: ignore[arg-type]
    assert seen == [b"abcd"]


async def test_a_route_busy_past_the_deadline_without_reading_is_left_alone() -> None:
    """The deadline is for the body: a route that answers slowly (a database that takes
    its time) without reading the body is not cut off."""
    from bot.app.front_door import BodyDeadline

    sent: list[dict[str, object]] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200})  # type: ignore[operator]

    async def receive() -> dict[str, object]:
        raise AssertionError("not read")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await BodyDeadline(app, seconds=0.05)({"type": "http"}, receive, send)  # type: ignore[arg-type]
    assert sent == [{"type": "http.response.start", "status": 200}]
