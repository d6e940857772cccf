"""Fixtures: a runtime with team ``sales`` (reps in London and New York) for deal updates."""

from __future__ import annotations

import pytest

from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.storage import Database
from tests.support.deals import deals_runtime


@pytest.fixture
async def runtime(db: Database, clock: ManualClock) -> Runtime:
    return await deals_runtime(db, clock)
