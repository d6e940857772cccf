"""Time to the ack: bursts of 200 concurrent signed requests against ``trustbot serve``.

``trustbot serve`` runs in its own process on a migrated SQLite database, with the project's
Slack emulator (in this process) as ``SLACK_API_URL``. A team of 200 reps is set up through
``/trust`` first and its check-in is sent, so every request does its real work after the ack:
``/trust status`` from an admin, a click on a check-in answer button (each rep their own DM),
and an ``app_home_opened`` event (each with a new ``event_id``). Payloads come from the
emulator's builders (:mod:`bot.emulator.payloads`), signed as Slack signs them.

The baselines, measured in the same run with the same client and the same bodies: two bare
Bolt apps on uvicorn, each in its own process, whose listeners only ack: the async one
(``AsyncApp`` behind the async Starlette handler) and the sync one (``App`` behind the sync
Starlette handler, which runs ``dispatch`` on the event loop). The servers take turns, burst
by burst. Each request's time is from sending it to reading the answer. Prints p50/p99 per
server and kind, and the ratio trustbot p99 / bare async p99 (target at most 1.5); returns
``{name, value, unit, baseline, ratio, target, met, details}``.

    python -m bench.ack [--burst 200] [--rounds 3]

The emulator shares this process with the load generator: the Web API calls trustbot makes
after its acks (ephemeral answers, chat.update, views.publish) cost this process some time
during the bursts, which the bare apps never cause; the figure is, if anything, pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import socket
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp

from bench._common import (
    SIGNING_SECRET,
    Child,
    app_env,
    cli,
    emulator,
    free_port,
    percentile,
    python,
    trustbot,
    wait_http,
)

NAME = "ack p99, 200 concurrent requests"
TARGET = 1.5  # trustbot's p99 at most 1.5x the bare async app's
BURST = 200
ROUNDS = 3
BOT_TOKEN = "xoxb-bench"
ADMIN = "U0ADMIN"
CHANNEL = "C0SALES"
KINDS = ("command", "click", "event")
SERVERS = ("trustbot", "bare async", "bare sync")
ANSWER_PREFIX = "checkin.answer:"


# --------------------------------------------------------------------------- bare apps


def _serve_bare(kind: str, port: int, api_url: str) -> None:
    """Child process: a Bolt app whose listeners only ack, on uvicorn (as trustbot runs it)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    logging.disable(logging.WARNING)
    endpoint: Any
    if kind == "async":
        from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
        from slack_bolt.async_app import AsyncAck, AsyncApp
        from slack_sdk.web.async_client import AsyncWebClient

        app = AsyncApp(
            signing_secret=SIGNING_SECRET,
            token=BOT_TOKEN,
            client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
        )

        async def acks(ack: AsyncAck) -> None:
            await ack()

        app.command("/trust")(acks)
        app.action(re.compile(".*"))(acks)

        @app.event("app_home_opened")
        async def home(event: dict[str, Any]) -> None:
            return None

        handler = AsyncSlackRequestHandler(app)

        async def endpoint(req: Request) -> Response:
            return await handler.handle(req)

    else:
        from slack_bolt import Ack, App
        from slack_bolt.adapter.starlette.handler import SlackRequestHandler
        from slack_sdk.web import WebClient

        sync_app = App(
            signing_secret=SIGNING_SECRET,
            token=BOT_TOKEN,
            client=WebClient(token=BOT_TOKEN, base_url=api_url),
        )

        def sync_acks(ack: Ack) -> None:
            ack()

        sync_app.command("/trust")(sync_acks)
        sync_app.action(re.compile(".*"))(sync_acks)

        @sync_app.event("app_home_opened")
        def sync_home(event: dict[str, Any]) -> None:
            return None

        sync_handler = SlackRequestHandler(sync_app)

        async def endpoint(req: Request) -> Response:
            return await sync_handler.handle(req)

    web = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    sock = socket.create_server(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as TrustbotServer does
    config = uvicorn.Config(web, log_level="warning", lifespan="on")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


# --------------------------------------------------------------------------- requests


def _find_answer_button(message: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for block in message.get("blocks") or []:
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if (
                isinstance(element, dict)
                and element.get("type") == "button"
                and str(element.get("action_id", "")).startswith(ANSWER_PREFIX)
            ):
                return str(block.get("block_id", "")), element
    return None


class Requests:
    """Signed request bodies built with the emulator's payload builders (fresh ones per burst:
    new trigger ids, response URLs and event ids)."""

    def __init__(self, emu: Any, reps: list[str]) -> None:
        self.emu = emu
        self.reps = reps
        self.buttons: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {}

    def find_buttons(self) -> int:
        for rep in self.reps:
            for message in reversed(self.emu.dm_messages(rep)):
                found = _find_answer_button(message)
                if found:
                    self.buttons[rep] = (message, *found)
                    break
        return len(self.buttons)

    def bodies(self, kind: str, n: int) -> list[tuple[str, str]]:
        """``n`` (content type, body) pairs of ``kind``."""
        from slack_emulator import payloads
        from slack_emulator.delivery import form_body, interactive_body

        emu, state = self.emu, self.emu.state
        out: list[tuple[str, str]] = []
        form = "application/x-www-form-urlencoded"
        for i in range(n):
            if kind == "command":
                channel = emu.dm_channel_id(ADMIN)
                info = {"kind": "command", "channel_id": channel, "user_id": ADMIN}
                fields = payloads.command_fields(
                    state,
                    command="/trust",
                    text="status",
                    user_id=ADMIN,
                    channel_id=channel,
                    channel_name="directmessage",
                    trigger_id=state.issue_trigger(ADMIN),
                    response_url=emu.core.new_response_url(info),
                    verification_token=emu.verification_token,
                )
                out.append((form, form_body(fields)))
            elif kind == "click":
                rep = self.reps[i % len(self.reps)]
                message, block_id, element = self.buttons[rep]
                channel = emu.dm_channel_id(rep)
                info = {"kind": "block_actions", "user_id": rep, "channel_id": channel}
                payload = payloads.block_actions_payload(
                    state,
                    user_id=rep,
                    actions=[payloads.click_action(block_id, element)],
                    trigger_id=state.issue_trigger(rep),
                    verification_token=emu.verification_token,
                    message={**message, "channel": channel},
                    channel_id=channel,
                    response_url=emu.core.new_response_url(info),
                )
                out.append((form, interactive_body(payload)))
            else:
                rep = self.reps[i % len(self.reps)]
                event = {
                    "type": "app_home_opened",
                    "user": rep,
                    "channel": emu.dm_channel_id(rep),
                    "tab": "home",
                }
                envelope = payloads.event_envelope(
                    state,
                    event=event,
                    event_id=payloads.new_event_id(),
                    verification_token=emu.verification_token,
                )
                out.append(("application/json", json.dumps(envelope)))
        return out


async def _burst(url: str, bodies: list[tuple[str, str]]) -> tuple[list[float], dict[int, int]]:
    """All requests at once; each one's seconds to its answer, and the answers by status."""
    from slack_emulator.delivery import slack_signature

    statuses: dict[int, int] = defaultdict(int)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(content_type: str, body: str) -> float:
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": slack_signature(SIGNING_SECRET, stamp, body),
            }
            started = time.perf_counter()
            try:
                async with session.post(url, data=body.encode(), headers=headers) as reply:
                    await reply.read()
                    statuses[reply.status] += 1
            except (TimeoutError, aiohttp.ClientError):
                statuses[0] += 1
            return time.perf_counter() - started

        latencies = await asyncio.gather(*(one(t, b) for t, b in bodies))
    return list(latencies), dict(statuses)


# --------------------------------------------------------------------------- set-up


def _setup_team(emu: Any, reps: list[str]) -> None:
    """``/trust team create``, ``team add`` the reps, send this week's check-in."""

    def trust(text: str) -> None:  # the work runs after the ack: wait for its answer
        before = len(emu.response_url_posts())
        delivery = emu.send_command("/trust", text, user_id=ADMIN, ack_timeout=10)
        if delivery.status != 200:
            raise RuntimeError(f"/trust {text}: {delivery.status} {delivery.body}")
        _wait(lambda: len(emu.response_url_posts()) > before, 60, f"/trust {text}")

    trust(f"team create sales <#{CHANNEL}|sales>")
    for start in range(0, len(reps), 50):
        trust("team add sales " + " ".join(f"<@{r}>" for r in reps[start : start + 50]))
    trust("checkin sales now")


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


# --------------------------------------------------------------------------- main


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=0.0) * 1000, 1),
    }


def run(burst: int = BURST, rounds: int = ROUNDS) -> dict[str, Any]:
    from bot.storage.migrate import upgrade

    reps = [f"U0REP{i:04d}" for i in range(burst)]
    times: dict[str, dict[str, list[float]]] = {s: defaultdict(list) for s in SERVERS}
    statuses: dict[str, dict[int, int]] = {s: defaultdict(int) for s in SERVERS}
    with tempfile.TemporaryDirectory(prefix="trustbot-bench-ack-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(database_url)
        with emulator(BOT_TOKEN, SIGNING_SECRET) as emu:
            emu.add_user(ADMIN, name="admin", tz="Europe/London", is_admin=True)
            for rep in reps:
                emu.add_user(rep, name=rep.lower(), tz="Europe/London")
            emu.add_channel(CHANNEL, name="sales-managers")
            ports = {server: free_port() for server in SERVERS}
            env = app_env(emu.api_url, database_url, BOT_TOKEN, ADMIN)
            app = trustbot(
                "serve", "--host", "127.0.0.1", "--port", str(ports["trustbot"]),
                "--log-level", "warning",
            )  # fmt: skip
            bare = {
                kind: python("-m", "bench.ack", "--serve-bare", kind, str(ports[f"bare {kind}"]),
                             emu.api_url)
                for kind in ("async", "sync")
            }  # fmt: skip
            log = Path(tmp) / "servers.log"
            with (
                Child(app, env, log=log) as main_app,
                Child(bare["async"], env, log=log) as bare_async,
                Child(bare["sync"], env, log=log) as bare_sync,
            ):
                urls = {s: f"http://127.0.0.1:{p}/slack/events" for s, p in ports.items()}
                wait_http(f"http://127.0.0.1:{ports['trustbot']}/healthz", main_app.process)
                wait_http(urls["bare async"], bare_async.process)
                wait_http(urls["bare sync"], bare_sync.process)
                emu.connect_http(urls["trustbot"])
                _setup_team(emu, reps)
                requests = Requests(emu, reps)
                _wait(lambda: requests.find_buttons() == len(reps), 120, "the check-in DMs")

                async def measure() -> None:
                    for url in urls.values():  # warm-up: connections, imports, caches
                        await _burst(url, requests.bodies("command", 20))
                    await asyncio.sleep(1.0)
                    for _ in range(rounds):
                        for kind in KINDS:
                            for server, url in urls.items():
                                lat, st = await _burst(url, requests.bodies(kind, burst))
                                times[server][kind].extend(lat)
                                for status, n in st.items():
                                    statuses[server][status] += n
                                await asyncio.sleep(1.0)  # let post-ack work settle

                asyncio.run(measure())
                server_log = log.read_text(errors="replace")[-2000:]

    every = {s: [t for kind in KINDS for t in times[s][kind]] for s in SERVERS}
    figures = {s: _summary(every[s]) for s in SERVERS}
    per_kind = {s: {kind: _summary(times[s][kind]) for kind in KINDS} for s in SERVERS}
    value = figures["trustbot"]["p99_ms"] / 1000
    baseline = figures["bare async"]["p99_ms"] / 1000
    ratio = value / baseline if baseline else float("inf")
    refused = {s: {k: v for k, v in statuses[s].items() if k != 200} for s in SERVERS}
    result: dict[str, Any] = {
        "name": NAME,
        "value": round(value, 4),
        "unit": "s",
        "baseline": round(baseline, 4),
        "ratio": round(ratio, 2),
        "target": TARGET,
        "met": ratio <= TARGET and not refused["trustbot"],
        "details": {
            "burst": burst,
            "rounds": rounds,
            "requests_per_server": len(every["trustbot"]),
            "servers": figures,
            "per_kind": per_kind,
            "bare_sync_p99_s": round(figures["bare sync"]["p99_ms"] / 1000, 4),
            "not_200": refused,
        },
    }
    print(f"{NAME}: {burst} at once per burst, {rounds} rounds of {', '.join(KINDS)}")
    print(f"  {'server':<12}{'kind':<9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for server in SERVERS:
        for kind in (*KINDS, "all"):
            f = figures[server] if kind == "all" else per_kind[server][kind]
            print(
                f"  {server:<12}{kind:<9}{f['p50_ms']:>9.1f}{f['p99_ms']:>9.1f}{f['max_ms']:>9.1f}"
            )
    print(
        f"  ratio        : {ratio:.2f} (trustbot p99 / bare async p99, target <= {TARGET})"
        f" {'met' if result['met'] else 'NOT met'}"
    )
    if any(refused.values()):
        print(f"  answers other than 200: {refused}")
        print(server_log)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["--serve-bare"]:  # the child process of a bare app
        _serve_bare(args_in[1], int(args_in[2]), args_in[3])
        return {}
    parser = argparse.ArgumentParser(prog="python -m bench.ack", description=__doc__)
    parser.add_argument("--burst", type=int, default=BURST, help="requests at once")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="bursts per server and kind")
    result: dict[str, Any] = cli(parser, run, args_in)
    return result


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    outcome = main()
    sys.exit(0 if outcome.get("met", True) else 1)
