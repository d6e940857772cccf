"""Deal updates: one normalised model for every source, stored once, turned into nudges.

Three sources feed the same :class:`DealUpdate`:

- ``webhook``: ``POST /webhooks/deals`` (PRODUCT.md, "Deal webhook"), parsed by
  :func:`parse_webhook`;
- ``hubspot``: HubSpot deal property-change notifications, :func:`parse_hubspot`;
- ``slack``: ``message_metadata_posted`` events whose metadata ``event_type`` is
  ``deal_updated`` and whose ``event_payload`` is the webhook's JSON, :func:`parse_metadata`.

Life of an update:

1. :func:`store` (or :class:`Recorder`, which lets concurrent requests share a commit)
   records it as a :class:`~bot.storage.models.DealEvent` with status ``accepted`` before
   anyone is answered. ``(workspace, source, event_id)`` is unique in the database, so a repeat is
   recognised (and acknowledged, not stored) even across restarts.
2. :func:`process_events` runs afterwards (in the background: :class:`Pipeline`): it
   resolves the rep (Slack user ID as given, or e-mail via the ``resolve_email`` callable,
   which may call Slack), picks the moment (:func:`moment_for`), applies
   :mod:`bot.guardrails` and plans a ``nudge`` row in the outbox
   (:class:`~bot.storage.models.Delivery`). The event ends ``nudged`` (due now),
   ``deferred`` (planned for a later slot), ``skipped`` (paused team, snoozed or opted-out
   rep, nudges off, no slot within a week) or ``unknown_rep`` (no such Slack user, or not a
   rep of any team): kept, and listed by :func:`unknown_reps` for ``/trust status``.
3. :func:`process_pending` finds events still ``accepted`` (the process stopped between 1
   and 2, or Slack was unreachable) and processes them: run it at start-up and periodically.

Plain Python over the storage layer: nothing here imports Slack's libraries.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import operator
import re
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, NamedTuple, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    func,
    insert,
    tuple_,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, select

from bot.core import guardrails
from bot.core.checkins import add_working_time
from bot.core.prompts import DealChange, InvestmentRule, PromptBank, default_bank
from bot.core.pseudonym import pseudonym
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import Clock
from bot.storage.db import SQLITE_BUSY_TIMEOUT_MS, configure_sqlite, sync_url
from bot.storage.models import DealEvent, Delivery, Workspace

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = [
    "DEAL_UPDATED",
    "HUBSPOT",
    "SLACK",
    "WEBHOOK",
    "DealUpdate",
    "EmailCache",
    "HubSpotBatch",
    "NudgeContent",
    "PayloadError",
    "Pipeline",
    "Processed",
    "Receipt",
    "Recorder",
    "ResolveEmail",
    "UnknownRep",
    "UnknownReps",
    "WorkspaceResolver",
    "answer_context",
    "moment_for",
    "nudge_context",
    "parse_hubspot",
    "parse_metadata",
    "parse_webhook",
    "process_event",
    "process_events",
    "process_pending",
    "receive_metadata",
    "single_workspace",
    "store",
    "unknown_reps",
]

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

ResolveEmail = Callable[[str, str], Awaitable[str | None]]
"""``(workspace_id, email) -> Slack user ID``, or ``None`` when Slack knows no such user.
Raise for a transient failure: the event stays ``accepted`` and is tried again later."""

WorkspaceResolver = Callable[[], Awaitable[str | None]]
"""Which workspace an incoming webhook belongs to (``None``: none installed yet)."""


# --------------------------------------------------------------------------- the model


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


def _payload_error(exc: ValidationError, prefix: str = "") -> PayloadError:
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
        raise _payload_error(exc) from None


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
        raise _payload_error(exc, "event_payload.") from None


# --------------------------------------------------------------------------- HubSpot

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
        raise _payload_error(exc) from None
    updates: list[DealUpdate] = []
    ignored = 0
    for event in events:
        change = event.change()
        if change is None:
            ignored += 1
        else:
            updates.append(event.normalised(change))
    return HubSpotBatch(updates, ignored)


# --------------------------------------------------------------------------- storing

_DEAL_EVENTS = DealEvent.__table__  # type: ignore[attr-defined]

_planning_locks: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()
_write_locks: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


def _lock(locks: weakref.WeakKeyDictionary[object, asyncio.Lock], runtime: Runtime) -> asyncio.Lock:
    lock = locks.get(runtime.db)
    if lock is None:
        lock = locks[runtime.db] = asyncio.Lock()
    return lock


def _planning_lock(runtime: Runtime) -> asyncio.Lock:
    """One planner at a time per database handle, so guardrail counts stay exact (across
    processes on PostgreSQL, the teams' row locks do the same)."""
    return _lock(_planning_locks, runtime)


def _write_lock(runtime: Runtime) -> asyncio.Lock:
    """SQLite: one writer at a time per process. Writers queue here instead of in SQLite's
    busy handler, which sleeps up to 100 ms between retries."""
    return _lock(_write_locks, runtime)


@dataclass(frozen=True)
class Receipt:
    """The stored event's id; ``created`` is False for a repeat of one already stored."""

    id: int
    event_id: str
    created: bool


def _values(workspace_id: str, source: str, update: DealUpdate, now: datetime) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "source": source,
        "event_id": update.event_id,
        "deal_id": update.deal_id,
        "deal_name": update.deal_name,
        "change": update.change.value,
        "from_value": update.from_value,
        "to_value": update.to_value,
        "rep_user_id": update.rep_user_id,
        "rep_email": update.rep_email,
        "status": ACCEPTED,
        "occurred_at": update.occurred_at,
        "received_at": now,
    }


_ROW_COLUMNS = (
    "workspace_id",
    "source",
    "event_id",
    "deal_id",
    "deal_name",
    "change",
    "from_value",
    "to_value",
    "rep_user_id",
    "rep_email",
    "status",
    "occurred_at",
    "received_at",
)
"""The columns :func:`_values` gives."""

Batch = tuple[str, str, Sequence[DealUpdate]]
"""``(workspace_id, source, updates)``: what one request stores."""

MAX_KEYS = 500  # keys per SELECT

KEY_COLUMNS = ("workspace_id", "source", "event_id")
"""A deal event's identity: an ``event_id`` is its source's, within one workspace."""
Key = tuple[str, str, str]  # (workspace_id, source, event_id)


SQLITE_ROWS = 500  # rows per INSERT on SQLite: 13 parameters each, under its limit of 32,766


@functools.lru_cache(maxsize=64)  # the common batch sizes; a statement is up to ~20 KB
def _sqlite_insert(rows: int) -> str:
    """SQLite: ``INSERT ... VALUES (...), ... ON CONFLICT (workspace_id, source, event_id) DO
    NOTHING RETURNING id, <key>`` for ``rows`` rows, as the driver's SQL."""
    table, names = _DEAL_EVENTS, ", ".join(_ROW_COLUMNS)
    one = "(" + ", ".join("?" * len(_ROW_COLUMNS)) + ")"
    key = ", ".join(KEY_COLUMNS)
    # names from the table's definition; the values go as parameters
    values = ", ".join([one] * rows)
    return (
        f"INSERT INTO {table.name} ({names}) VALUES {values}"  # noqa: S608
        f" ON CONFLICT ({key}) DO NOTHING RETURNING id, {key}"
    )


@functools.cache
def _postgresql_insert() -> Any:
    """PostgreSQL: the same INSERT taking one array per column (``SELECT unnest(...)``), so
    the statement is one short text whatever the number of rows (psycopg parses a long one
    anew each time: a sixth of the server's time in bench/webhook)."""
    table = _DEAL_EVENTS
    arrays = [
        func.unnest(bindparam(name, type_=postgresql.ARRAY(table.c[name].type)))
        for name in _ROW_COLUMNS
    ]
    return (
        postgresql.insert(table)
        .from_select(list(_ROW_COLUMNS), sa_select(*arrays))
        .on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))
        .returning(table.c.id, *(table.c[name] for name in KEY_COLUMNS))
    )


@functools.cache
def _bind_processors(dialect: Any) -> tuple[Callable[[Any], Any] | None, ...]:
    """Each column's conversion to the driver's value (the UTC instants), by SQLAlchemy."""
    columns = (_DEAL_EVENTS.c[name] for name in _ROW_COLUMNS)
    return tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)


def _inserted(connection: Connection, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert ``rows``, skipping those whose key is stored: the ``(id, *key)`` of those
    inserted. On SQLite the SQL goes to the driver as it is (about a third less CPU per row
    than SQLAlchemy's batching), with SQLAlchemy's own conversions of the values, each
    distinct value converted once (a batch's rows share their ``received_at``)."""
    if connection.dialect.name == "postgresql":
        columns = {name: [row[name] for row in rows] for name in _ROW_COLUMNS}
        return list(connection.execute(_postgresql_insert(), columns).all())
    converts = [(i, f) for i, f in enumerate(_bind_processors(connection.dialect)) if f]
    values = operator.itemgetter(*_ROW_COLUMNS)
    converted: dict[Any, Any] = {}
    found: list[Any] = []
    for start in range(0, len(rows), SQLITE_ROWS):
        chunk = rows[start : start + SQLITE_ROWS]
        params: list[Any] = []
        for row in chunk:
            one = list(values(row))
            for i, convert in converts:
                key = (i, one[i])
                if key not in converted:
                    converted[key] = convert(one[i])
                one[i] = converted[key]
            params += one
        found += connection.exec_driver_sql(_sqlite_insert(len(chunk)), tuple(params)).all()
    return found


def _write_rows(
    connection: Connection, rows: list[dict[str, Any]], keys: list[Key]
) -> tuple[dict[Key, int], dict[Key, int]]:
    """Insert ``rows`` skipping stored keys; the ids of the new rows and of the stored ones."""
    table = _DEAL_EVENTS
    new: dict[Key, int] = {}
    old: dict[Key, int] = {}
    for row_id, *key in _inserted(connection, rows):
        new.setdefault((key[0], key[1], key[2]), int(row_id))
    missing = sorted(set(keys) - new.keys())
    columns = [table.c[name] for name in KEY_COLUMNS]
    for start in range(0, len(missing), MAX_KEYS):
        found = connection.execute(
            sa_select(table.c.id, *columns).where(
                tuple_(*columns).in_(missing[start : start + MAX_KEYS])
            )
        )
        for row_id, *key in found.all():
            old[(key[0], key[1], key[2])] = int(row_id)
    return new, old


@dataclass(frozen=True)
class _SqliteWriter:
    """SQLite only: this process's writer of deal events, with two engines on the file.

    ``engine`` belongs to one thread (``executor``), so that a transaction is one hand-over
    to a thread instead of several per statement through aiosqlite; it waits for a busy
    database (the busy timeout). ``inline`` runs on the event loop itself, for short
    transactions: it never waits (no busy timeout; a busy database sends the transaction to
    the thread) and never checkpoints the WAL (the other connections do), so it blocks the
    loop only for the statements themselves, which cost less than the hand-over to a thread
    when one core serves everything.
    """

    executor: ThreadPoolExecutor
    engine: Engine
    inline: Connection  # kept open: a transaction costs no pool checkout and reset


_sqlite_writers: weakref.WeakKeyDictionary[object, _SqliteWriter] = weakref.WeakKeyDictionary()


def _sqlite_engine(url: Any, timeout: float) -> Engine:
    engine = create_engine(
        sync_url(url),
        connect_args={"timeout": timeout, "check_same_thread": False},
        poolclass=StaticPool,
    )
    configure_sqlite(engine)
    return engine


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _sqlite_writer(runtime: Runtime) -> _SqliteWriter:
    """The writer of ``runtime.db`` (made on first use). The write lock keeps it the only
    writer of this process while it writes."""
    writer = _sqlite_writers.get(runtime.db)
    if writer is None:
        inline = _sqlite_engine(runtime.db.url, 0)
        sa_event.listen(inline, "connect", _never_wait)  # after configure_sqlite's pragmas
        writer = _sqlite_writers[runtime.db] = _SqliteWriter(
            executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="deal-events"),
            engine=_sqlite_engine(runtime.db.url, SQLITE_BUSY_TIMEOUT_MS / 1000),
            inline=inline.connect(),
        )
        weakref.finalize(runtime.db, _close_writer, writer).atexit = False
    return writer


def _close_writer(writer: _SqliteWriter) -> None:
    writer.inline.close()
    writer.inline.engine.dispose()
    writer.executor.submit(writer.engine.dispose)
    writer.executor.shutdown(wait=False)


def _in_transaction(engine: Engine, work: Callable[..., T], *args: Any) -> T:
    with engine.begin() as connection:
        return work(connection, *args)


def _busy(error: OperationalError) -> bool:
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


async def _sqlite_write(
    runtime: Runtime, work: Callable[..., T], *args: Any, inline: bool = False
) -> T:
    """``work(connection, *args)`` in one transaction, as the process's only writer (the
    write lock): in the writer thread, or with ``inline=True`` (short work) on the event
    loop, falling back to the thread when the database is busy."""
    writer = _sqlite_writer(runtime)
    async with _write_lock(runtime):
        if inline:
            try:
                with writer.inline.begin():
                    return work(writer.inline, *args)
            except OperationalError as error:  # rolled back: nothing of it was written
                if not _busy(error):
                    raise
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            writer.executor, _in_transaction, writer.engine, work, *args
        )


async def _store_batches(runtime: Runtime, batches: Sequence[Batch]) -> list[list[Receipt]]:
    """Store several requests' updates in one transaction: one INSERT of many rows that
    skips the events already stored, one SELECT for their ids, one commit."""
    now = runtime.clock.now()
    keys = [(ws, source, u.event_id) for ws, source, updates in batches for u in updates]
    rows = [
        _values(workspace_id, source, u, now)
        for workspace_id, source, updates in batches
        for u in updates
    ]
    if runtime.db.dialect == "sqlite":
        new, old = await _sqlite_write(runtime, _write_rows, rows, keys, inline=True)
    else:
        async with runtime.db.engine.begin() as connection:
            new, old = await connection.run_sync(_write_rows, rows, keys)
    ids = {**old, **new}
    results: list[list[Receipt]] = []
    for workspace_id, source, updates in batches:
        receipts = []
        for u in updates:
            key = (workspace_id, source, u.event_id)
            created = new.pop(key, None) is not None  # only its first occurrence is new
            receipts.append(Receipt(ids[key], u.event_id, created=created))
        results.append(receipts)
    return results


async def store(
    runtime: Runtime, workspace_id: str, source: str, updates: Sequence[DealUpdate]
) -> list[Receipt]:
    """Record ``updates`` (one transaction) as ``accepted`` events; repeats are not stored.

    Committed when this returns, so an answer sent afterwards never outruns the database.
    """
    [receipts] = await _store_batches(runtime, [(workspace_id, source, updates)])
    return receipts


class Recorder:
    """:func:`store` with group commit: requests that arrive while a transaction is being
    written wait for the next one and share it, so a burst costs a few commits instead of
    one per request. Each caller still returns only after its own updates are committed.
    """

    def __init__(self, runtime: Runtime, max_batch: int = 256) -> None:
        self.runtime = runtime
        self.max_batch = max_batch
        self._waiting: list[tuple[Batch, asyncio.Future[list[Receipt]]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(
        self, workspace_id: str, source: str, updates: Sequence[DealUpdate]
    ) -> list[Receipt]:
        future: asyncio.Future[list[Receipt]] = asyncio.get_running_loop().create_future()
        self._waiting.append(((workspace_id, source, updates), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        # one turn of the loop first: the requests it has already read join this batch
        # (SQLite writes on the loop, so none would join while it writes): ~5% less CPU
        # per request in bench/webhook
        await asyncio.sleep(0)
        while self._waiting:
            taken, self._waiting = (
                self._waiting[: self.max_batch],
                self._waiting[self.max_batch :],
            )
            try:
                results = await _store_batches(self.runtime, [batch for batch, _ in taken])
            except Exception:
                # one bad request must not fail the others: store them one by one
                for batch, future in taken:
                    try:
                        result = await store(self.runtime, *batch)
                    except Exception as error:
                        if not future.done():
                            future.set_exception(error)
                    else:
                        if not future.done():
                            future.set_result(result)
                continue
            for (_, future), result in zip(taken, results, strict=True):
                if not future.done():
                    future.set_result(result)


# --------------------------------------------------------------------------- rules

EARLY_STAGES: Final = ("lead", "prospect", "qualif", "discover", "appointment", "new", "intro")
WON_STAGES: Final = frozenset({"won", "closedwon", "win"})
LOST_STAGES: Final = frozenset({"lost", "closedlost", "dead"})


def moment_for(change: DealChange | str, to_value: str | None = None) -> DealChange:
    """The moment whose prompts a nudge asks (PRODUCT.md's moments, from the seeds).

    Every change is its own moment, except a stage change, which reads the new stage:
    into won / lost it is that moment; into an early stage (lead, prospect, qualification,
    discovery, HubSpot's ``appointmentscheduled`` / ``qualifiedtobuy`` ...) it asks seed
    000's three investment questions (the ``created`` moment); any later stage is the
    move toward contract (reliability, seed 002).
    """
    change = DealChange(change)
    if change is not DealChange.STAGE_CHANGED or not to_value:
        return change
    stage = re.sub(r"[^a-z]", "", to_value.lower())
    if stage in WON_STAGES:
        return DealChange.WON
    if stage in LOST_STAGES:
        return DealChange.LOST
    if stage.startswith(EARLY_STAGES):
        return DealChange.CREATED
    return change


# --------------------------------------------------------------------------- processing


FAILED: Final = "failed"
"""Not a status: an event left ``accepted`` because resolving its rep failed."""

LOOKUPS_AT_ONCE = 8
BATCH = 1000  # deal events planned in one transaction
LINGER_SECONDS = 0.3  # how long the background step lets a burst gather before planning it


@dataclass(frozen=True)
class Processed:
    """What :func:`process_events` did: each event's status, and the errors that left some
    ``accepted`` (to be tried again)."""

    statuses: dict[int, str]
    errors: dict[int, Exception]


class _Event(NamedTuple):
    """The columns of a deal event that processing reads."""

    id: int
    workspace_id: str
    deal_id: str
    status: str
    rep_user_id: str | None
    rep_email: str | None


def _events_query(
    ids: Sequence[int], *, accepted_only: bool, lock: bool, by_email: bool = False
) -> Any:
    """The events among ``ids`` (Core, without the ORM's cost), in id order; ``by_email``:
    only those whose rep is given by e-mail alone."""
    table = _DEAL_EVENTS
    query = sa_select(
        table.c.id,
        table.c.workspace_id,
        table.c.deal_id,
        table.c.status,
        table.c.rep_user_id,
        table.c.rep_email,
    ).where(table.c.id.in_(ids))
    if accepted_only:
        query = query.where(table.c.status == ACCEPTED)
    if by_email:
        query = query.where(table.c.rep_user_id.is_(None), table.c.rep_email.is_not(None))
    if lock:
        query = query.with_for_update()
    return query.order_by(table.c.id)


_SET_STATUS = (
    update(_DEAL_EVENTS)
    .where(_DEAL_EVENTS.c.id == bindparam("b_id"), _DEAL_EVENTS.c.status == bindparam("was"))
    .values(status=bindparam("new_status"), rep_user_id=bindparam("new_user"))
)


async def _resolve_reps(
    events: Sequence[_Event], resolve_email: ResolveEmail
) -> tuple[dict[int, str | None], dict[int, Exception]]:
    """The Slack user ID (``None``: unknown) of each event's rep given by e-mail only, and the
    lookups that raised; distinct e-mails are looked up once, a few at a time."""
    emails = {(e.workspace_id, e.rep_email) for e in events if not e.rep_user_id and e.rep_email}
    found: dict[tuple[str, str], str | Exception | None] = {}
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def look(workspace_id: str, email: str) -> None:
        async with gate:
            try:
                found[(workspace_id, email)] = await resolve_email(workspace_id, email)
            except Exception as error:
                found[(workspace_id, email)] = error

    await asyncio.gather(*(look(ws, email) for ws, email in emails if email))
    users: dict[int, str | None] = {}
    errors: dict[int, Exception] = {}
    for e in events:
        if e.rep_user_id or not e.rep_email:
            continue
        result = found[(e.workspace_id, e.rep_email)]
        if isinstance(result, Exception):
            errors[e.id] = result
        else:
            users[e.id] = result
    return users, errors


def _plan(
    event: _Event, user_id: str | None, state: guardrails.RepState | None, now: datetime
) -> tuple[str, dict[str, Any] | None]:
    """One accepted event's outcome, and the outbox row of its nudge if it gets one."""
    decision = state.plan(event.deal_id, now) if state is not None else None
    if decision is None or decision.skip is guardrails.Skip.NOT_A_REP:
        return UNKNOWN_REP, None
    if decision.send_at is None:
        log.info("deal event %s skipped: %s", event.id, decision.skip)
        return SKIPPED, None
    assert user_id is not None and decision.team is not None and decision.limits
    slot = decision.send_at
    expires = add_working_time(
        slot, timedelta(days=decision.team.expire_after_days), decision.limits.tz
    )
    nudge = {
        "workspace_id": event.workspace_id,
        "kind": guardrails.NUDGE,
        "round_id": None,
        "deal_event_id": event.id,
        "user_id": user_id,
        "status": "pending",
        "planned_at": slot,
        "attempts": 0,
        "next_attempt_at": slot,
        "expires_at": expires,
        "created_at": now,
    }
    return (NUDGED if slot <= now else DEFERRED), nudge


async def process_events(
    runtime: Runtime,
    deal_event_ids: Sequence[int],
    resolve_email: ResolveEmail,
    *,
    lookups: bool = True,
) -> Processed:
    """Resolve the reps, apply the guardrails and plan the nudges of accepted events, in
    one transaction (in id order, so earlier events get the earlier slots).

    Events no longer ``accepted`` are left alone, so running this twice (the background
    step and :func:`process_pending` racing) plans one nudge per event. An event whose
    e-mail lookup raised stays ``accepted``; its error is in :attr:`Processed.errors`.
    ``lookups=False`` says no event names its rep by e-mail only (one query fewer); one that
    does stays ``accepted``, for :func:`process_pending`.
    """
    ids = sorted(set(deal_event_ids))
    resolved: dict[int, str | None] = {}
    errors: dict[int, Exception] = {}
    if lookups:
        async with runtime.db.engine.connect() as connection:
            query = _events_query(ids, accepted_only=True, lock=False, by_email=True)
            found = [_Event(*row) for row in (await connection.execute(query)).all()]
        resolved, errors = await _resolve_reps(found, resolve_email)
    plan = functools.partial(
        _plan_events,
        clock=runtime.clock,
        pseudonym_key=runtime.settings.TRUSTBOT_PSEUDONYM_KEY or None,
        ids=ids,
        resolved=resolved,
    )
    async with _planning_lock(runtime):
        if runtime.db.dialect == "sqlite":  # reads and writes in the writer thread
            statuses = await _sqlite_write(runtime, plan)
        else:  # the rows read FOR UPDATE stay locked until the plan is written
            async with runtime.db.engine.begin() as connection:
                statuses = await connection.run_sync(plan)
    return Processed(statuses, errors)


def _rep_of(event: _Event, resolved: Mapping[int, str | None]) -> tuple[bool, str | None]:
    """Whether ``event`` can be planned now, and its rep's Slack user ID (``None``: unknown)."""
    if event.rep_user_id or not event.rep_email:
        return True, event.rep_user_id  # by Slack ID, or no rep given at all
    if event.id in resolved:
        return True, resolved[event.id]
    return False, None  # by e-mail, not looked up (or the lookup failed): later


def _plan_events(
    connection: Connection,
    *,
    clock: Clock,
    pseudonym_key: str | None,
    ids: Sequence[int],
    resolved: Mapping[int, str | None],
) -> dict[int, str]:
    """Plan the events among ``ids`` still ``accepted`` whose rep is known (by Slack ID, or
    by e-mail in ``resolved``) and write the plan, in the caller's transaction; every
    event's status."""
    now = clock.now()
    query = _events_query(ids, accepted_only=False, lock=True)
    rows = [_Event(*row) for row in connection.execute(query).all()]
    statuses = {r.id: r.status for r in rows}
    users: dict[int, str | None] = {}
    for row in rows:
        ready, user_id = _rep_of(row, resolved)
        if row.status == ACCEPTED and ready:
            users[row.id] = user_id
    todo = [r for r in rows if r.id in users]
    nudges: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    with Session(bind=connection) as session:
        for workspace_id in sorted({r.workspace_id for r in todo}):
            mine = [r for r in todo if r.workspace_id == workspace_id]
            reps = {u for r in mine if (u := users[r.id])}
            states = guardrails.rep_states(
                session, pseudonym_key, workspace_id, reps, now, lock=True
            )
            for event in mine:
                user_id = users[event.id]
                state = states.get(user_id) if user_id else None
                status, nudge = _plan(event, user_id, state, now)
                statuses[event.id] = status
                changes.append(
                    {"b_id": event.id, "was": ACCEPTED, "new_status": status, "new_user": user_id}
                )
                if nudge is not None:
                    nudges.append(nudge)
    _apply_plan(connection, nudges, changes)
    return statuses


def _apply_plan(
    connection: Connection, nudges: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> None:
    if nudges:
        connection.execute(insert(Delivery.__table__), nudges)  # type: ignore[attr-defined]
    if not changes:
        return
    if connection.dialect.name == "sqlite":  # the driver's executemany: one C loop
        sql, parameters = _sqlite_set_status()
        connection.exec_driver_sql(sql, [parameters(change) for change in changes])
    else:
        connection.execute(_SET_STATUS, changes)


@functools.cache
def _sqlite_set_status() -> tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
    """:data:`_SET_STATUS` as SQLAlchemy compiles it for SQLite: the SQL text, and what
    turns one change into its positional parameters."""
    compiled = _SET_STATUS.compile(dialect=sqlite.dialect())
    return str(compiled), operator.itemgetter(*(compiled.positiontup or ()))


async def process_event(runtime: Runtime, deal_event_id: int, resolve_email: ResolveEmail) -> str:
    """:func:`process_events` for one event: its status. If ``resolve_email`` raises, the
    event stays ``accepted`` and the error propagates."""
    done = await process_events(runtime, [deal_event_id], resolve_email)
    if deal_event_id in done.errors:
        raise done.errors[deal_event_id]
    if deal_event_id not in done.statuses:
        raise LookupError(f"no deal event {deal_event_id}")
    return done.statuses[deal_event_id]


async def process_pending(
    runtime: Runtime,
    resolve_email: ResolveEmail,
    *,
    min_age: timedelta = timedelta(0),
    limit: int = 5000,
) -> dict[str, int]:
    """Process every event still ``accepted`` and received at least ``min_age`` ago.

    For start-up (events accepted just before a crash) and a periodic job (events whose
    e-mail lookup failed). Returns how many ended in each status; ``"failed"`` counts those
    left ``accepted`` because of an error (logged).
    """
    cutoff = runtime.clock.now() - min_age
    async with runtime.db.session() as session:
        ids = [
            i
            for i in (
                await session.exec(
                    select(DealEvent.id)
                    .where(DealEvent.status == ACCEPTED, col(DealEvent.received_at) <= cutoff)
                    .order_by(col(DealEvent.id))
                    .limit(limit)
                )
            ).all()
            if i is not None
        ]
    outcome: dict[str, int] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        try:
            done = await process_events(runtime, chunk, resolve_email)
        except Exception:
            log.exception(
                "deal events %s..%s could not be processed; will retry", chunk[0], chunk[-1]
            )
            outcome[FAILED] = outcome.get(FAILED, 0) + len(chunk)
            continue
        for event_id, error in done.errors.items():
            log.warning("deal event %s: rep lookup failed (%s); will retry", event_id, error)
        for event_id in chunk:
            status = FAILED if event_id in done.errors else done.statuses.get(event_id)
            if status is not None:
                outcome[status] = outcome.get(status, 0) + 1
    return outcome


class Pipeline:
    """Processes accepted events in the background, after the sender has its answer.

    ``submit`` never blocks; ``workers`` tasks (started on first use) drain the queue, each
    taking what has queued up within ``linger`` seconds of its first event (at most
    :data:`BATCH`) as one batch. What is queued when the process stops is still
    ``accepted`` in the database, for :func:`process_pending`.
    """

    def __init__(
        self,
        runtime: Runtime,
        resolve_email: ResolveEmail,
        workers: int = 2,
        linger: float = LINGER_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.resolve_email = resolve_email
        self.workers = workers
        self.linger = linger
        self._queue: asyncio.Queue[tuple[int, bool]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def submit(self, deal_event_id: int, *, lookup: bool = True) -> None:
        """Plan the event soon; ``lookup=False``: its rep is not given by e-mail alone (see
        :func:`process_events`)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        self._queue.put_nowait((deal_event_id, lookup))

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self.linger and self._queue.qsize() < BATCH:
                # gather for a moment even under load: a batch costs mostly per batch (the
                # reps' states), so a burst is planned in a few large batches, not many small
                await asyncio.sleep(self.linger)
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            ids = [event_id for event_id, _ in batch]
            try:
                done = await process_events(
                    self.runtime,
                    ids,
                    self.resolve_email,
                    lookups=any(lookup for _, lookup in batch),
                )
                for event_id, error in done.errors.items():
                    log.warning(
                        "deal event %s: rep lookup failed (%s); will retry", event_id, error
                    )
            except Exception:
                log.exception("deal events %s could not be processed; will retry", ids)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything submitted so far has been processed (tests, shutdown)."""
        if self._tasks:
            await self._queue.join()

    async def aclose(self) -> None:
        """Stop the workers; unprocessed events stay ``accepted``."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


async def receive_metadata(
    runtime: Runtime, workspace_id: str, metadata: object, resolve_email: ResolveEmail
) -> Receipt | None:
    """A ``message_metadata_posted`` event's metadata: store and process a ``deal_updated``
    update (call it after Slack's ack). Other event types give ``None``; a bad payload is
    logged and dropped (there is nobody to answer 400 to)."""
    try:
        update = parse_metadata(metadata)
    except PayloadError as error:
        log.warning("deal_updated metadata refused: %s", error.message)
        return None
    if update is None:
        return None
    [receipt] = await store(runtime, workspace_id, SLACK, [update])
    if receipt.created:
        await process_event(runtime, receipt.id, resolve_email)
    return receipt


# --------------------------------------------------------------------------- resolvers


class EmailCache:
    """Remembers e-mail lookups (hits for ``ttl``, misses for ``miss_ttl``) per workspace."""

    def __init__(
        self,
        clock: Clock,
        ttl: timedelta = timedelta(hours=1),
        miss_ttl: timedelta = timedelta(minutes=5),
        max_entries: int = 10_000,
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self.miss_ttl = miss_ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[datetime, str | None]] = {}

    async def resolve(self, workspace_id: str, email: str, lookup: ResolveEmail) -> str | None:
        key = (workspace_id, email.strip().lower())
        now = self.clock.now()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        user_id = await lookup(workspace_id, email)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now + (self.ttl if user_id else self.miss_ttl), user_id)
        return user_id

    def resolver(self, lookup: ResolveEmail) -> ResolveEmail:
        """``lookup`` behind this cache."""

        async def resolve(workspace_id: str, email: str) -> str | None:
            return await self.resolve(workspace_id, email, lookup)

        return resolve


def single_workspace(
    runtime: Runtime, auth_test: Callable[[], Awaitable[Mapping[str, Any]]] | None = None
) -> WorkspaceResolver:
    """The workspace of a single-workspace install, for webhooks (which name none).

    ``auth_test`` (e.g. the bot client's ``auth_test``) is asked once; its ``team_id`` is
    recorded as a :class:`~bot.storage.models.Workspace` and remembered. Without it, or
    while Slack cannot be reached, the only active workspace row is used (and, without
    ``auth_test``, remembered); with none or several, ``None`` (the webhook answers 503 and
    stores nothing).
    """
    known: list[str] = []

    async def resolve() -> str | None:
        if known:
            return known[0]
        if auth_test is not None:
            try:
                answer = await auth_test()
                team_id = str(answer["team_id"])
                await ensure_workspace(
                    runtime.db, team_id, runtime.clock, str(answer.get("team", ""))
                )
            except Exception:
                log.warning("auth.test failed; falling back to the workspace table", exc_info=True)
            else:
                known.append(team_id)
                return team_id
        async with runtime.db.session() as session:
            rows = (
                await session.exec(select(Workspace.id).where(col(Workspace.active).is_(True)))
            ).all()
        if len(rows) != 1:
            return None
        if auth_test is None:
            known.append(rows[0])  # with auth_test, ask Slack again next time
        return rows[0]

    return resolve


# --------------------------------------------------------------------------- reporting


@dataclass(frozen=True)
class UnknownRep:
    """A deal event kept because its rep could not be matched to a team's rep."""

    id: int
    source: str
    deal_name: str
    change: str
    rep_user_id: str | None
    rep_email: str | None
    received_at: datetime

    @property
    def label(self) -> str:
        """e.g. ``Acme renewal (ana@example.com)`` / ``(<@U123>, not a rep of any team)``."""
        if self.rep_user_id:
            who = f"<@{self.rep_user_id}>, not a rep of any team"
        elif self.rep_email:
            who = f"{self.rep_email}, no such Slack user"
        else:
            who = "no rep given"
        return f"{self.deal_name} ({who})"


@dataclass(frozen=True)
class UnknownReps:
    total: int
    recent: list[UnknownRep]


async def unknown_reps(runtime: Runtime, workspace_id: str, limit: int = 5) -> UnknownReps:
    """Deal events whose rep is unknown, newest first (for ``/trust status``)."""
    async with runtime.db.session() as session:
        where = (DealEvent.workspace_id == workspace_id, DealEvent.status == UNKNOWN_REP)
        total = (
            await session.exec(select(func.count()).select_from(DealEvent).where(*where))
        ).one()
        rows = (
            await session.exec(
                select(DealEvent)
                .where(*where)
                .order_by(col(DealEvent.received_at).desc(), col(DealEvent.id).desc())
                .limit(limit)
            )
        ).all()
    return UnknownReps(
        int(total),
        [
            UnknownRep(
                id=r.id or 0,
                source=r.source,
                deal_name=r.deal_name,
                change=r.change,
                rep_user_id=r.rep_user_id,
                rep_email=r.rep_email,
                received_at=r.received_at,
            )
            for r in rows
        ],
    )


# --------------------------------------------------------------------------- rendering data


@dataclass(frozen=True)
class NudgeContent:
    """What a nudge DM says, for the renderer: the deal, the change, the moment's prompts.

    ``answer_context`` is the opaque ``Response.context`` for answers to this nudge (keyed,
    so the database alone cannot link it to the deal event, which names the rep).
    """

    delivery_id: int
    deal_event_id: int
    workspace_id: str
    user_id: str
    team_id: int | None
    deal_id: str
    deal_name: str
    change: DealChange
    moment: DealChange
    from_value: str | None
    to_value: str | None
    occurred_at: datetime
    title: str
    intro: str
    prompt_ids: tuple[str, ...]
    rule: InvestmentRule | None
    answer_context: str


def answer_context(key: str, workspace_id: str, deal_event_id: int) -> str:
    """``nudge:<keyed hash>``: unique per deal event, not linkable without the key."""
    return "nudge:" + pseudonym(key, workspace_id, str(deal_event_id), purpose="nudge")


async def nudge_context(
    runtime: Runtime, delivery: Delivery, bank: PromptBank | None = None
) -> NudgeContent:
    """Everything the nudge renderer needs for a ``nudge`` delivery (``LookupError`` if its
    deal event is gone)."""
    bank = bank or default_bank()
    if delivery.kind != guardrails.NUDGE or delivery.deal_event_id is None:
        raise LookupError(f"delivery {delivery.id} is not a deal nudge")
    key = runtime.settings.TRUSTBOT_PSEUDONYM_KEY
    if not key:
        raise RuntimeError("TRUSTBOT_PSEUDONYM_KEY is not set: nudge answers cannot be keyed")
    async with runtime.db.session() as session:
        event = await session.get(DealEvent, delivery.deal_event_id)
        if event is None:
            raise LookupError(f"deal event {delivery.deal_event_id} is gone")
        team = await guardrails.first_team(session, delivery.workspace_id, delivery.user_id)
    change = DealChange(event.change)
    moment_name = moment_for(change, event.to_value)
    moment = bank.moment(moment_name)
    assert event.id is not None and delivery.id is not None
    return NudgeContent(
        delivery_id=delivery.id,
        deal_event_id=event.id,
        workspace_id=event.workspace_id,
        user_id=delivery.user_id,
        team_id=team.id if team else None,
        deal_id=event.deal_id,
        deal_name=event.deal_name,
        change=change,
        moment=moment_name,
        from_value=event.from_value,
        to_value=event.to_value,
        occurred_at=event.occurred_at,
        title=moment.title,
        intro=moment.intro,
        prompt_ids=moment.prompts,
        rule=moment.rule,
        answer_context=answer_context(key, event.workspace_id, event.id),
    )
