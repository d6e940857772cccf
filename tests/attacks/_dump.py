"""A stolen copy of the database: every table and every column, found by inspecting the live
database (not from the app's models), read into plain Python values.

This is what an attacker has who got a backup or read access: the rows, the column names and
the foreign keys the schema declares. Not the pseudonym key, which never enters the database.
A column or table added later is in the dump without anyone listing it here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, inspect, select

from bot.storage import sync_url

_ISO_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Reference:
    """A foreign key the schema declares: ``columns`` of this table point at ``target``."""

    columns: tuple[str, ...]
    table: str
    target: tuple[str, ...]


@dataclass(frozen=True)
class DumpedTable:
    name: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]
    references: tuple[Reference, ...]
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Dump:
    """Every table of a database, by name."""

    tables: dict[str, DumpedTable]

    def __iter__(self) -> Iterator[DumpedTable]:
        return iter(self.tables.values())

    def text(self) -> str:
        """Every value as text (for "does this string appear anywhere")."""
        return "\n".join(
            f"{t.name}: {json.dumps(row, default=str, sort_keys=True)}"
            for t in self
            for row in t.rows
        )

    def column_count(self) -> int:
        return sum(len(t.columns) for t in self)


def plain(value: Any) -> Any:
    """A cell as an attacker reads it: instants in UTC, dates, JSON parsed, numbers as numbers.
    Text that looks like a date or an instant is read as one, so a driver that hands back
    strings (SQLite without declared types) gives the attacker the same values."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                return value
        if _ISO_INSTANT.match(text):
            try:
                return plain(datetime.fromisoformat(text.replace("Z", "+00:00")))
            except ValueError:
                return value
        if text[:1] in "{[" and text[-1:] in "}]":
            try:
                return plain(json.loads(text))
            except ValueError:
                return value
    return value


def dump_database(url: str) -> Dump:
    """Read every table the live database has (``inspect(engine).get_table_names()``) with
    every column, and the foreign keys and primary keys it declares."""
    engine = create_engine(sync_url(url))
    tables: dict[str, DumpedTable] = {}
    try:
        inspector = inspect(engine)
        with engine.connect() as conn:
            for name in sorted(inspector.get_table_names()):
                table = Table(name, MetaData(), autoload_with=conn)
                references = tuple(
                    Reference(
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                    )
                    for fk in inspector.get_foreign_keys(name)
                    if fk.get("referred_table")
                )
                primary = tuple(inspector.get_pk_constraint(name).get("constrained_columns") or ())
                rows = tuple(
                    {key: plain(value) for key, value in row.items()}
                    for row in conn.execute(select(table)).mappings()
                )
                tables[name] = DumpedTable(
                    name, tuple(c.name for c in table.columns), primary, references, rows
                )
    finally:
        engine.dispose()
    return Dump(tables)
