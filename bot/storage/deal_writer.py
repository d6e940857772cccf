"""The deal-event writer: hand-tuned batch INSERTs of deal updates on SQLite and PostgreSQL.

It exists for ``bench/webhook`` (accepted deal updates per second against a bare endpoint,
target ratio >= 0.5): SQLAlchemy's generic batching cost about a third more CPU per row on
SQLite, and psycopg re-parsed long multi-row statements on PostgreSQL. Its public API:

- :func:`insert_new`: insert rows, skipping those whose ``(workspace_id, source, event_id)``
  is stored; the ids of the new rows and of the stored ones;
- :func:`sqlite_write`: run a unit of work as this process's only SQLite writer, on the event
  loop for short work (never waiting for a lock) or in the writer's thread;
- :data:`ROW_COLUMNS` / :data:`KEY_COLUMNS`: what a row must hold, and a row's identity.

Statements are built from the table's definition and values converted by SQLAlchemy's own
column types, so a row is stored exactly as SQLAlchemy's own INSERT would store it.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import sqlite3
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, create_engine, func, tuple_
from sqlalchemy import event as sa_event
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from bot.storage.db import SQLITE_BUSY_TIMEOUT_MS, Database, configure_sqlite, sync_url
from bot.storage.models import DealEvent

T = TypeVar("T")

DEAL_EVENTS = DealEvent.__table__  # type: ignore[attr-defined]

ROW_COLUMNS = (
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
"""The columns a row given to :func:`insert_new` holds."""

KEY_COLUMNS = ("workspace_id", "source", "event_id")
"""A deal event's identity: an ``event_id`` is its source's, within one workspace."""
Key = tuple[str, str, str]  # (workspace_id, source, event_id)

MAX_KEYS = 500  # keys per SELECT
SQLITE_ROWS = 500  # rows per INSERT on SQLite: 13 parameters each, under its limit of 32,766


@functools.lru_cache(maxsize=64)  # the common batch sizes; a statement is up to ~20 KB
def _sqlite_insert(rows: int) -> str:
    """SQLite: ``INSERT ... VALUES (...), ... ON CONFLICT (workspace_id, source, event_id) DO
    NOTHING RETURNING id, <key>`` for ``rows`` rows, as the driver's SQL."""
    table, names = DEAL_EVENTS, ", ".join(ROW_COLUMNS)
    one = "(" + ", ".join("?" * len(ROW_COLUMNS)) + ")"
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
    table = DEAL_EVENTS
    arrays = [
        func.unnest(bindparam(name, type_=postgresql.ARRAY(table.c[name].type)))
        for name in ROW_COLUMNS
    ]
    return (
        postgresql.insert(table)
        .from_select(list(ROW_COLUMNS), sa_select(*arrays))
        .on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))
        .returning(table.c.id, *(table.c[name] for name in KEY_COLUMNS))
    )


@functools.cache
def _bind_processors(dialect: Any) -> tuple[Callable[[Any], Any] | None, ...]:
    """Each column's conversion to the driver's value (the UTC instants), by SQLAlchemy."""
    columns = (DEAL_EVENTS.c[name] for name in ROW_COLUMNS)
    return tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)


def _inserted(connection: Connection, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert ``rows``, skipping those whose key is stored: the ``(id, *key)`` of those
    inserted. On SQLite the SQL goes to the driver as it is (about a third less CPU per row
    than SQLAlchemy's batching), with SQLAlchemy's own conversions of the values, each
    distinct value converted once (a batch's rows share their ``received_at``)."""
    if connection.dialect.name == "postgresql":
        columns = {name: [row[name] for row in rows] for name in ROW_COLUMNS}
        return list(connection.execute(_postgresql_insert(), columns).all())
    converts = [(i, f) for i, f in enumerate(_bind_processors(connection.dialect)) if f]
    values = operator.itemgetter(*ROW_COLUMNS)
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


def insert_new(
    connection: Connection, rows: list[dict[str, Any]], keys: list[Key]
) -> tuple[dict[Key, int], dict[Key, int]]:
    """Insert ``rows`` skipping stored keys; the ids of the new rows and of the stored ones."""
    table = DEAL_EVENTS
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


# --------------------------------------------------------------------------- SQLite writer


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


_sqlite_writers: weakref.WeakKeyDictionary[Database, _SqliteWriter] = weakref.WeakKeyDictionary()
_write_locks: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()


def _sqlite_engine(url: Any, timeout: float) -> Engine:
    engine = create_engine(
        sync_url(url),
        hide_parameters=True,  # no deal name or e-mail in an error's message
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


def _sqlite_writer(db: Database) -> _SqliteWriter:
    """The writer of ``db`` (made on first use). The write lock keeps it the only writer of
    this process while it writes."""
    writer = _sqlite_writers.get(db)
    if writer is None:
        inline = _sqlite_engine(db.url, 0)
        sa_event.listen(inline, "connect", _never_wait)  # after configure_sqlite's pragmas
        writer = _sqlite_writers[db] = _SqliteWriter(
            executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="deal-events"),
            engine=_sqlite_engine(db.url, SQLITE_BUSY_TIMEOUT_MS / 1000),
            inline=inline.connect(),
        )
        weakref.finalize(db, _close_writer, writer).atexit = False
    return writer


def _write_lock(db: Database) -> asyncio.Lock:
    """SQLite: one writer at a time per process. Writers queue here instead of in SQLite's
    busy handler, which sleeps up to 100 ms between retries."""
    lock = _write_locks.get(db)
    if lock is None:
        lock = _write_locks[db] = asyncio.Lock()
    return lock


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


async def sqlite_write(db: Database, work: Callable[..., T], *args: Any, inline: bool = False) -> T:
    """``work(connection, *args)`` in one transaction, as the process's only writer (the
    write lock): in the writer thread, or with ``inline=True`` (short work) on the event
    loop, falling back to the thread when the database is busy."""
    writer = _sqlite_writer(db)
    async with _write_lock(db):
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
