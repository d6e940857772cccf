"""The pace of conversations.history per workspace (bot/slack/history.py)."""

from __future__ import annotations

import pytest

from bot.slack.history import HistoryBusy, HistoryPacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_call_a_minute_per_workspace() -> None:
    clock = Clock()
    pacer = HistoryPacer(1, monotonic=clock)
    pacer.take("T1")
    pacer.take("T2")  # every workspace has its own minute
    with pytest.raises(HistoryBusy) as busy:
        pacer.take("T1")
    assert busy.value.retry_after == pytest.approx(60)
    clock.now += 59
    assert pacer.wait("T1") == pytest.approx(1)
    clock.now += 1
    pacer.take("T1")


def test_tier_3_allows_a_burst_within_the_minute() -> None:
    clock = Clock()
    pacer = HistoryPacer(50, monotonic=clock)
    for _ in range(50):
        pacer.take("T1")
    assert pacer.wait("T1") == pytest.approx(1.2)


def test_slack_s_retry_after_pauses_the_workspace() -> None:
    clock = Clock()
    pacer = HistoryPacer(50, monotonic=clock)
    pacer.pause("T1", 45)
    assert pacer.wait("T1") == pytest.approx(45) and pacer.wait("T2") == 0
    clock.now += 45
    pacer.take("T1")  # one call once it is over


def test_a_pace_below_one_a_minute_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        HistoryPacer(0)
