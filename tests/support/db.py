"""The app's database read (and written) from a test's own thread, while the app runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlmodel import SQLModel, select

from bot.storage import Database, sync_url

T = TypeVar("T")


def in_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """``await work(database)`` on a database handle of the test's own."""

    async def go() -> T:
        database = Database(url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(go())


def in_session(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """``await work(session)`` in one transaction of the test's own."""

    async def go(database: Database) -> T:
        async with database.session() as session:
            return await work(session)

    return in_db(url, go)


def rows(url: str, model: type[T], *where: Any, order_by: Any = None) -> list[T]:
    """Every row of ``model`` (that matches ``where``), in ``order_by`` order if given."""
    query = select(model).where(*where)
    if order_by is not None:
        query = query.order_by(order_by)

    async def fetch(session: Any) -> list[T]:
        return list((await session.exec(query)).all())

    return in_session(url, fetch)


def sql_rows(url: str, statement: Any) -> list[Any]:
    """The result rows of a Core ``statement`` (any table, Bolt's too), on a sync engine."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(statement).all())
    finally:
        engine.dispose()


async def dump(db: Database) -> str:
    """Every row of every table, as text: what a stolen database would show."""
    lines = []
    async with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await conn.execute(text(f'SELECT * FROM "{table.name}"'))).all():
                lines.append(f"{table.name}: {tuple(row)}")
    return "\n".join(lines)
