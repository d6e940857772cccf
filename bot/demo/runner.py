"""``trustbot demo``: the whole product, offline, on a clock that is moved rather than waited on.

The real app (:class:`bot.server.TrustbotServer`, over HTTP or Socket Mode on loopback) talks
to the project's Slack emulator; the database is SQLite in the output folder. A driver on this
thread plays everyone else:

* the admin sets the team up with real ``/trust`` commands;
* the simulated CRM POSTs signed deal updates to ``/webhooks/deals``;
* the reps (:mod:`bot.demo.personas`) click the buttons of the DMs the app posted, and write
  notes in the modal it opens;
* the scheduler: the driver moves the shared :class:`~bot.runtime.clock.ManualClock` week by
  week and runs the server's own jobs (:data:`bot.app.jobs.JOBS`) at the moments they matter:
  planning check-ins, the sweep for reminders and closing, the digest post. The outbox worker
  inside the server delivers the DMs; the driver waits for the outbox to drain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bot.app import server as app_server
from bot.demo import render
from bot.demo.driver import Driver
from bot.demo.model import (
    ADMIN,
    APP_TOKEN,
    BOT_TOKEN,
    CHANNEL_ID,
    CHANNEL_NAME,
    DELIVERY_ID,
    DELIVERY_NAME,
    MANAGER,
    SIGNING_SECRET,
    START,
    DemoError,
    Options,
    Outcome,
    settings_for,
)
from bot.demo.personas import Rep, team
from bot.demo.report import report
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.slack.installations import BOT_SCOPES
from bot.storage import Database
from bot.storage.migrate import upgrade
from slack_emulator import SlackEmulator

# --------------------------------------------------------------------------- the whole run


def _prepare(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("transcript.jsonl", "trustbot.db", "trustbot.db-wal", "trustbot.db-shm"):
        (out / name).unlink(missing_ok=True)
    for old in out.glob("trust-index-*.png"):
        old.unlink()


def _workspace(emu: SlackEmulator, reps: list[Rep]) -> render.Directory:
    names = render.Directory()
    for user_id, name, real_name, tz in (ADMIN, MANAGER):
        emu.add_user(user_id, name=name, real_name=real_name, tz=tz, is_admin=user_id == ADMIN[0])
        names.users[user_id] = name
    for rep in reps:
        emu.add_user(rep.user_id, name=rep.name, real_name=rep.real_name, tz=rep.tz)
        names.users[rep.user_id] = rep.name
    emu.add_channel(CHANNEL_ID, name=CHANNEL_NAME, members=[ADMIN[0], MANAGER[0]])
    names.channels[CHANNEL_ID] = CHANNEL_NAME
    emu.add_channel(DELIVERY_ID, name=DELIVERY_NAME, members=[ADMIN[0], MANAGER[0]])
    names.channels[DELIVERY_ID] = DELIVERY_NAME
    return names


def run(options: Options, console: Console, *, started: float | None = None) -> Outcome:
    """Run the demo, print it to ``console`` and write the files to ``options.out``.
    ``started`` (``time.monotonic()``) is when the command began, for the time reported."""
    started = time.monotonic() if started is None else started
    reps = team(options.team_size)
    featured = next((r for r in reps if r.persona.key == "newcomer"), reps[0])
    outcome = Outcome(options=options, reps=reps, featured=featured)
    out = options.out
    _prepare(out)
    database_url = f"sqlite:///{(out / 'trustbot.db').resolve()}"
    upgrade(database_url)
    handler = logging.FileHandler(out / "trustbot.log", mode="w", encoding="utf-8")
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    clock = ManualClock(START)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task(
        "Starting the Slack emulator and Trustbot", total=options.weeks * 4 + 1
    )
    steps = 0

    def advance(description: str) -> None:
        nonlocal steps
        if steps:
            progress.advance(task)
        steps += 1
        progress.update(task, description=description)

    try:
        with SlackEmulator(
            scopes=BOT_SCOPES,  # app.yml's bot scopes: Slack refuses a call they do not allow
            signing_secret=SIGNING_SECRET,
            bot_token=BOT_TOKEN,
            app_token=APP_TOKEN,
            team_name="Acme Sales",
            transcript_path=out / "transcript.jsonl",
        ) as emu:
            names = _workspace(emu, reps)
            with progress:
                _simulate(emu, options, database_url, clock, outcome, advance)
                progress.update(task, completed=options.weeks * 4 + 1, description="Done")
            outcome.webhook_statuses = dict(sorted(outcome.webhook_statuses.items()))
            if emu.validation_failures:
                outcome.warnings.append(
                    f"the emulator refused {len(emu.validation_failures)} Block Kit payload(s)"
                )
            outcome.charts = _save_charts(emu, out)
            outcome.elapsed = time.monotonic() - started
            report(console, emu, names, outcome, admin=ADMIN[1], channel=CHANNEL_NAME)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    return outcome


def _simulate(
    emu: SlackEmulator,
    options: Options,
    database_url: str,
    clock: ManualClock,
    outcome: Outcome,
    advance: Callable[[str], None],
) -> None:
    """The app on a thread of its own, the driver on this one, until the last digest."""
    settings = settings_for(emu, database_url)
    server = app_server.TrustbotServer(
        lambda: Runtime(settings=settings, db=Database(database_url), clock=clock),
        host="127.0.0.1",
        port=0,
        socket_mode=options.transport == "socket",
        log_level="warning",
        schedule=False,
    )
    thread = app_server.ServerThread(server).start()
    try:
        if options.transport == "socket":
            if not emu.wait_for_socket(timeout=10):
                raise DemoError("the app did not connect over Socket Mode")
        else:
            emu.connect_http(f"{thread.url}/slack/events")
        driver = Driver(emu, thread.url, settings, clock, outcome, advance)
        asyncio.run(driver.run())
    finally:
        thread.stop()


def _save_charts(emu: SlackEmulator, out: Path) -> list[Path]:
    saved = []
    for file in emu.files:
        content = file.get("content")
        name = Path(str(file.get("name") or "")).name
        if isinstance(content, bytes) and name.endswith(".png"):
            path = out / name
            path.write_bytes(content)
            saved.append(path)
    return saved
