"""``in_ids``: a list of ids as one bound value, on SQLite and the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.workspaces import ensure_workspace
from bot.runtime.clock import ManualClock
from bot.storage import Database, sync_url
from bot.storage.deal_writer import DEAL_EVENTS
from bot.storage.id_lists import in_ids, in_texts

QUERY = (
    sa_select(DEAL_EVENTS.c.id).where(in_ids(DEAL_EVENTS.c.id, "ids")).order_by(DEAL_EVENTS.c.id)
)


async def _stored(database_url: str, clock: ManualClock, n: int) -> list[int]:
    db = Database(database_url)
    try:
        await ensure_workspace(db, "T1", clock)
    finally:
        await db.dispose()
    rows = [
        {
            "workspace_id": "T1",
            "source": "webhook",
            "event_id": f"e{i}",
            "deal_id": f"D{i % 7}",
            "deal_name": "",
            "change": "created",
            "status": "accepted",
            "occurred_at": clock.now(),
            "received_at": clock.now(),
        }
        for i in range(n)
    ]
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(insert(DEAL_EVENTS), rows)
            return [i for (i,) in connection.execute(sa_select(DEAL_EVENTS.c.id))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("size", [0, 1, 3, 1000])
async def test_finds_exactly_the_listed_rows(
    database_url: str, clock: ManualClock, size: int
) -> None:
    ids = sorted(await _stored(database_url, clock, 1200))
    wanted = [*ids[::2][:size], 10**9]  # and an id nobody has
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            found = [i for (i,) in connection.execute(QUERY, {"ids": wanted})]
    finally:
        engine.dispose()
    assert found == sorted(ids[::2][:size])


async def test_finds_the_rows_of_listed_strings(database_url: str, clock: ManualClock) -> None:
    await _stored(database_url, clock, 70)
    query = sa_select(DEAL_EVENTS.c.event_id).where(in_texts(DEAL_EVENTS.c.deal_id, "deals"))
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            found = {e for (e,) in connection.execute(query, {"deals": ["D3", "D5", "D-none"]})}
            none = connection.execute(query, {"deals": []}).all()
    finally:
        engine.dispose()
    assert found == {f"e{i}" for i in range(70) if i % 7 in (3, 5)}
    assert none == []


def test_the_statement_is_one_text_whatever_the_length() -> None:
    """The point of it: no parameter per id (the expanding IN re-rendered 1,000 of them)."""
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = QUERY.compile(dialect=dialect)
        assert list(compiled.params) == ["ids"]
    assert "json_each(?)" in str(QUERY.compile(dialect=sqlite.dialect()))
    assert "= 1" not in str(QUERY.compile(dialect=sqlite.dialect()))  # an index still serves it
    assert "= ANY(" in str(QUERY.compile(dialect=postgresql.dialect()))


def test_sqlite_seeks_the_primary_key(sqlite_url: str) -> None:
    from bot.storage.migrate import upgrade

    upgrade(sqlite_url)
    engine = create_engine(sync_url(sqlite_url))
    try:
        with engine.connect() as connection:
            sql = str(QUERY.compile(dialect=engine.dialect))
            plan = " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ("[1]",))
            )
    finally:
        engine.dispose()
    assert "SCAN dealevent" not in plan
    assert "INTEGER PRIMARY KEY" in plan
