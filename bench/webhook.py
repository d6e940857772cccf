"""Deal webhook throughput: sustained accepted events per second on loopback.

A real uvicorn serves ``POST /webhooks/deals`` (signature, schema, de-duplication in the
database, and the background step planning nudges for 50 reps) in a child process; an
aiohttp client keeps ``--concurrency`` requests in flight. One request in ten repeats an
event already sent (answered ``200 duplicate``, not stored). The baseline, measured in the
same run with the same client, is a bare Starlette endpoint on uvicorn that only answers 202.
The two servers take turns (``--rounds``), so that load from elsewhere on the machine hits
both alike, and the ratio is the median of each round's (a round is the bare endpoint, then
the deal webhook, back to back): the bare endpoint's rate moved by a third between runs
minutes apart on a 2-core machine while the deal webhook's stayed within a tenth, and a
ratio of totals carried that drift. The ratio of totals is printed too. Prints the figure,
the baseline and their ratio (target at least 0.5) and returns ``{name, value, unit,
baseline, ratio, target, met, details}``.

    python -m bench.webhook [--seconds 6] [--rounds 6] [--concurrency 32] [--database-url URL]
                            [--nudges 40]

Then the webhook-to-DM latency: the whole app (``TrustbotServer``, web + worker + scheduler,
as ``trustbot serve`` runs it) in a child process against the project's Slack emulator in
this one, on a clock shifted to a Wednesday noon so every rep is in working hours whatever
day the bench runs. ``--nudges`` new deals for as many reps arrive one every 0.2 s; each
latency is from sending the webhook to the nudge DM's ``ts`` in the emulator (both this
process's wall clock). Target: p95 at most 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench._common import (
    PSEUDONYM_KEY,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    app_env,
    emulator,
    free_port,
)

NAME = "deal webhook: accepted events/s (with de-duplication)"
TARGET = 0.5  # at least half the throughput of a bare 202 endpoint
DM_P95_TARGET = 2.0  # seconds from the webhook to the nudge DM (p95), in working hours
NUDGE_EVERY = 0.2  # seconds between the latency phase's webhooks
BOT_TOKEN = "xoxb-bench-webhook"
SECRET = WEBHOOK_SECRET
KEY = PSEUDONYM_KEY
WORKSPACE = "T0BENCH"
REPS = [f"U0BENCH{n:03d}" for n in range(50)]
DUPLICATE_EVERY = 10
READY_WITHIN = 30.0  # seconds for a server to start
_numbers = itertools.count()  # event numbers, unique across rounds


# --------------------------------------------------------------------------- servers


def _serve(kind: str, database_url: str, sock: socket.socket) -> None:
    """Child process: serve ``kind`` ("deals" or "bare") on ``sock`` until terminated."""
    import logging

    import uvicorn

    logging.disable(logging.WARNING)  # a flood of INFO lines would be part of the figure
    app = _bare_app() if kind == "bare" else _deals_app(database_url)
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="on")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def _bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def accept(_: Request) -> Response:
        return JSONResponse({"accepted": True}, status_code=202)

    return Starlette(routes=[Route("/webhooks/deals", accept, methods=["POST"])])


def _deals_app(database_url: str) -> Any:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette

    from bot.app.webhooks import DealWebhooks
    from bot.core import deals
    from bot.runtime import Runtime
    from bot.runtime.settings import load_settings
    from bot.storage import Database

    settings = load_settings(
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_WEBHOOK_SECRET=SECRET,
        TRUSTBOT_PSEUDONYM_KEY=KEY,
    )
    holder: dict[str, DealWebhooks] = {}

    async def no_email(workspace_id: str, email: str) -> str | None:
        return None  # the bench names reps by Slack ID

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = Runtime(settings=settings, db=Database(database_url))
        hooks = DealWebhooks(
            runtime, workspace=deals.single_workspace(runtime), resolve_email=no_email
        )
        holder["hooks"] = hooks
        app.router.routes.extend(hooks.routes())
        yield
        await hooks.aclose()
        await runtime.db.dispose()

    return Starlette(lifespan=lifespan)


def _prepare_database(database_url: str) -> None:
    from bot.core import teams
    from bot.core.workspaces import ensure_workspace
    from bot.runtime.clock import SystemClock
    from bot.storage import Database
    from bot.storage.migrate import upgrade

    upgrade(database_url)

    async def setup() -> None:
        db = Database(database_url)
        clock = SystemClock()
        try:
            await ensure_workspace(db, WORKSPACE, clock)
            await teams.create(db, WORKSPACE, "U0ADMIN", "bench", "C0BENCH", clock)
            await teams.add_people(db, WORKSPACE, "U0ADMIN", "bench", REPS, teams.REP, clock)
        finally:
            await db.dispose()

    asyncio.run(setup())


def _count_stored(database_url: str) -> Counter[str]:
    """Deal events by status."""
    from sqlalchemy import func
    from sqlmodel import select

    from bot.storage import Database
    from bot.storage.models import DealEvent

    async def count() -> Counter[str]:
        db = Database(database_url)
        try:
            async with db.session() as s:
                rows = (
                    await s.exec(select(DealEvent.status, func.count()).group_by(DealEvent.status))
                ).all()
        finally:
            await db.dispose()
        return Counter({status: int(n) for status, n in rows})

    return asyncio.run(count())


def _wait_processed(database_url: str, timeout: float = 30.0) -> float:
    """Seconds until the background step has planned every accepted event."""
    started = time.perf_counter()
    while _count_stored(database_url)["accepted"] and time.perf_counter() - started < timeout:
        time.sleep(0.1)
    return time.perf_counter() - started


class Served:
    """A child process serving one app on a free loopback port."""

    def __init__(self, kind: str, database_url: str = "") -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, which
        # create_server's is not; without it every answer waits ~40 ms for a delayed ACK
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(
            target=_serve, args=(kind, database_url, self.sock), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/deals"

    def __enter__(self) -> Served:
        self.process.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.kill()
        self.sock.close()


# --------------------------------------------------------------------------- client


@dataclass
class Load:
    seconds: float
    concurrency: int
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    sent: int = 0

    def rate(self, status: int | None = None) -> float:
        done = self.sent if status is None else self.statuses[status]
        return done / self.elapsed if self.elapsed else 0.0


CHANGES = ("created", "stage_changed", "close_date_changed", "amount_changed")


def _deal(event_id: str, deal_id: str, n: int, change: str, **values: str) -> bytes:
    """A deal update as the webhook takes it (PRODUCT.md), for the ``n``-th rep."""
    rep = {"slack_user_id": REPS[n % len(REPS)]}
    update = {"event_id": event_id, "deal_id": deal_id, "deal_name": f"Deal {deal_id}"}
    return json.dumps(
        {**update, "rep": rep, "change": change, "occurred_at": "2026-11-22T10:00:00Z", **values}
    ).encode()


def _body(n: int) -> bytes:
    deal, change = f"D-{n % 5000}", CHANGES[n % 4]
    return _deal(f"bench-{os.getpid()}-{n}", deal, n, change, to="2027-01-15", **FROM)


FROM = {"from": "2026-11-30"}  # a keyword Python reserves


def _headers(body: bytes, offset: float = 0.0) -> dict[str, str]:
    """Signed headers, timestamped by the server's clock (``offset`` s from ours)."""
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(time.time() + offset))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    return {
        "Content-Type": "application/json",
        "X-Trustbot-Request-Timestamp": timestamp,
        "X-Trustbot-Signature": signature or "",
    }


async def _wait_ready(url: str) -> None:
    import aiohttp

    deadline = time.monotonic() + READY_WITHIN
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as reply:  # 405: the server is up
                    await reply.read()
                    return
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)


async def _drive(url: str, seconds: float, concurrency: int, warmup: float) -> Load:
    import aiohttp

    load = Load(seconds, concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(measure: bool) -> None:
            n = next(_numbers)
            body = _body(n - 1 if n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 else n)
            started = time.perf_counter()
            async with session.post(url, data=body, headers=_headers(body)) as reply:
                await reply.read()
            if measure:
                load.statuses[reply.status] += 1
                load.latencies.append(time.perf_counter() - started)
                load.sent += 1

        async def worker(until: float, measure: bool) -> None:
            while time.perf_counter() < until:
                await one(measure)

        until = time.perf_counter() + warmup
        await asyncio.gather(*(worker(until, False) for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, True) for _ in range(concurrency)))
        load.elapsed = time.perf_counter() - start
    return load


def _measure(url: str, seconds: float, concurrency: int, warmup: float) -> Load:
    async def go() -> Load:
        await _wait_ready(url)
        return await _drive(url, seconds, concurrency, warmup)

    return asyncio.run(go())


def _merge(loads: list[Load]) -> Load:
    total = Load(sum(x.seconds for x in loads), loads[0].concurrency)
    for load in loads:
        total.statuses.update(load.statuses)
        total.latencies.extend(load.latencies)
        total.elapsed += load.elapsed
        total.sent += load.sent
    return total


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0


# --------------------------------------------------------------------------- webhook to DM


class ShiftedClock:
    """The wall clock moved by a fixed offset (the app's clock in the latency phase)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> Any:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(self.time(), UTC)

    def time(self) -> float:
        return time.time() + self.offset


def _working_offset() -> float:
    """Seconds from now to the last Wednesday 12:00 UTC: the reps' (UTC) working hours."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    wednesday = noon - timedelta(days=(noon.weekday() - 2) % 7)
    return (wednesday - now).total_seconds()


def _serve_trustbot(database_url: str, api_url: str, port: int, offset: float) -> None:
    """Child process: the whole app as ``trustbot serve`` runs it, on a shifted clock."""
    import logging

    from bot.app.server import TrustbotServer
    from bot.runtime import Runtime
    from bot.runtime.settings import load_settings
    from bot.storage import Database

    logging.disable(logging.WARNING)
    settings = load_settings(**app_env(api_url, database_url, BOT_TOKEN))
    server = TrustbotServer(
        lambda: Runtime(settings=settings, db=Database(database_url), clock=ShiftedClock(offset)),
        port=port,
        log_level="warning",
    )
    asyncio.run(server.serve())


def _nudge_body(n: int) -> bytes:
    return _deal(f"latency-{os.getpid()}-{n}", f"L-{n}", n, "created")


def _dm_latencies(nudges: int) -> tuple[list[float], int]:
    """Seconds from each new-deal webhook to its nudge DM; and how many never arrived."""
    nudges = min(nudges, len(REPS))  # one each: the per-rep daily cap never interferes
    offset = _working_offset()
    with tempfile.TemporaryDirectory(prefix="trustbot-bench-") as tmp:
        database_url = f"sqlite:///{os.path.join(tmp, 'latency.db')}"
        _prepare_database(database_url)
        with emulator(BOT_TOKEN, SIGNING_SECRET, team_id=WORKSPACE) as slack:
            for rep in REPS:
                slack.add_user(rep, tz="UTC")
            port = free_port()
            context = multiprocessing.get_context("spawn")
            child = context.Process(
                target=_serve_trustbot,
                args=(database_url, slack.api_url, port, offset),
                daemon=True,
            )
            child.start()
            try:
                url = f"http://127.0.0.1:{port}/webhooks/deals"
                sent = asyncio.run(_send_nudges(url, nudges, offset))
                deadline = time.time() + 30
                arrived: dict[str, float] = {}
                while len(arrived) < nudges and time.time() < deadline:
                    for rep in REPS[:nudges]:
                        dms = slack.dm_messages(rep)
                        if dms and rep not in arrived:
                            arrived[rep] = float(dms[0]["ts"])
                    time.sleep(0.05)
            finally:
                child.terminate()
                child.join(timeout=15)
                if child.is_alive():
                    child.kill()
    latencies = [arrived[rep] - sent[rep] for rep in arrived]
    return latencies, nudges - len(arrived)


async def _send_nudges(url: str, nudges: int, offset: float) -> dict[str, float]:
    """POST one new deal per rep, one every :data:`NUDGE_EVERY` s; when each was sent."""
    import aiohttp

    await _wait_ready(url)
    sent: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        for n in range(nudges):
            body = _nudge_body(n)
            headers = _headers(body, offset)  # the app's clock is shifted
            sent[REPS[n]] = time.time()
            async with session.post(url, data=body, headers=headers) as reply:
                await reply.read()
                if reply.status != 202:
                    raise RuntimeError(f"webhook answered {reply.status}: {await reply.text()}")
            await asyncio.sleep(NUDGE_EVERY)
    return sent


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook", description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0, help="measured time per server")
    parser.add_argument("--rounds", type=int, default=6, help="alternations of the two servers")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured time first")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--database-url",
        default=None,
        help="an empty, migrated-or-new database for the run (default: SQLite, temporary)",
    )
    parser.add_argument(
        "--nudges", type=int, default=40, help="new deals in the webhook-to-DM phase (max 50)"
    )
    args = parser.parse_args(argv)
    per_round = args.seconds / args.rounds

    with tempfile.TemporaryDirectory(prefix="trustbot-bench-") as tmp:
        database_url = args.database_url or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
        _prepare_database(database_url)
        bare_runs: list[Load] = []
        deal_runs: list[Load] = []
        drained: list[float] = []
        with Served("bare") as bare, Served("deals", database_url) as deals_server:
            _measure(bare.url, 0.0, args.concurrency, args.warmup)
            _measure(deals_server.url, 0.0, args.concurrency, args.warmup)
            drained.append(_wait_processed(database_url))
            # alternate, so that load from elsewhere on the machine hits both alike
            for _ in range(args.rounds):
                bare_runs.append(_measure(bare.url, per_round, args.concurrency, 0.0))
                deal_runs.append(_measure(deals_server.url, per_round, args.concurrency, 0.0))
                drained.append(_wait_processed(database_url))
        by_status = _count_stored(database_url)
    dm_latencies, dm_missing = _dm_latencies(args.nudges)
    dm_p95 = _p95(dm_latencies)

    base, real = _merge(bare_runs), _merge(deal_runs)
    value = real.rate(202)
    baseline = base.rate(202)
    pooled = value / baseline if baseline else 0.0
    rounds = zip(bare_runs, deal_runs, strict=True)
    each = [d.rate(202) / b.rate(202) if b.rate(202) else 0.0 for b, d in rounds]
    ratio = statistics.median(each)
    errors = {s: n for s, n in real.statuses.items() if s not in (200, 202)}
    stored = sum(by_status.values())
    result: dict[str, Any] = {
        "name": NAME,
        "value": round(value, 1),
        "unit": "events/s",
        "baseline": round(baseline, 1),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "met": ratio >= TARGET and not errors and dm_p95 <= DM_P95_TARGET and not dm_missing,
        "details": {
            "duplicates_per_s": round(real.rate(200), 1),
            "p95_ms": round(_p95(real.latencies) * 1000, 1),
            "baseline_p95_ms": round(_p95(base.latencies) * 1000, 1),
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "ratio_of_totals": round(pooled, 3),
            "ratio_by_round": [round(r, 3) for r in each],
            "database": "given" if args.database_url else "sqlite (temporary)",
            "stored": stored,
            "by_status": dict(sorted(by_status.items())),
            "backlog_drained_s": round(max(drained), 2),
            "unexpected_answers": errors,
            "dm_p50_ms": round(sorted(dm_latencies)[len(dm_latencies) // 2] * 1000, 1)
            if dm_latencies
            else None,
            "dm_p95_ms": round(dm_p95 * 1000, 1),
            "dm_p95_target_ms": DM_P95_TARGET * 1000,
            "dm_nudges": len(dm_latencies),
            "dm_missing": dm_missing,
        },
    }
    details = result["details"]
    verdict = "met" if result["met"] else "NOT met"
    print(NAME)
    print(
        f"  deal webhook : {value:8.1f} accepted events/s (202), "
        f"{details['duplicates_per_s']:.1f} duplicates/s (200), p95 {details['p95_ms']:.1f} ms"
    )
    print(
        f"  baseline     : {baseline:8.1f} requests/s, bare Starlette 202 endpoint, "
        f"p95 {details['baseline_p95_ms']:.1f} ms"
    )
    print(f"  ratio        : {ratio:8.3f} (target >= {TARGET}) {verdict}")
    print(
        f"  (median of the rounds' ratios {', '.join(f'{r:.3f}' for r in each)};"
        f" ratio of totals {pooled:.3f})"
    )
    print(
        f"  {args.concurrency} in flight, {args.seconds:g} s per server in {args.rounds} "
        f"alternating rounds; database {details['database']}"
    )
    print(
        f"  stored deal events: {stored}, by status: "
        + ", ".join(f"{k} {v}" for k, v in details["by_status"].items())
        + f"; background step caught up within {details['backlog_drained_s']:.1f} s"
    )
    print(
        f"  webhook to DM: p50 {details['dm_p50_ms']} ms, p95 {details['dm_p95_ms']} ms over "
        f"{len(dm_latencies)} new-deal nudges (target p95 <= {DM_P95_TARGET:g} s)"
        + (f"; {dm_missing} never arrived" if dm_missing else "")
    )
    if errors:
        print(f"  unexpected answers: {errors}")
    return result


if __name__ == "__main__":
    main()
