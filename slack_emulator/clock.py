"""The emulator's clock."""

from __future__ import annotations

import threading
import time


class EmulatorClock:
    """The emulator's monotonic clock, in seconds: the real one plus whatever a test added.

    Rate limits, the non-Marketplace history window, failure durations and trigger_id expiry
    all read it, so a test can ``advance(61)`` instead of sleeping a minute. Thread-safe.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (never back)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
