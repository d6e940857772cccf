"""Salesforce: Outbound Messages (SOAP) and signed JSON callouts (Flow or Apex) as deal updates.

**Outbound Messages** (a workflow rule's or a flow's "outbound message" action on Opportunity)
arrive exactly as Salesforce sends them: a SOAP 1.1 envelope whose body is a ``notifications``
element (namespace ``http://soap.sforce.com/2005/09/outbound``) with ``OrganizationId``,
``ActionId``, ``SessionId``, ``EnterpriseUrl``, ``PartnerUrl`` and 1 to 100 ``Notification``
elements, each an ``Id`` (the notification's) and an ``sObject`` of
``xsi:type="sf:Opportunity"`` holding the fields the admin selected. :func:`parse_outbound_message`
reads it with defusedxml, refusing any DTD (no SOAP message carries one), entity or external
reference. Notifications about other objects are ignored. The ``SessionId`` (a live API token
when "Send Session ID" is on) is never read.

**Callouts** (Apex, or anything that can sign a body): a JSON body
``{"org_id": "00D...", "opportunities": [<Opportunity>...], "previous": [<Opportunity>...]}``
signed like the deal webhook, where each Opportunity is what Apex's ``JSON.serialize`` makes
of a queried record (``Owner.Email`` as ``{"Owner": {"Email": ...}}``) and the optional
``previous`` is the trigger's ``Trigger.old``: :func:`parse_callout`.

**What changed.** Salesforce sends current values only, never the previous ones, so each
notification is compared with the deal's last known state (:mod:`~.last_known`); the first
message about a deal records it, and is itself an update only when the deal was just created
(``CreatedDate`` within a minute of ``LastModifiedDate``) or is closed. Alternatively an admin
defines one Outbound Message per rule (``ISCHANGED(StageName)``, ``ISCHANGED(CloseDate)``...)
and maps each ``ActionId`` to its change (``TRUSTBOT_SALESFORCE_ACTIONS``): the message then
says what changed, also the first time. Either way, what each field means (fields from the
Opportunity field reference; research note §6):

- ``StageName``: ``stage_changed``, from the last known stage to this one;
- ``IsClosed`` and ``IsWon`` (derived from the stage's OpportunityStage row): ``won`` when
  closed and won, ``lost`` when closed and not won, whatever the stage's label says;
- ``CloseDate``: ``close_date_changed``;
- ``Amount``: ``amount_changed``, compared as numbers (``45000.0`` is ``45000``);
- ``Discount__c``: ``discount_requested`` with the percentage, when above 0 (Opportunity has no
  standard discount field; a custom percent field is usual);
- ``Type``: the deal's type (renewal, expansion...), kept in the last known state;
- ``Owner_Email__c``, ``OwnerEmail__c`` or ``OwnerEmail``: the rep, by e-mail (an Outbound
  Message carries no related field such as ``Owner.Email``, so a formula field holds it;
  without one the update is kept for an unknown rep; ``OwnerId`` is not used);
- ``SystemModstamp``, else ``LastModifiedDate``: when it happened; news older than the last
  known state is ignored (delivery may be out of order);
- ``CreatedDate``: a deal created within a minute of its last change is a new deal.

Delivery is at least once: a notification whose ``Id`` was seen is not processed again
(:data:`~.last_known.KEEP_SEEN` per deal), and each update's ``event_id`` is
``<notification id>:<change>``, unique in storage like every source's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.core.deals import last_known
from bot.core.deals.last_known import DealFields, LastKnown
from bot.core.deals.model import DealUpdate, PayloadError
from bot.core.deals.stages import NOT_WON, StageFacts, StageKind, classify_stage
from bot.core.deals.storing import Receipt, Recorder
from bot.core.prompts import DealChange
from bot.runtime import Runtime
from bot.runtime.settings import SALESFORCE_ID, salesforce_case_suffix

log = logging.getLogger(__name__)

SALESFORCE: Final = "salesforce"
"""``DealEvent.source`` of Salesforce's updates."""

SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND: Final = "http://soap.sforce.com/2005/09/outbound"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS: Final = 100  # the WSDL's maxOccurs
MAX_OPPORTUNITIES: Final = 200  # a callout: one trigger batch
NEW_WITHIN: Final = timedelta(minutes=1)

OWNER_EMAIL_FIELDS: Final = ("Owner_Email__c", "OwnerEmail__c", "OwnerEmail", "Owner.Email")
DISCOUNT_FIELD: Final = "Discount__c"
TRACKED: Final[Mapping[str, str]] = {  # Opportunity field -> LastKnown attribute
    "StageName": "stage",
    "CloseDate": "close_date",
    "Amount": "amount",
    DISCOUNT_FIELD: "discount",
    "IsClosed": "is_closed",
    "IsWon": "is_won",
    "Type": "deal_type",
}
_TEXT: Final = ("Name", "StageName", "CloseDate", "Amount", DISCOUNT_FIELD, "Type")
_FLAGS: Final = ("IsClosed", "IsWon")
_INSTANTS: Final = ("CreatedDate", "LastModifiedDate", "SystemModstamp")
READ: Final = frozenset({"Id", *_TEXT, *_FLAGS, *_INSTANTS, *OWNER_EMAIL_FIELDS})
"""The Opportunity fields read; any other field the admin selected is ignored."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BOOLEANS: Final = {"true": True, "1": True, "false": False, "0": False}  # xsd:boolean


# --------------------------------------------------------------------------- the messages


@dataclass(frozen=True, kw_only=True)
class Opportunity(DealFields):
    """The fields of one Opportunity we read, as sent; ``sent`` names those the message
    carried (a field the admin did not select is unknown, not empty). ``modified_at`` is
    SystemModstamp, else LastModifiedDate."""

    id: str
    sent: frozenset[str]
    name: str | None = None
    created_at: datetime | None = None
    owner_email: str | None = None


@dataclass(frozen=True)
class Notification:
    """One notification: its id, the opportunity now, and (from a trigger) before."""

    id: str
    opportunity: Opportunity
    previous: Opportunity | None = None


@dataclass(frozen=True)
class Message:
    """One request from Salesforce: its organisation, rule and notifications."""

    organization_id: str
    action_id: str | None
    notifications: tuple[Notification, ...]
    ignored: int = 0  # notifications about other objects


def same_org(configured: str, received: str) -> bool:
    """True when two organisation ids name one org: the 15-character form is the id (the
    18-character one adds a case-safe suffix; Salesforce's URLs use 15, its messages 18)."""
    return len(received) in (15, 18) and configured[:15] == received[:15]


def id18(value: str) -> str:
    """A Salesforce id in its 18-character form."""
    return value if len(value) == 18 else value + salesforce_case_suffix(value)


def _local(tag: object) -> str | None:
    return tag.rpartition("}")[2] if isinstance(tag, str) else None


def _child_text(parent: Element, name: str, field: str, *, required: bool = True) -> str | None:
    element = parent.find(f"{{{OUTBOUND}}}{name}")
    text = (element.text or "").strip() if element is not None else ""
    if not text:
        if required:
            raise PayloadError(f"{field} is required", field)
        return None
    return text


def _salesforce_id(value: str | None, field: str) -> str:
    if value is None:
        raise PayloadError(f"{field} is required", field)
    if not SALESFORCE_ID.match(value):
        raise PayloadError(f"{field}: not a Salesforce ID (15 or 18 letters and digits)", field)
    return value


def parse_outbound_message(body: bytes) -> Message:
    """An Outbound Message's body as a :class:`Message`, or :class:`PayloadError` naming the
    first bad part (``body`` for XML that is malformed, or has a DTD or entities)."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException as error:
        raise PayloadError(f"refused XML ({type(error).__name__})", "body") from None
    except (ParseError, ValueError, LookupError) as error:  # pyexpat: "multi-byte encodings
        # are not supported" (UTF-7, UTF-16 declared) is a ValueError
        raise PayloadError(f"body is not well-formed XML: {error}", "body") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise PayloadError("body is not a SOAP 1.1 envelope", "Envelope")
    notifications = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notifications")
    if notifications is None:
        raise PayloadError("the SOAP body holds no Salesforce notifications", "notifications")
    org = _salesforce_id(
        _child_text(notifications, "OrganizationId", "OrganizationId"), "OrganizationId"
    )
    action = _child_text(notifications, "ActionId", "ActionId", required=False)
    items = notifications.findall(f"{{{OUTBOUND}}}Notification")
    if not items:
        raise PayloadError("Notification is required", "Notification")
    if len(items) > MAX_NOTIFICATIONS:
        raise PayloadError(f"at most {MAX_NOTIFICATIONS} Notification elements", "Notification")
    parsed: list[Notification] = []
    ignored = 0
    for i, item in enumerate(items):
        where = f"Notification[{i}]"
        notification_id = _salesforce_id(_child_text(item, "Id", f"{where}.Id"), f"{where}.Id")
        sobject = item.find(f"{{{OUTBOUND}}}sObject")
        if sobject is None:
            raise PayloadError(f"{where}.sObject is required", f"{where}.sObject")
        if sobject.get(f"{{{XSI}}}type", "").rpartition(":")[2] != "Opportunity":
            ignored += 1
            continue
        values: dict[str, object] = {}
        for child in sobject:
            name = _local(child.tag)
            if name in READ:
                nil = child.get(f"{{{XSI}}}nil", "").strip() in ("true", "1")
                values[name] = None if nil else (child.text or "").strip()
        opportunity = _opportunity(values, f"{where}.sObject.")
        parsed.append(Notification(notification_id, opportunity))
    action_id = _salesforce_id(action, "ActionId") if action else None
    return Message(org, action_id, tuple(parsed), ignored)


def parse_callout(body: bytes) -> Message:
    """A signed JSON callout's body (module docstring) as a :class:`Message`."""

    def constant(name: str) -> object:
        raise ValueError(f"{name} is not a number")

    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise PayloadError(f"body is not valid JSON: {error}", "body") from None
    if not isinstance(data, dict):
        raise PayloadError("body must be a JSON object", "body")
    org = data.get("org_id")
    if org is not None and not isinstance(org, str):
        raise PayloadError("org_id: expected a string", "org_id")
    opportunities = data.get("opportunities")
    if not isinstance(opportunities, list) or not opportunities:
        raise PayloadError("opportunities: expected a non-empty array", "opportunities")
    if len(opportunities) > MAX_OPPORTUNITIES:
        raise PayloadError(f"at most {MAX_OPPORTUNITIES} opportunities", "opportunities")
    previous_list = data.get("previous") or []
    if not isinstance(previous_list, list):
        raise PayloadError("previous: expected an array", "previous")
    previous: dict[str, Opportunity] = {}
    for i, record in enumerate(previous_list):
        before = _opportunity(_flat(record, f"previous[{i}]"), f"previous[{i}].")
        previous[before.id] = before
    parsed = []
    for i, record in enumerate(opportunities):
        values = _flat(record, f"opportunities[{i}]")
        opportunity = _opportunity(values, f"opportunities[{i}].")
        stamp = values.get("SystemModstamp") or values.get("LastModifiedDate")
        if not stamp:
            field = f"opportunities[{i}].LastModifiedDate"
            raise PayloadError(f"{field} is required (or SystemModstamp)", field)
        parsed.append(
            Notification(f"{opportunity.id}@{stamp}", opportunity, previous.get(opportunity.id))
        )
    return Message(_salesforce_id(org, "org_id") if org else "", None, tuple(parsed))


def _flat(record: object, where: str) -> dict[str, object]:
    """An Apex-serialised record as field -> text: numbers and booleans as Salesforce's SOAP
    writes them, ``{"Owner": {"Email": ...}}`` as ``Owner.Email``."""
    if not isinstance(record, dict):
        raise PayloadError(f"{where}: expected an object", where)
    values: dict[str, object] = {}
    owner = record.get("Owner")
    if isinstance(owner, dict) and "Email" in owner:
        record = {**record, "Owner.Email": owner["Email"]}
    for name, value in record.items():
        if name not in READ:
            continue
        if value is None or isinstance(value, str):
            values[name] = value
        elif isinstance(value, bool):
            values[name] = "true" if value else "false"
        elif isinstance(value, int | Decimal):
            values[name] = str(value)
        else:
            field = f"{where}.{name}"
            raise PayloadError(f"{field}: expected a string, a number, a boolean or null", field)
    return values


def _opportunity(values: Mapping[str, object], prefix: str) -> Opportunity:
    def text(name: str) -> str | None:
        value = values.get(name)
        if value is None or value == "":
            return None
        assert isinstance(value, str)
        if len(value) > 300 or "\x00" in value:
            field = prefix + name
            raise PayloadError(f"{field}: at most 300 characters, no NUL", field)
        return value

    def flag(name: str) -> bool | None:
        value = text(name)
        if value is None:
            return None
        if value.lower() not in _BOOLEANS:
            raise PayloadError(f"{prefix}{name}: expected true or false", prefix + name)
        return _BOOLEANS[value.lower()]

    def instant(name: str) -> datetime | None:
        value = text(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise PayloadError(f"{prefix}{name}: expected a date and time", prefix + name)
        return moment

    opportunity_id = id18(_salesforce_id(text("Id"), prefix + "Id"))
    email = next((text(f) for f in OWNER_EMAIL_FIELDS if text(f)), None)
    if email is not None and not _EMAIL.match(email):
        log.info("Salesforce opportunity %s: the owner e-mail is not an address", opportunity_id)
        email = None
    return Opportunity(
        id=opportunity_id,
        sent=frozenset(values),
        name=text("Name"),
        stage=text("StageName"),
        close_date=text("CloseDate"),
        amount=_number_text(text("Amount")),
        discount=_number_text(text(DISCOUNT_FIELD)),
        is_closed=flag("IsClosed"),
        is_won=flag("IsWon"),
        deal_type=text("Type"),
        created_at=instant("CreatedDate"),
        modified_at=instant("SystemModstamp") or instant("LastModifiedDate"),
        owner_email=email,
    )


def _number(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number_text(value: str | None) -> str | None:
    """A number as plain text, the same whichever way it came (``45000.0``, ``45000.00`` and
    ``45000`` are ``45000``); anything else as it was sent."""
    number = _number(value)
    if number is None:
        return value
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


# --------------------------------------------------------------------------- what changed


def merged(state: LastKnown | None, opportunity: Opportunity) -> LastKnown:
    """``state`` with every field the notification carried replaced by its value."""
    base = state or LastKnown()
    sent = {
        attribute: getattr(opportunity, attribute)
        for field, attribute in TRACKED.items()
        if field in opportunity.sent
    }
    modified = opportunity.modified_at
    if base.modified_at is not None and (modified is None or modified < base.modified_at):
        modified = base.modified_at
    return replace(base, **sent, modified_at=modified)


def _outcome(state: LastKnown) -> DealChange | None:
    """Won or lost by the CRM's flags (the name only says how, when ``IsWon`` was not sent);
    ``None`` for an open deal or when the flags were not sent."""
    if state.is_closed is None and state.is_won is None:
        return None
    kind = classify_stage(state.stage, StageFacts(state.is_closed, state.is_won))
    if kind is StageKind.WON:
        return DealChange.WON
    if kind in NOT_WON and state.is_closed:
        return DealChange.LOST
    return None


def _percent(value: str | None) -> str | None:
    number = _number(value)
    return f"{_number_text(value)}%" if number is not None and number > 0 else None


def changes(
    notification: Notification,
    known: LastKnown | None,
    *,
    action: DealChange | None,
    now: datetime,
) -> tuple[list[DealUpdate], LastKnown | None]:
    """The deal updates one notification means, and the deal's new last known state
    (``None``: nothing to save, the notification was seen before).

    ``known`` is the deal's last known state (``None``: never seen); ``action`` the change
    its Outbound Message was mapped to, if it was.
    """
    opportunity = notification.opportunity
    if known is not None and notification.id in known.seen:
        return [], None
    if (
        known is not None
        and known.modified_at is not None
        and opportunity.modified_at is not None
        and opportunity.modified_at < known.modified_at
    ):  # older than what we know: delivered out of order
        return [], known.remember(notification.id)
    after = merged(known, opportunity).remember(notification.id)
    before = merged(None, notification.previous) if notification.previous else known
    outcome = _outcome(after)

    def update(change: DealChange, from_value: str | None, to_value: str | None) -> DealUpdate:
        return DealUpdate(
            event_id=f"{notification.id}:{change.value}",
            deal_id=opportunity.id,
            deal_name=opportunity.name or f"Salesforce opportunity {opportunity.id}",
            change=change,
            occurred_at=opportunity.modified_at or now,
            from_value=from_value,
            to_value=to_value,
            rep_email=opportunity.owner_email,
        )

    if action is not None:
        return [_mapped(action, before, after, outcome, update)], after
    if before is None:
        created = opportunity.created_at
        new = created is not None and abs((opportunity.modified_at or created) - created) <= (
            NEW_WITHIN
        )
        if new or outcome is not None:
            return [update(outcome or DealChange.CREATED, None, after.stage)], after
        return [], after  # the first news of this deal: remembered, compared with next time
    updates = []
    moved = after.stage != before.stage
    closing = (after.is_closed, after.is_won) != (before.is_closed, before.is_won)
    if outcome is not None and (moved or closing):
        updates.append(update(outcome, before.stage, after.stage))
    elif moved:
        updates.append(update(DealChange.STAGE_CHANGED, before.stage, after.stage))
    if after.close_date != before.close_date:
        updates.append(update(DealChange.CLOSE_DATE_CHANGED, before.close_date, after.close_date))
    if _number(after.amount) != _number(before.amount):
        updates.append(update(DealChange.AMOUNT_CHANGED, before.amount, after.amount))
    if _number(after.discount) != _number(before.discount) and _percent(after.discount):
        updates.append(
            update(
                DealChange.DISCOUNT_REQUESTED, _percent(before.discount), _percent(after.discount)
            )
        )
    return updates, after


def _mapped(
    action: DealChange,
    before: LastKnown | None,
    after: LastKnown,
    outcome: DealChange | None,
    update: Callable[[DealChange, str | None, str | None], DealUpdate],
) -> DealUpdate:
    """The one update of a notification whose Outbound Message means ``action``: its previous
    value is the last known one, when we know one that differs."""
    base = before or LastKnown()

    def was(attribute: str) -> str | None:
        old, new = getattr(base, attribute), getattr(after, attribute)
        return old if old != new else None

    if action is DealChange.CREATED:
        return update(outcome or action, None, after.stage)
    if action in (DealChange.STAGE_CHANGED, DealChange.WON, DealChange.LOST):
        return update(outcome or action, was("stage"), after.stage)
    if action is DealChange.CLOSE_DATE_CHANGED:
        return update(action, was("close_date"), after.close_date)
    if action is DealChange.AMOUNT_CHANGED:
        return update(action, was("amount"), after.amount)
    return update(action, _percent(was("discount")), _percent(after.discount))


# --------------------------------------------------------------------------- accepting


@dataclass(frozen=True)
class Accepted:
    """What one Salesforce request stored: each update with its receipt, and how many
    notifications meant no update (other objects, repeats, stale or unchanged news)."""

    updates: list[DealUpdate]
    receipts: list[Receipt]
    ignored: int


_locks: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


def _lock(runtime: Runtime) -> asyncio.Lock:
    """One Salesforce request at a time per database handle: each reads the deals' last
    known state and writes the next one."""
    lock = _locks.get(runtime.db)
    if lock is None:
        lock = _locks[runtime.db] = asyncio.Lock()
    return lock


async def accept(
    runtime: Runtime,
    recorder: Recorder,
    workspace_id: str,
    message: Message,
    actions: Mapping[str, str] | None = None,
) -> Accepted:
    """Store the updates ``message`` means as ``accepted`` deal events, then the deals' new
    last known state (both committed when this returns).

    ``actions`` maps an Outbound Message's ``ActionId`` (15 characters) to the change it
    means (``TRUSTBOT_SALESFORCE_ACTIONS``). A crash between the two commits is safe: the
    redelivery finds the old state, means the same updates (same event ids, so stored once)
    and saves the state.
    """
    mapped = (actions or {}).get((message.action_id or "")[:15])
    action = DealChange(mapped) if mapped else None
    now = runtime.clock.now()
    async with _lock(runtime):
        ids = {n.opportunity.id for n in message.notifications}
        known = await last_known.load(runtime.db, workspace_id, SALESFORCE, ids)
        states: dict[str, LastKnown] = {}
        updates: list[DealUpdate] = []
        quiet = message.ignored
        for notification in message.notifications:
            deal_id = notification.opportunity.id
            found, state = changes(
                notification, states.get(deal_id, known.get(deal_id)), action=action, now=now
            )
            updates += found
            quiet += not found
            if state is not None:
                states[deal_id] = state
        receipts = await recorder.store(workspace_id, SALESFORCE, updates) if updates else []
        await last_known.save(runtime.db, workspace_id, SALESFORCE, states, now)
    return Accepted(updates, receipts, quiet)
