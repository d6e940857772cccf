"""Attacks on Trustbot's anonymity (issue #15), run as an attacker would run them."""

from __future__ import annotations

from typing import Any

import pytest


def leak(what: str) -> Any:
    """The marker of a test that proves a leak of today's code: it must fail (``strict``)
    until the leak is closed; then the marker goes."""
    return pytest.mark.xfail(strict=True, reason=f"issue #15: {what}")
