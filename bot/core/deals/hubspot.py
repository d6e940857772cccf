"""HubSpot deal webhooks (v1/v3 notifications): a batch of events as deal updates."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from bot.core.deals.model import (
    DealUpdate,
    Email,
    HubSpotValue,
    Label,
    PayloadError,
    payload_error,
)
from bot.core.prompts import DealChange

log = logging.getLogger(__name__)


HUBSPOT_PROPERTIES: Final = {
    "dealstage": DealChange.STAGE_CHANGED,
    "closedate": DealChange.CLOSE_DATE_CHANGED,
    "amount": DealChange.AMOUNT_CHANGED,
}
HUBSPOT_WON, HUBSPOT_LOST = "closedwon", "closedlost"
MAX_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


class HubSpotEvent(BaseModel):
    """One element of a HubSpot webhook batch (the fields we read; others are ignored).

    HubSpot's events carry no deal owner. A relay may add ``hubspot_owner_email`` (the
    owner's e-mail) to name the rep; without it the event is kept as ``unknown_rep``.
    """

    model_config = ConfigDict(strict=True, extra="ignore")

    eventId: Annotated[int, Field(ge=0)]  # HubSpot's field names
    subscriptionType: Label
    objectId: Annotated[int, Field(ge=0)]
    occurredAt: Annotated[int, Field(ge=0, le=MAX_MS)]
    portalId: Annotated[int, Field(ge=0)] | None = None
    propertyName: Label | None = None
    propertyValue: HubSpotValue | None = None
    hubspot_owner_email: Email | None = None

    def change(self) -> DealChange | None:
        """The deal change this event means, or ``None`` for events we do not map."""
        if self.subscriptionType == "deal.creation":
            return DealChange.CREATED
        if self.subscriptionType != "deal.propertyChange" or self.propertyName is None:
            return None
        change = HUBSPOT_PROPERTIES.get(self.propertyName)
        if change is DealChange.STAGE_CHANGED:
            value = (self.propertyValue or "").strip().lower()
            if value == HUBSPOT_WON:
                return DealChange.WON
            if value == HUBSPOT_LOST:
                return DealChange.LOST
        return change

    def key(self) -> str:
        """Our ``event_id``. HubSpot says its ``eventId`` is not guaranteed unique, so the key
        also holds what a retry repeats: portal, object, property and time."""
        return ":".join(
            str(part)
            for part in (
                self.portalId if self.portalId is not None else "-",
                self.eventId,
                self.objectId,
                self.propertyName or self.subscriptionType,
                self.occurredAt,
            )
        )

    def normalised(self, change: DealChange) -> DealUpdate:
        value = self.propertyValue or None
        if change is DealChange.CLOSE_DATE_CHANGED and value and value.isdecimal():
            value = _ms(int(value)).date().isoformat() if int(value) <= MAX_MS else value
        return DealUpdate(
            event_id=self.key(),
            deal_id=str(self.objectId),
            deal_name=f"HubSpot deal {self.objectId}",
            change=change,
            occurred_at=_ms(self.occurredAt),
            to_value=value,
            rep_email=self.hubspot_owner_email,
        )


def _ms(millis: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)


@dataclass(frozen=True)
class HubSpotBatch:
    """The deal updates of one HubSpot request, and how many of its events we do not map."""

    updates: list[DealUpdate]
    ignored: int


_HUBSPOT_BODY: TypeAdapter[list[HubSpotEvent]] = TypeAdapter(list[HubSpotEvent])


def parse_hubspot(body: bytes | str) -> HubSpotBatch:
    """A HubSpot webhook body (a JSON array of events) as deal updates, or
    :class:`PayloadError` naming the first bad field (``[2].objectId``)."""
    try:
        events = _HUBSPOT_BODY.validate_json(body, strict=True)
    except ValidationError as exc:
        if exc.errors(include_url=False)[0]["type"] in ("json_invalid", "list_type"):
            raise PayloadError("body must be a JSON array of HubSpot events", "body") from None
        raise payload_error(exc) from None
    updates: list[DealUpdate] = []
    ignored = 0
    for event in events:
        change = event.change()
        if change is None:
            ignored += 1
        else:
            updates.append(event.normalised(change))
    return HubSpotBatch(updates, ignored)
