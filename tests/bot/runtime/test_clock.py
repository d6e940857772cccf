from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.runtime.clock import ManualClock, SystemClock, utc


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2026, 3, 8, 6, 59, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(timedelta(minutes=2))
    assert clock.now() == datetime(2026, 3, 8, 7, 1, tzinfo=UTC)
    clock.advance(30)
    assert clock.time() == datetime(2026, 3, 8, 7, 1, 30, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_manual_clock_set_and_timezones() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now().tzinfo is UTC
    assert clock.now().hour == 22
    clock.set(datetime(2026, 1, 2, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_system_clock_is_aware_and_close_to_time() -> None:
    clock = SystemClock()
    assert clock.now().tzinfo is UTC
    assert abs(clock.now().timestamp() - clock.time()) < 5


def test_utc_reads_naive_as_utc() -> None:
    assert utc(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
