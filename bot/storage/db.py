"""The database handle: one async engine (aiosqlite or psycopg) and its sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _driver(url: str | URL, sqlite: str, postgresql: str) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername=sqlite)
    if backend == "postgresql":
        return parsed.set(drivername=postgresql)
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def async_url(url: str | URL) -> URL:
    """The URL the app's async engine uses (aiosqlite / psycopg async)."""
    return _driver(url, "sqlite+aiosqlite", "postgresql+psycopg")


def sync_url(url: str | URL) -> URL:
    """The URL for synchronous users: Alembic and APScheduler's job store."""
    return _driver(url, "sqlite+pysqlite", "postgresql+psycopg")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def configure_sqlite(engine: Any) -> None:
    """WAL, a busy timeout and foreign keys on every new SQLite connection of ``engine``."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)


class Database:
    """An async engine plus a session factory. Create once per process."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = make_url(url)
        target = async_url(self.url)
        # hide_parameters: a database error's message never carries the statement's values
        # (a rep's note, an answer, a pseudonym) into a log line
        options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if target.get_backend_name() == "sqlite":
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            options.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(target, **options)
        configure_sqlite(self.engine.sync_engine)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on error."""
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
