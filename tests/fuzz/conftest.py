"""One real app on the Slack emulator per test module (SQLite, a manual clock), with what the
fuzz tests assert on: row counts of every table, and every traceback or error the app logs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, create_engine, text

from bot.app.server import ServerThread
from bot.runtime import logs
from bot.runtime.clock import ManualClock
from bot.storage import sync_url
from bot.storage.migrate import upgrade
from bot.storage.models import (
    Admin,
    AuditLog,
    CheckinRound,
    DealEvent,
    Digest,
    ManagerEstimate,
    Member,
    Note,
    OptOut,
    Person,
    PromptSetting,
    Response,
    Team,
    Workspace,
)
from bot.storage.models import Delivery as DeliveryRow
from slack_emulator import SlackEmulator
from slack_emulator.models import AppDelivery
from tests.support.slack_app import APP_SCOPES
from tests.support.stack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    Stack,
    app_settings,
    serve,
    trust,
)

ADMIN, REP, OTHER = "U0ADMIN", "U0REP1", "U0REP2"
CHANNEL = "C0SALES"
MONDAY_10_NY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # REP's working hours: nudges go now
STORED = (
    Workspace,
    Team,
    Member,
    Person,
    OptOut,
    Admin,
    AuditLog,
    PromptSetting,
    CheckinRound,
    DeliveryRow,
    Response,
    Note,
    ManagerEstimate,
    DealEvent,
    Digest,
)
"""Every table an outside input could write to."""
TABLES = [str(model.__tablename__) for model in STORED]


class LogWatch(logging.Handler):
    """Every warning or worse that any logger (ours, Bolt, uvicorn) writes, with the request
    id it was written under (``X-Request-Id`` of the HTTP request, or Bolt's trigger_id)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str | None, logging.LogRecord]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((logs.request_id.get(), record))

    def problems(self) -> list[str]:
        """Tracebacks and errors, each with its request id."""
        found = []
        for rid, record in list(self.records):
            if record.exc_info or record.levelno >= logging.ERROR:
                trace = (
                    logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
                )
                found.append(f"[{rid}] {record.name}: {record.getMessage()}\n{trace}")
        return found


@dataclass
class FuzzApp:
    """The running app, its emulator and database."""

    emulator: SlackEmulator
    server: ServerThread
    database_url: str
    clock: ManualClock
    watch: LogWatch
    engine: Engine
    sent: dict[str, Any] = field(default_factory=dict)  # request id -> what was sent

    @property
    def stack(self) -> Stack:
        return Stack(self.emulator, self.server, "http", self.database_url)

    @property
    def url(self) -> str:
        return self.server.url

    def counts(self) -> dict[str, int]:
        """Rows in every table an outside input could write to."""
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                for name in TABLES
            }

    def settle(self, quiet: float = 0.2, timeout: float = 15.0) -> None:
        """Wait until the app has made no Slack call for ``quiet`` seconds: the work listeners
        do after their ack (replies, redraws) is over."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = len(self.emulator.calls) + len(self.emulator.response_url_posts())
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.02)
        raise AssertionError("the app kept calling Slack")

    def assert_no_problems(self) -> None:
        """No traceback and no error in any log line, naming what was sent when one shows."""
        problems = self.watch.problems()
        if problems:
            shown = "\n".join(problems[:3])
            rids = {p[1 : p.index("]")] for p in problems}
            inputs = [self.sent[r] for r in rids if r in self.sent][:3]
            raise AssertionError(f"{len(problems)} logged problem(s):\n{shown}\ninputs: {inputs!r}")

    def interact(
        self,
        payload: Any,
        rid: str,
        *,
        user: str = REP,
        view: dict[str, Any] | None = None,
    ) -> AppDelivery:
        """POST ``payload`` (any JSON value) as Slack posts an interaction: the form field
        ``payload``, signed; ``rid`` names it in the app's log lines. ``view`` makes it a view
        submission in the emulator's records."""
        body = urlencode({"payload": json.dumps(payload)})
        self.sent[rid] = payload
        headers = {"X-Request-Id": rid}
        if view is not None:
            return self.emulator.send_view_submission(
                user, view, raw_body=body, headers=headers, via="http"
            )
        action = {"type": "button", "action_id": "fuzz", "block_id": "fuzz", "value": "x"}
        return self.emulator.send_block_action(
            user, [action], channel_id=CHANNEL, raw_body=body, headers=headers, via="http"
        )


def start_app(emulator: SlackEmulator, database_url: str, clock: ManualClock) -> ServerThread:
    """The app over HTTP as ``tests/e2e`` starts it, without the scheduler's periodic jobs
    (they would write rows while a test counts them); the outbox worker runs."""
    settings = app_settings(emulator, database_url)
    return serve(emulator, settings, "http", clock, schedule=False)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzApp]:
    """The app over HTTP on a fresh SQLite database with a team ``sales`` (reps REP and
    OTHER, digest in CHANNEL), ADMIN a workspace admin; one per module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'trustbot.db'}"
    upgrade(url)
    watch = LogWatch()
    logging.getLogger().addHandler(watch)
    clock = ManualClock(MONDAY_10_NY)
    engine = create_engine(sync_url(url))
    try:
        with SlackEmulator(
            scopes=APP_SCOPES,
            signing_secret=SIGNING_SECRET,
            bot_token=BOT_TOKEN,
            app_token=APP_TOKEN,
        ) as emu:
            emu.add_user(ADMIN, name="alex", tz="Europe/London", is_admin=True)
            emu.add_user(REP, name="ana", tz="America/New_York")
            emu.add_user(OTHER, name="ben", tz="America/New_York")
            emu.add_channel(CHANNEL, name="sales-managers")
            server = start_app(emu, url, clock)
            app = FuzzApp(emu, server, url, clock, watch, engine)
            try:
                assert "created" in trust(app.stack, f"team create sales <#{CHANNEL}|sales>")
                assert "Added" in trust(app.stack, f"team add sales <@{REP}> <@{OTHER}>")
                yield app
            finally:
                server.stop()
    finally:
        engine.dispose()
        logging.getLogger().removeHandler(watch)
