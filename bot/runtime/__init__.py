"""What every part of a running Trustbot shares: settings, database, clock and pseudonyms."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.runtime.clock import Clock, SystemClock
from bot.runtime.pseudonyms import Pseudonyms
from bot.runtime.settings import Settings
from bot.storage import Database


@dataclass
class Runtime:
    """Built once per process by the CLI (or a test) and handed to the app factory."""

    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)

    @property
    def pseudonyms(self) -> Pseudonyms:
        """Keyed pseudonyms with ``TRUSTBOT_PSEUDONYM_KEY`` (which never enters the database)."""
        return Pseudonyms(self.settings.TRUSTBOT_PSEUDONYM_KEY)
