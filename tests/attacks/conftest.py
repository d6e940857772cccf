"""A database after weeks of realistic use, on SQLite and on PostgreSQL, dumped without the
key: made once per test run and backend (the simulation takes ~10 s per database), and
shared by the xdist workers of the run through a file."""

from __future__ import annotations

import fcntl
import pickle
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.storage import sync_url
from bot.storage.migrate import upgrade
from tests.attacks._simulation import Stolen, steal


def empty(url: str) -> None:
    """Every table of the migrated database emptied, ids restarted (PostgreSQL)."""
    engine = create_engine(sync_url(url))
    try:
        names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
        with engine.begin() as conn:
            tables = ", ".join(f'"{name}"' for name in names)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str, make: Callable[[], Stolen]
) -> Stolen:
    """``make()`` once for all the xdist workers of this run (their base temporary
    directories share a parent that is new for every run)."""
    if worker_id == "master":
        return make()
    root = tmp_path_factory.getbasetemp().parent
    saved = root / f"{name}.pickle"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if saved.exists():
            found: Stolen = pickle.loads(saved.read_bytes())
            return found
        made = make()
        saved.write_bytes(pickle.dumps(made))
        return made


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def stolen(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Stolen:
    def make() -> Stolen:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('attack') / 'trustbot.db'}"
            upgrade(url)
        else:
            url = request.getfixturevalue("postgres_url")
            empty(url)
        return steal(url)

    return once_per_run(tmp_path_factory, worker_id, f"stolen-{request.param}", make)
