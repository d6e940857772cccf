"""One deal update, whatever its source: the model, the webhook's JSON schema, Slack message
metadata; the sources, statuses and resolver types every part of :mod:`bot.core.deals` uses."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bot.core.prompts import DealChange

# Sources (DealEvent.source)
WEBHOOK: Final = "webhook"
HUBSPOT: Final = "hubspot"
SLACK: Final = "slack"

DEAL_UPDATED: Final = "deal_updated"
"""The message-metadata ``event_type`` that carries a deal update."""

# DealEvent.status
ACCEPTED: Final = "accepted"
NUDGED: Final = "nudged"
DEFERRED: Final = "deferred"
UNKNOWN_REP: Final = "unknown_rep"
SKIPPED: Final = "skipped"
WAITING: Final = "waiting"
"""A new deal at a stage before anyone met the buyer: no nudge; seed 000's questions wait for
the first move past it (:func:`bot.core.deals.rules.waits_for_contact`)."""

ResolveEmail = Callable[[str, str], Awaitable[str | None]]
"""``(workspace_id, email) -> Slack user ID``, or ``None`` when Slack knows no such user.
Raise for a transient failure: the event stays ``accepted`` and is tried again later."""

WorkspaceResolver = Callable[[], Awaitable[str | None]]
"""Which workspace an incoming webhook belongs to (``None``: none installed yet)."""


@dataclass(frozen=True)
class DealUpdate:
    """One deal change, whatever its source. ``rep_user_id`` wins over ``rep_email``."""

    event_id: str
    deal_id: str
    deal_name: str
    change: DealChange
    occurred_at: datetime
    from_value: str | None = None
    to_value: str | None = None
    rep_user_id: str | None = None
    rep_email: str | None = None


class PayloadError(ValueError):
    """A payload that does not follow the schema; ``field`` names the first bad field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _scalar(value: object) -> object:
    """``from`` / ``to``: a string, or a number (amounts), kept as its decimal text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a string, a number or null")
    if isinstance(value, int):
        if abs(value) >= 10**30:
            raise ValueError("number too large")
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("number must be finite")
        return repr(value)
    raise ValueError("expected a string, a number or null")


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None


def _text(max_length: int, *, min_length: int = 0, pattern: str | None = None) -> StringConstraints:
    return StringConstraints(
        strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=pattern
    )


# Strings: length and pattern checked, surrounding space stripped, no NUL (PostgreSQL text
# cannot hold one).
NoNul = AfterValidator(_no_nul)
Id = Annotated[str, _text(200, min_length=1), NoNul]
Name = Annotated[str, _text(300, min_length=1), NoNul]
Value = Annotated[Annotated[str, _text(300), NoNul] | None, BeforeValidator(_scalar)]
Email = Annotated[str, _text(320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), NoNul]
SlackUserId = Annotated[str, _text(32, pattern=r"^[UW][A-Z0-9]{2,31}$"), NoNul]
Label = Annotated[str, _text(100), NoNul]
HubSpotValue = Annotated[str, _text(300), NoNul]
Instant = Annotated[AwareDatetime, AfterValidator(_utc)]


class _Rep(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    slack_user_id: SlackUserId | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _one_of(self) -> _Rep:
        if self.slack_user_id is None and self.email is None:
            raise ValueError("needs slack_user_id or email")
        return self


class WebhookBody(BaseModel):
    """The deal webhook's JSON (PRODUCT.md). Unknown fields are ignored, so a CRM may send
    more than we read; every field we read is type-checked strictly."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    event_id: Id
    deal_id: Id
    deal_name: Name
    rep: _Rep
    change: DealChange
    from_: Value = Field(default=None, alias="from")
    to: Value = None
    occurred_at: Instant

    def normalised(self) -> DealUpdate:
        return DealUpdate(
            event_id=self.event_id,
            deal_id=self.deal_id,
            deal_name=self.deal_name,
            change=self.change,
            occurred_at=self.occurred_at,
            from_value=self.from_ or None,
            to_value=self.to or None,
            rep_user_id=self.rep.slack_user_id,
            rep_email=self.rep.email,
        )


def _field(loc: Sequence[int | str], prefix: str = "") -> str:
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in loc]
    text = ".".join(parts).replace(".[", "[")
    return (prefix + text) if text else (prefix.rstrip(".") or "body")


def payload_error(exc: ValidationError, prefix: str = "") -> PayloadError:
    err = exc.errors(include_url=False)[0]
    if err["type"] == "json_invalid":
        return PayloadError(f"body is not valid JSON: {err['msg']}", "body")
    field = _field(tuple(err.get("loc", ())), prefix)
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return PayloadError(f"{field} is required", field)
    return PayloadError(f"{field}: {msg}", field)


def parse_webhook(body: bytes | str) -> DealUpdate:
    """The deal webhook's body as a :class:`DealUpdate`, or :class:`PayloadError`."""
    try:
        return WebhookBody.model_validate_json(body).normalised()
    except ValidationError as exc:
        raise payload_error(exc) from None


def parse_metadata(metadata: object) -> DealUpdate | None:
    """A message's ``metadata`` as a :class:`DealUpdate`; ``None`` when it is not a
    ``deal_updated`` event; :class:`PayloadError` when its ``event_payload`` is bad."""
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != DEAL_UPDATED:
        return None
    payload = metadata.get("event_payload")
    try:
        text = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError):
        raise PayloadError("event_payload is not JSON", "event_payload") from None
    try:
        return WebhookBody.model_validate_json(text).normalised()
    except ValidationError as exc:
        raise payload_error(exc, "event_payload.") from None
