"""What every part of a running Trustbot shares: settings, database, clock and pseudonyms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.runtime.clock import Clock, SystemClock
from bot.runtime.pseudonyms import Pseudonyms
from bot.runtime.settings import Settings
from bot.storage import Database

T = TypeVar("T")


@dataclass
class Runtime:
    """Built once per process by the CLI (or a test) and handed to the app factory."""

    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    _services: dict[type, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def pseudonyms(self) -> Pseudonyms:
        """Keyed pseudonyms with ``TRUSTBOT_PSEUDONYM_KEY`` (which never enters the database)."""
        return Pseudonyms(self.settings.TRUSTBOT_PSEUDONYM_KEY)

    def service(self, kind: type[T], make: Callable[[], T] | None = None) -> T:
        """This runtime's one ``kind`` (made by ``make``, or ``kind()``, on first use): the
        per-process caches every request shares, such as the ``users.info`` directory,
        instead of module globals that two apps in one process would share."""
        found = self._services.get(kind)
        if found is None:
            found = self._services[kind] = make() if make is not None else kind()
        return found
