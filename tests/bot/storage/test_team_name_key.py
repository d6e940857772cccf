"""Team names by their Unicode key (bot/storage/models.py ``name_key``, migration 0011)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from bot.core import teams
from bot.storage import Database, sync_url
from bot.storage.migrate import upgrade
from bot.storage.models import name_key
from tests.support.strategies import tricky_text

names = st.text(max_size=30) | tricky_text | st.sampled_from(["Équipe", "ÉQUIPE", "Straße"])


@given(names)
def test_the_key_ignores_case_and_unicode_form(name: str) -> None:
    key = name_key(name)
    assert name_key(key) == key
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert name_key(unicodedata.normalize(form, name)) == key
    assert name_key(name.casefold()) == key


def test_names_that_read_the_same_have_one_key() -> None:
    same = ["Équipe", "ÉQUIPE", "équipe", "e\u0301quipe", "ＥＱＵＩＰＥ".replace("Ｅ", "É", 1)]
    assert {name_key(n) for n in same} == {"équipe"}
    assert name_key("STRASSE") == name_key("Straße")


async def test_migration_0011_keys_every_team_and_keeps_old_lookalikes_reachable(
    tmp_path: Path,
) -> None:
    """Teams SQLite's ASCII-only lower() let in twice (``Équipe`` and ``ÉQUIPE``) both stay,
    each found by its exact name; a new look-alike is refused."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0010")
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO workspace (id, name, active, installed_at) VALUES ('T1', '', 1, :t)"),
            {"t": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        for name in ("Équipe", "ÉQUIPE", "sales"):
            conn.execute(
                text(
                    "INSERT INTO team (workspace_id, name, channel_id, checkin_weekday,"
                    " checkin_time, digest_weekday, digest_time, timezone, k, notes_k,"
                    " reminder_after_hours, expire_after_days, nudges_per_day,"
                    " nudge_gap_hours, work_start, work_end, paused, created_at)"
                    " VALUES ('T1', :name, 'C1', 4, '16:00', 0, '09:00', 'UTC', 5, 5, 24, 3,"
                    " 3, 24, '09:00', '18:00', 0, :t)"
                ),
                {"name": name, "t": datetime(2026, 1, 1, tzinfo=UTC)},
            )
    upgrade(url)
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT id, name, name_key FROM team ORDER BY id")).all()
        unique = inspect(conn).get_unique_constraints("team")
    engine.dispose()
    assert [tuple(k) for k in keys] == [
        (1, "Équipe", "équipe"),
        (2, "ÉQUIPE", "équipe#2"),
        (3, "sales", "sales"),
    ]
    assert {"name": "uq_team_name_key", "column_names": ["workspace_id", "name_key"]} in [
        {"name": u["name"], "column_names": u["column_names"]} for u in unique
    ]
    db = Database(url)
    try:
        async with db.session() as session:
            assert (await teams.find(session, "T1", "ÉQUIPE")).id == 2
            assert (await teams.find(session, "T1", "Équipe")).id == 1
            assert (await teams.find(session, "T1", "e\u0301quipe")).id == 1
            assert (await teams.find(session, "T1", "SALES")).id == 3
    finally:
        await db.dispose()
