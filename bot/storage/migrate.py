"""Alembic, driven from code: ``trustbot migrate`` and the schema check at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import URL

from bot.storage import sealed
from bot.storage.db import configure_sqlite, sync_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str | URL, pseudonym_key: str | None = None) -> Config:
    cfg = Config()
    cfg.attributes["pseudonym_key"] = pseudonym_key  # for migrations that re-key answers
    cfg.set_main_option("script_location", str(MIGRATIONS))
    url = sync_url(database_url).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class ClearTokensError(RuntimeError):
    """Slack tokens are stored in clear and no ``TRUSTBOT_TOKEN_KEY`` was given to seal them."""


def upgrade(
    database_url: str | URL,
    revision: str = "head",
    *,
    pseudonym_key: str | None = None,
    token_key: str | None = None,
) -> int:
    """Bring the schema up to ``revision``. ``pseudonym_key`` is needed where a migration
    re-keys stored answers (0009); without it such a migration refuses, changing nothing.

    Then every Slack token slack_sdk's store holds is sealed with ``token_key``'s first key
    (:mod:`bot.storage.sealed`): tokens an earlier version stored in clear, and tokens sealed
    with an older key after a rotation. Returns how many were (re-)sealed. Without a key,
    tokens stored in clear raise :class:`ClearTokensError` (the schema is migrated all the
    same)."""
    command.upgrade(alembic_config(database_url, pseudonym_key), revision)
    engine = create_engine(sync_url(database_url), hide_parameters=True)
    configure_sqlite(engine)
    try:
        with engine.begin() as conn:
            if token_key:
                return sealed.seal_all(conn, sealed.TokenSealer.from_setting(token_key))
            clear = sealed.clear_tokens(conn)
    finally:
        engine.dispose()
    if clear:
        raise ClearTokensError(
            f"{clear} Slack token{'s are' if clear != 1 else ' is'} stored in clear: set "
            f"{sealed.SETTING} (a Fernet key) and run `trustbot migrate` again to seal them"
        )
    return 0


def pending(database_url: str | URL) -> tuple[str | None, str | None]:
    """(current, head) revisions; equal when the schema is up to date."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    engine = create_engine(sync_url(database_url), hide_parameters=True)
    configure_sqlite(engine)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    return current, script.get_current_head()
