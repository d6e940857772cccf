"""The app down across a weekly check-in slot, then restarted (twice).

The running app (HTTP, outbox worker, scheduler) is on a :class:`~bot.clock.ManualClock`.
Monday's round is planned on Sunday, as the scheduler's tick plans it a day ahead; then the
app is stopped, the clock moved across one or more reps' slots, and the app started again,
and once more right after. Three reps, three time zones: Tokyo's 09:00 is 00:00 UTC,
Berlin's 08:00 UTC, New York's 14:00 UTC (2 March 2026).

- back within :data:`~bot.checkins.MISSED_GRACE` (6 h) of a slot: the check-in goes out
  late, once;
- back later than that: it is skipped, never sent, the skip is logged with its reason, and
  ``/trust status`` reports it.

Never doubled, whatever the restarts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import checkins
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import Delivery
from slack_emulator import SlackEmulator
from tests.faults._app import REPS, slack
from tests.support.db import in_db, rows
from tests.support.stack import PSEUDONYM_KEY, Stack, start_app, trust
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

SUNDAY = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SLOTS = {  # Monday 09:00 rep-local, in UTC
    "U0REP3": datetime(2026, 3, 2, 0, 0, tzinfo=UTC),  # Asia/Tokyo
    "U0REP2": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),  # Europe/Berlin
    "U0REP1": datetime(2026, 3, 2, 14, 0, tzinfo=UTC),  # America/New_York (EST)
}
SETTLE = 1.5  # real seconds: more than one idle round of a new worker (1 s)


@dataclass
class Down:
    """The app, which the test stops and starts again on the same database and clock."""

    stack: Stack
    clock: ManualClock

    @property
    def emu(self) -> SlackEmulator:
        return self.stack.emulator

    def stop(self) -> None:
        self.stack.server.stop()

    def start(self) -> None:
        """Start a new app process (as after a crash or a deploy), then run the scheduler's
        tick once, as the new process would within a minute."""
        self.stack.server = start_app(self.emu, self.stack.database_url, "http", self.clock)
        plan(self.stack.database_url, self.clock)

    def restart(self) -> None:
        self.stop()
        self.start()

    def dms(self) -> dict[str, int]:
        return {user: len(self.emu.dm_messages(user)) for user in REPS}

    def checkins(self) -> dict[str, Delivery]:
        return {d.user_id: d for d in rows(self.stack.database_url, Delivery)}


def plan(url: str, clock: ManualClock) -> list[checkins.Plan]:
    """The scheduler's ``checkins.plan`` tick (every minute while the app is up)."""

    async def tick(database: Database) -> list[checkins.Plan]:
        settings = load_settings(TRUSTBOT_PSEUDONYM_KEY=PSEUDONYM_KEY)
        return await checkins.plan_due(Runtime(settings, database, clock), default_bank())

    return list(in_db(url, tick))


@pytest.fixture
def app(database_url: str) -> Iterator[Down]:
    """Up on Sunday with a team of three reps meeting on Mondays at 09:00, its round planned;
    then down."""
    clock = ManualClock(SUNDAY)
    with slack() as emu:
        stack = Stack(emu, start_app(emu, database_url, "http", clock), "http", database_url)
        down = Down(stack, clock)
        try:
            assert "created" in trust(stack, "team create sales <#C0SALES|sales-managers>")
            assert "Added" in trust(stack, "team add sales " + " ".join(f"<@{u}>" for u in REPS))
            assert "mon" in trust(stack, "schedule sales mon 09:00").lower()
            [planned] = plan(database_url, clock)
            assert planned.deliveries == len(REPS)
            assert {u: d.planned_at for u, d in down.checkins().items()} == SLOTS
            down.stop()
            yield down
        finally:
            stack.server.stop()


def arrived(down: Down, expected: dict[str, int]) -> None:
    """Wait for the reps' DMs to number ``expected``."""
    wait_for(lambda: down.dms() == expected, f"DMs {expected} (have {down.dms()})", timeout=10)


def settled(down: Down, expected: dict[str, int]) -> None:
    """:func:`arrived`, and still so once the running worker has had time to add more."""
    arrived(down, expected)
    time.sleep(SETTLE)
    assert down.dms() == expected


def test_back_within_the_grace_each_missed_check_in_is_sent_once(app: Down) -> None:
    """Three outages, each across one rep's slot, each ending 3 h after it: every rep gets
    the check-in late, exactly once, also after a second restart."""
    got = {user: 0 for user in REPS}
    for user, slot in SLOTS.items():
        app.clock.set(slot + timedelta(hours=3))  # down since before the slot
        app.start()
        got[user] = 1
        arrived(app, got)
        app.restart()  # a second restart adds nothing
        settled(app, got)
        row = app.checkins()[user]
        assert (row.status, row.attempts) == ("sent", 0), row
        assert row.sent_at == slot + timedelta(hours=3)  # sent late, when it came back
        app.stop()
    assert all(d.status == "sent" for d in app.checkins().values())


def test_back_after_the_grace_the_check_in_is_skipped_reported_and_logged(
    app: Down, caplog: pytest.LogCaptureFixture
) -> None:
    """Down from Sunday to Monday 14:30 UTC: Tokyo's slot (14.5 h ago) and Berlin's (6.5 h)
    are past the grace and skipped; New York's (30 min) is sent late. Restarted twice."""
    caplog.set_level("INFO", logger="bot.slack.sender")
    app.clock.set(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))
    app.start()
    expected = {"U0REP1": 1, "U0REP2": 0, "U0REP3": 0}
    arrived(app, expected)
    app.restart()
    app.restart()
    settled(app, expected)

    found = app.checkins()
    assert found["U0REP1"].status == "sent"
    for user in ("U0REP2", "U0REP3"):
        row = found[user]
        reason = f"missed slot {SLOTS[user]:%Y-%m-%d %H:%M} UTC (Trustbot was down)"
        assert (row.status, row.last_error) == ("skipped", reason), row
        assert f"delivery {row.id} skipped: {reason}" in caplog.messages, caplog.messages
    status = trust(app.stack, "status")
    assert "*Deliveries*: 1 sent, 2 skipped" in status, status
    assert (
        "missed: 2 check-ins of `sales` (week of 02 Mar) skipped: the slot passed while "
        "Trustbot was down, more than 6 h before it was back"
    ) in status, status
    # the next week is planned and sent as usual: a skip does not stick
    app.clock.set(SLOTS["U0REP3"] + timedelta(days=7))
    assert [p.deliveries for p in plan(app.stack.database_url, app.clock)] == [len(REPS)]
    settled(app, {"U0REP1": 1, "U0REP2": 0, "U0REP3": 1})
