"""What every part of a running Trustbot shares: settings, database and clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.runtime.clock import Clock, SystemClock
from bot.runtime.settings import Settings
from bot.storage import Database


@dataclass
class Runtime:
    """Built once per process by the CLI (or a test) and handed to the app factory."""

    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
