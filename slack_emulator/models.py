"""Records the emulator keeps of its traffic."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class ApiCall:
    """One Web API call the app made (or a refused one)."""

    method: str
    args: JsonDict
    status: int
    response: JsonDict | None
    time: float = field(default_factory=time.time)
    token: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        if self.response is None:
            return None
        error = self.response.get("error")
        return str(error) if error is not None else None


@dataclass
class AppDelivery:
    """One payload the emulated Slack delivered to the app (a signed HTTP request or a Socket
    Mode envelope), and what the app answered. Not the product's ``Delivery`` (a DM in the
    outbox)."""

    kind: str
    payload: JsonDict
    status: int
    body: JsonDict | str | None
    headers: dict[str, str] = field(default_factory=dict)
    via: str = "http"
    envelope_id: str | None = None
    event_id: str | None = None
    trigger_id: str | None = None
    response_url: str | None = None
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    timed_out: bool = False
    time: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        """True when the app acknowledged in time with a 2xx."""
        return not self.timed_out and 200 <= self.status < 300


@dataclass
class ValidationFailure:
    """A Block Kit payload the emulator refused (API call, response_url post or ack)."""

    source: str
    surface: str
    errors: list[str]
    payload: Any
    time: float = field(default_factory=time.time)


@dataclass
class ResponseUrlPost:
    """One POST the app made to a response_url."""

    url: str
    body: JsonDict
    status: int
    errors: list[str] = field(default_factory=list)
    time: float = field(default_factory=time.time)
