"""Waiting for the app, which works on its own threads and processes, to have done something."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None],
    what: str | None = None,
    *,
    timeout: float = 15.0,
    interval: float = 0.02,
) -> T:
    """Call ``check`` until it returns something truthy and return that; fail after
    ``timeout`` seconds, saying what was awaited (``what``, else the check's source)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what or _named(check)}"
            )
        time.sleep(interval)


def _named(check: Callable[..., object]) -> str:
    name = getattr(check, "__qualname__", repr(check))
    if not name.endswith("<lambda>"):
        return name
    try:
        return inspect.getsource(check).strip()
    except (OSError, TypeError):
        return name
