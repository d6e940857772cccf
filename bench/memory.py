"""Memory: the resident set of a working ``trustbot serve`` with 10,000 reps, 1,000,000 answers.

A SQLite file gets 1,000 teams of 10 reps and a manager (everyone with a time zone) and
1,000,000 answers: the history :mod:`bench.digest` seeds (:mod:`bench._history`: check-in
rounds, their DMs, answers under each rep's weekly pseudonym, nudge answers, shared notes,
managers' estimates) up to the last complete week, under the pseudonym key the app is given,
so App Home and ``/trust me`` find each rep's own. It is kept in the cache directory, keyed
by size, schema and that week (see :mod:`bench._common`); each run works on a copy, in which
every team's check-in day is moved two days back, so the scheduler fans out no check-ins
during the run whatever the weekday (:mod:`bench.fanout` measures that).

``trustbot serve`` runs on the copy in its own process (outbox worker and scheduler
included), with the project's Slack emulator (in this process) as ``SLACK_API_URL``, and is
put to work, every request signed as Slack signs it, in a time box counted from its start:

* one after another, each waited for until its work after the ack is done (until 55 s):
  ``/trust status`` twice; ``/trust checkin <team> now`` for 2 teams, then one answer button
  clicked by each of their 20 reps once the outbox worker has sent their DMs;
  ``app_home_opened`` for 5 reps, 2 managers and the admin; ``/trust me`` for 3 reps;
  ``/trust digest <team> preview`` for 10 teams and ``/trust digest <team> now`` (posted with
  its chart) for 3;
* the scheduler's digest job, which ticks a minute in and posts every team's digest of the
  week (with its chart): followed until its first posts (100 s at the latest), then
* bursts of ``--burst`` concurrent requests of each kind while it posts (``/trust status``,
  a check-in answer click, ``app_home_opened``), as :mod:`bench.ack` sends them;
* the digest job followed until it is done, or 150 s.

The figure is the peak resident set of the ``trustbot serve`` process (``VmHWM`` from
``/proc/<pid>/status``, in MB of 2**20 bytes). The baseline, in the same run with the same
requests: :mod:`bench.ack`'s bare ``AsyncApp`` on uvicorn whose listeners only ack (the same
Bolt, Starlette, uvicorn and aiohttp stack, without the app). Prints each phase's resident
sets (at its end and its sampled peak), the figure, the baseline and their ratio; the target
is under 200 MB, with every request's work done in time. Returns ``{name, value, unit,
baseline, ratio, target, met, details}``.

    python -m bench memory [--reps 10000] [--answers 1000000] [--burst 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench import _history as history
from bench import ack
from bench._common import (
    SIGNING_SECRET,
    Child,
    app_env,
    cache_dir,
    cli,
    emulator,
    free_port,
    percentile,
    python,
    seeded_copy,
    trustbot,
    wait_http,
)

NAME = "trustbot serve peak RSS, 10,000 reps, 1,000,000 answers"
REPS = 10_000
ANSWERS = 1_000_000
BURST = 50
TARGET_MB = 200.0
PER_TEAM = history.REPS  # reps per team
WORKSPACE = history.WORKSPACE
ADMIN = history.ADMIN
BOT_TOKEN = ack.BOT_TOKEN
TZ = "Europe/London"
STATUS_RUNS = 2
CHECKIN_TEAMS = 2  # /trust checkin <team> now: their reps' DMs, one answer clicked by each
HOME_REPS = 5
HOME_MANAGERS = 2
ME_REPS = 3
PREVIEW_TEAMS = 10
POST_TEAMS = 3
IDLE_SECONDS = 2.0
ACK_WITHIN = 30.0  # seconds for a request's HTTP answer
SETTLE_WITHIN = 60.0  # seconds for one request's work after the ack to show in the emulator
# the time box, in seconds from the start of trustbot serve (its scheduler ticks a minute in)
REQUESTS_UNTIL = 55.0  # the requests one after another: none sent after this
BURSTS_FROM = 100.0  # the bursts: once the digest job has posted, or from this at the latest
RUN_WITHIN = 150.0  # the end: the digest job's posting is followed until then
SAMPLE_EVERY = 0.1  # seconds between two readings of the resident sets
STATUS_FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads")


# --------------------------------------------------------------------------- the database


manager_user = history.manager_user


def _make(path: Path, teams: int, answers: int, latest: date) -> dict[str, Any]:
    """A migrated database with ``teams`` teams of :data:`PER_TEAM` reps and a manager (all in
    :data:`TZ`) and their history up to ``latest``, answers under the key the app is given."""
    return history.seed(path, teams, answers, latest, tz=TZ)


def _latest_week() -> date:
    """The last complete week (a Monday), as ``/trust digest <team> preview`` shows it."""
    from bot.core.checkins import week_start

    return week_start(datetime.now(UTC).date()) - history.WEEK


# --------------------------------------------------------------------------- memory


def proc_status(pid: int) -> dict[str, int]:
    """``VmRSS``, ``VmHWM`` (the peak so far), ``RssAnon``, ``RssFile``, ``RssShmem`` in KiB,
    and ``Threads``, from ``/proc/<pid>/status``."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in STATUS_FIELDS:
            found[key] = int(rest.split()[0])
    return found


def _mb(kib: int) -> float:
    return round(kib / 1024, 1)


def _children(pid: int) -> list[int]:
    """The processes ``pid`` has started (none expected: the figure is one process's)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


class Meter:
    """The servers' resident sets phase by phase: sampled every :data:`SAMPLE_EVERY` s in a
    thread (the highest ``VmRSS`` seen during the phase), and read at the end of each phase."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.phase = ""
        self.peaks: dict[str, dict[str, int]] = {}
        self.ends: dict[str, dict[str, dict[str, int]]] = {}
        self.seconds: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self._record()

    def _record(self) -> None:
        peaks = self.peaks.setdefault(self.phase, {})
        for server, pid in self.pids.items():
            with contextlib.suppress(OSError, KeyError, ValueError):
                peaks[server] = max(peaks.get(server, 0), proc_status(pid)["VmRSS"])

    @contextlib.contextmanager
    def phase_of(self, name: str) -> Iterator[None]:
        """Attribute what happens in the block to the phase ``name``."""
        self.phase = name
        started = time.monotonic()
        yield
        self._record()
        self.ends[name] = {s: proc_status(pid) for s, pid in self.pids.items()}
        self.seconds[name] = round(time.monotonic() - started, 1)

    def __enter__(self) -> Meter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------- the work


def _wait(predicate: Callable[[], bool], until: float) -> bool:
    """Whether ``predicate`` came true before the monotonic time ``until``."""
    while not predicate():
        if time.monotonic() > until:
            return False
        time.sleep(0.05)
    return True


class Work:
    """Requests to one server, each waited for until its work after the ack shows in the
    emulator (an answer posted to the response URL, a Home published), for at most
    :data:`SETTLE_WITHIN` seconds and never beyond ``until``. What did not show in time, was
    not answered 200, or was not sent because time was up, is listed in ``unfinished``."""

    def __init__(self, emu: Any, url: str, *, bare: bool) -> None:
        self.emu = emu
        self.url = url
        self.bare = bare  # a bare app only acks: there is nothing after the ack to wait for
        self.until = float("inf")
        self.unfinished: list[str] = []
        self.skipped = 0

    def _open(self, requests: int = 1) -> bool:
        if self.bare or time.monotonic() < self.until:  # the bare app gets every request
            return True
        self.skipped += requests
        return False

    def _settle(self, count: Callable[[], int], expected: int, what: str) -> None:
        until = min(self.until, time.monotonic() + SETTLE_WITHIN)
        if not self.bare and not _wait(lambda: count() >= expected, until):
            self.unfinished.append(what)

    def command(self, user: str, text: str) -> None:
        """``/trust <text>`` from ``user``."""
        if not self._open():
            return
        self.emu.connect_http(self.url)
        before = len(self.emu.response_url_posts())
        delivery = self.emu.send_command("/trust", text, user_id=user, ack_timeout=ACK_WITHIN)
        if delivery.status != 200:
            self.unfinished.append(f"/trust {text} (answered {delivery.status})")
            return
        self._settle(lambda: len(self.emu.response_url_posts()), before + 1, f"/trust {text}")

    def home(self, user: str) -> None:
        """``app_home_opened`` from ``user``."""
        if not self._open():
            return
        self.emu.connect_http(self.url)
        before = len(self.emu.views_published())
        event = {"type": "app_home_opened", "user": user, "tab": "home"}
        event["channel"] = self.emu.dm_channel_id(user)
        delivery = self.emu.send_event(event, ack_timeout=ACK_WITHIN)
        if delivery.status != 200:
            self.unfinished.append(f"Home of {user} (answered {delivery.status})")
            return
        self._settle(lambda: len(self.emu.views_published()), before + 1, f"Home of {user}")

    def burst(self, requests: ack.Requests, kind: str, n: int) -> dict[str, Any]:
        """``n`` requests of ``kind`` at once, as :mod:`bench.ack` sends them (``/trust
        status``, a check-in answer click, ``app_home_opened``), and their work done."""
        if not self._open(n):
            return {"kind": kind, "requests": 0}
        done: Callable[[], int] = (  # a click's work ends with the rep's Home published
            (lambda: len(self.emu.response_url_posts()))
            if kind == "command"
            else (lambda: len(self.emu.views_published()))
        )
        before = done()
        started = time.monotonic()
        latencies, statuses = asyncio.run(ack._burst(self.url, requests.bodies(kind, n)))
        if set(statuses) != {200}:
            self.unfinished.append(f"{kind} burst of {n} (answers {dict(statuses)})")
        self._settle(done, before + statuses.get(200, 0), f"{kind} burst of {n}")
        return {
            "kind": kind,
            "requests": n,
            "p99_ack_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "done_s": round(time.monotonic() - started, 2),
        }


def _requests(work: Work, teams: dict[int, str], requests: ack.Requests) -> None:
    """The commands, clicks and Home opens, one after another, each one's work done."""
    ids = list(teams)
    for _ in range(STATUS_RUNS):
        work.command(ADMIN, "status")
    if not work.bare:  # the bare app sends no check-in DMs: nothing to click
        for team in ids[:CHECKIN_TEAMS]:
            work.command(ADMIN, f"checkin {teams[team]} now")
        everyone = len(requests.reps)
        if not _wait(lambda: requests.find_buttons() == everyone, work.until):
            work.unfinished.append(f"check-in DMs ({len(requests.buttons)} of {everyone})")
        requests.reps = [rep for rep in requests.reps if rep in requests.buttons]
        for _ in requests.reps:
            work.burst(requests, "click", 1)
    for user in (
        [history.rep_user(t, 0) for t in ids[:HOME_REPS]]
        + [manager_user(t) for t in ids[:HOME_MANAGERS]]
        + [ADMIN]
    ):
        work.home(user)
    for team in ids[:ME_REPS]:
        work.command(history.rep_user(team, 1), "me")
    for team in ids[:PREVIEW_TEAMS]:
        work.command(ADMIN, f"digest {teams[team]} preview")
    for team in ids[:POST_TEAMS]:
        work.command(ADMIN, f"digest {teams[team]} now")


def _due_week(now: datetime) -> date:
    """The week whose digests the scheduler posts at ``now`` (the seeded teams' defaults:
    UTC, Monday 09:00), as :func:`bot.digests.due_digests` finds it."""
    from bot.core import digests
    from bot.storage.models import Team

    team = Team(workspace_id=WORKSPACE, name="any", channel_id="C0", created_at=now)
    week = digests.latest_period(team, now)
    return week if now >= digests.digest_slot(team, week) else week - history.WEEK


def _posted(path: Path, week: date) -> int:
    """Teams whose digest of ``week`` is posted (read beside the server, in WAL mode)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        row = conn.execute(
            "SELECT COUNT(DISTINCT team_id) FROM digest"
            " WHERE period_start = ? AND message_ts IS NOT NULL",
            (week.isoformat(),),
        ).fetchone()
    return int(row[0])


def _quiet_schedule(path: Path) -> int:
    """Move every team's check-in to two days ago (00:00 UTC), so the scheduler plans none
    during the run, whatever the weekday (:mod:`bench.fanout` measures the fan-out)."""
    weekday = (datetime.now(UTC).weekday() - 2) % 7
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE team SET checkin_weekday = ?, checkin_time = '00:00'", (weekday,))
    return weekday


# --------------------------------------------------------------------------- main


def run(reps: int = REPS, answers: int = ANSWERS, burst: int = BURST) -> dict[str, Any]:
    """Run the benchmark and print one figure per line; returns the result record."""
    teams = max(CHECKIN_TEAMS, HOME_REPS, PREVIEW_TEAMS, POST_TEAMS, -(-reps // PER_TEAM))
    latest = _latest_week()
    key = f"memory-v{history.SEED_VERSION}-{teams}t-{answers}a-{latest}"
    started = time.monotonic()
    bursts: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="trustbot-bench-memory-") as tmp:
        path = Path(tmp) / "bench.db"
        seeded: dict[str, Any] = {}

        def seed(into: Path) -> None:
            seeding = time.monotonic()
            seeded.update(_make(into, teams, answers, latest))
            seeded["seconds"] = round(time.monotonic() - seeding, 1)

        cached = seeded_copy(key, seed, path)
        load = time.monotonic() - started
        with contextlib.closing(sqlite3.connect(path)) as conn:
            stored = {
                table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("team", "member", "response", "delivery")
            }
            found = conn.execute("SELECT id, name, channel_id FROM team ORDER BY id").fetchall()
        names = {int(i): str(name) for i, name, _ in found}
        checkin_weekday = _quiet_schedule(path)
        size_mb = round(path.stat().st_size / 2**20, 1)
        with emulator(BOT_TOKEN, SIGNING_SECRET, team_id=WORKSPACE) as emu:
            emu.add_user(ADMIN, name="admin", tz=TZ, is_admin=True)
            for team, name, channel in found:
                emu.add_channel(channel, name=name)
                emu.add_user(manager_user(team), tz=TZ)
                for rep in range(PER_TEAM):
                    emu.add_user(history.rep_user(team, rep), tz=TZ)
            env = app_env(emu.api_url, f"sqlite:///{path}", BOT_TOKEN, ADMIN)
            ports = {"trustbot": free_port(), "bare": free_port()}
            app = trustbot(
                "serve", "--host", "127.0.0.1", "--port", str(ports["trustbot"]),
                "--log-level", "warning",
            )  # fmt: skip
            bare = python("-m", "bench.ack", "--serve-bare", "async", str(ports["bare"]),
                          emu.api_url)  # fmt: skip
            log = Path(tmp) / "servers.log"
            urls = {s: f"http://127.0.0.1:{p}/slack/events" for s, p in ports.items()}
            checkin_reps = [
                history.rep_user(team, rep)
                for team in list(names)[:CHECKIN_TEAMS]
                for rep in range(PER_TEAM)
            ]
            requests = ack.Requests(emu, checkin_reps)
            workers = {s: Work(emu, url, bare=s == "bare") for s, url in urls.items()}
            with Child(app, env, log=log) as main_app, Child(bare, env, log=log) as bare_app:
                t0 = time.monotonic()  # the scheduler's first tick is a minute after this
                wait_http(f"http://127.0.0.1:{ports['trustbot']}/healthz", main_app.process)
                wait_http(urls["bare"], bare_app.process)
                ready = time.monotonic() - t0
                week = _due_week(datetime.now(UTC))
                with Meter({"trustbot": main_app.pid, "bare": bare_app.pid}) as meter:
                    with meter.phase_of("idle"):
                        time.sleep(IDLE_SECONDS)
                    with meter.phase_of("requests"):
                        for work in workers.values():
                            work.until = t0 + REQUESTS_UNTIL
                            _requests(work, names, requests)
                    with meter.phase_of("digest job"):  # until its first post, then with bursts
                        _wait(lambda: _posted(path, week) > POST_TEAMS, t0 + BURSTS_FROM)
                    with meter.phase_of("bursts"):
                        for kind in ack.KINDS if burst and requests.reps else ():
                            for server, work in workers.items():
                                work.until = t0 + RUN_WITHIN
                                bursts.append(
                                    {"server": server, **work.burst(requests, kind, burst)}
                                )
                    with meter.phase_of("digest job, to its end"):
                        job_done = _wait(lambda: _posted(path, week) >= len(names), t0 + RUN_WITHIN)
                    serving = time.monotonic() - t0
                children = {s: _children(pid) for s, pid in meter.pids.items()}
                posted = _posted(path, week)
                server_log = log.read_text(errors="replace")
            refused = len(emu.validation_failures)
            uploads = len(emu.files)
    elapsed = time.monotonic() - started
    work = workers["trustbot"]
    unfinished = work.unfinished + ([f"{work.skipped} requests not sent"] if work.skipped else [])
    final = meter.ends["digest job, to its end"]
    value = _mb(final["trustbot"]["VmHWM"])
    baseline = _mb(final["bare"]["VmHWM"])
    ratio = round(value / baseline, 2) if baseline else float("inf")
    result: dict[str, Any] = {
        "name": NAME,
        "value": value,
        "unit": "MB",
        "baseline": baseline,
        "ratio": ratio,
        "target": TARGET_MB,
        "met": value < TARGET_MB and not unfinished,
        "details": {
            "reps": stored["member"] - stored["team"],
            "managers": stored["team"],
            "teams": stored["team"],
            "answers_stored": stored["response"],
            "deliveries_stored": stored["delivery"],
            "database_mb": size_mb,
            "latest_week": latest.isoformat(),
            "digest_job_week": week.isoformat(),
            "digest_job_teams_posted": posted,
            "digest_job_done": job_done,
            "charts_uploaded": uploads,
            "checkin_weekday": checkin_weekday,
            "burst": burst,
            "phases": {
                phase: {
                    "seconds": meter.seconds[phase],
                    **{
                        server: {
                            "peak_rss_mb": _mb(meter.peaks.get(phase, {}).get(server, 0)),
                            **{k: _mb(v) for k, v in ends.items() if k != "Threads"},
                        }
                        for server, ends in meter.ends[phase].items()
                    },
                }
                for phase in meter.ends
            },
            "threads": {s: final[s]["Threads"] for s in final},
            "child_processes": children,
            "bursts": bursts,
            "unfinished": unfinished,
            "emulator_refusals": refused,
            "load_s": round(load, 1),
            "database_cached": cached,
            "seeded": seeded,
            "ready_s": round(ready, 1),
            "serving_s": round(serving, 1),
            "run_s": round(elapsed, 1),
        },
    }
    _print(result)
    errors = [line for line in server_log.splitlines() if '"error"' in line or "Traceback" in line]
    if errors:
        print(f"  errors in the servers' log: {len(errors)}; the last: {errors[-1][:300]}")
    return result


def _print(result: dict[str, Any]) -> None:
    d = result["details"]
    how = (
        "copied from the cache" if d["database_cached"] else f"seeded in {d['seeded']['seconds']} s"
    )
    print(
        f"database: {d['teams']:,} teams, {d['reps']:,} reps, {d['answers_stored']:,} answers,"
        f" {d['database_mb']:,} MB; {d['load_s']:.1f} s ({how}: {cache_dir()})"
    )
    print(f"  {'phase':<24}{'s':>6}{'trustbot RSS':>14}{'peak':>8}{'bare RSS':>11}{'peak':>8}")
    for phase, by in d["phases"].items():
        t, b = by["trustbot"], by["bare"]
        print(
            f"  {phase:<24}{by['seconds']:>6.1f}{t['VmRSS']:>11.1f} MB{t['peak_rss_mb']:>8.1f}"
            f"{b['VmRSS']:>8.1f} MB{b['peak_rss_mb']:>8.1f}"
        )
    t = d["phases"]["digest job, to its end"]["trustbot"]
    print(f"  trustbot at the end: {t['RssAnon']:.1f} MB anonymous, {t['RssFile']:.1f} MB files")
    print(
        f"  digest job: {d['digest_job_teams_posted']:,} of {d['teams']:,} teams' digests of the"
        f" week of {d['digest_job_week']} posted"
        f" ({'all' if d['digest_job_done'] else 'still posting at the end'}),"
        f" {d['charts_uploaded']} charts"
    )
    for b in d["bursts"]:
        if b["requests"]:
            print(
                f"  burst {b['server']:<9}{b['kind']:<8}{b['requests']:>4} at once:"
                f" p99 ack {b['p99_ack_ms']:.0f} ms, work done in {b['done_s']:.1f} s"
            )
    if d["unfinished"]:
        print(f"  NOT done in time: {'; '.join(d['unfinished'])}")
    print(f"figure: {result['value']:.1f} MB peak RSS of trustbot serve (VmHWM)")
    print(f"baseline: {result['baseline']:.1f} MB peak RSS of a bare AsyncApp on uvicorn")
    print(
        f"ratio: {result['ratio']:.2f}; target < {TARGET_MB:g} MB"
        f" with every request's work done: {'met' if result['met'] else 'NOT met'}"
    )
    print(f"trustbot serving {d['serving_s']:.0f} s; whole run {d['run_s']:.0f} s")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__)
    parser.add_argument("--reps", type=int, default=REPS, help="reps, in teams of 10")
    parser.add_argument("--answers", type=int, default=ANSWERS, help="answers stored")
    parser.add_argument("--burst", type=int, default=BURST, help="requests at once (0: none)")
    return cli(parser, run, argv)


if __name__ == "__main__":
    sys.exit(0 if main()["met"] else 1)
