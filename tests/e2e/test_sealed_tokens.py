"""OAuth bot tokens sealed at rest (issue #16): a stolen copy of the database, without
``TRUSTBOT_TOKEN_KEY``, holds no Slack token; tokens an earlier version stored in clear are
sealed by ``trustbot migrate``; a key rotation re-seals them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert, select

from bot.runtime.settings import SettingsError, load_settings, requirements
from bot.storage import sync_url
from bot.storage.migrate import ClearTokensError, upgrade
from bot.storage.sealed import TokenSealer, new_key
from bot.storage.slack_tables import slack_bots, slack_installations
from tests.attacks._dump import dump_database
from tests.support.oauth import TOKEN_KEY, OAuthStack, install, set_up_team, token_of
from tests.support.stack import trust_in

pytestmark = pytest.mark.slow

TOKEN_PREFIXES = ("xoxb-", "xoxp-", "xoxe", "xapp-")


def test_a_dump_of_every_table_shows_no_slack_token(oauth_stack: OAuthStack) -> None:
    """Two workspaces installed and at work; then every table dumped as an attacker would."""
    assert install(oauth_stack).status_code == 200
    assert install(oauth_stack, "T0002").status_code == 200
    set_up_team(oauth_stack.emulator, ["U0REP1"])
    assert "U0REP1" in trust_in(oauth_stack.emulator, "team list")  # the sealed token works
    dump = dump_database(oauth_stack.database_url)
    assert dump.tables["slack_bots"].rows and dump.tables["slack_installations"].rows
    text = dump.text()
    for prefix in TOKEN_PREFIXES:
        assert prefix not in text
    for token in (token_of(oauth_stack, "T0001"), token_of(oauth_stack, "T0002")):
        assert token.startswith("xoxb-") and token not in text


def _clear_install(url: str) -> None:
    """An install stored by an earlier version: tokens in clear."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    row = {
        "client_id": "1234.5678",
        "app_id": "A0EMULATOR",
        "team_id": "T0001",
        "bot_token": "xoxb-1-clear",
        "bot_id": "B0BOT",
        "bot_user_id": "U0BOT",
        "is_enterprise_install": False,
        "installed_at": now,
    }
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(insert(slack_bots).values(**row))
        conn.execute(
            insert(slack_installations).values(
                **row, user_id="U0ADMIN", user_token="xoxp-1-clear", token_type="bot"
            )
        )
    engine.dispose()


def _stored(url: str) -> list[str | None]:
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        found = [r[0] for r in conn.execute(select(slack_bots.c.bot_token))]
        found += [
            v
            for r in conn.execute(
                select(slack_installations.c.bot_token, slack_installations.c.user_token)
            )
            for v in r
        ]
    engine.dispose()
    return found


def test_migrate_seals_tokens_stored_in_clear(database_url: str) -> None:
    _clear_install(database_url)
    with pytest.raises(ClearTokensError, match="3 Slack tokens are stored in clear"):
        upgrade(database_url)  # the schema is migrated all the same
    assert all(v and v.startswith("xox") for v in _stored(database_url))
    assert upgrade(database_url, token_key=TOKEN_KEY) == 3
    stored = _stored(database_url)
    assert not any(v and v.startswith("xox") for v in stored)
    sealer = TokenSealer.from_setting(TOKEN_KEY)
    assert [sealer.open(v) for v in stored] == ["xoxb-1-clear", "xoxb-1-clear", "xoxp-1-clear"]
    assert upgrade(database_url, token_key=TOKEN_KEY) == 0  # nothing left to seal
    upgrade(database_url)  # and no key needed any more: nothing is in clear


def test_a_rotated_key_reseals_every_token(database_url: str) -> None:
    _clear_install(database_url)
    upgrade(database_url, token_key=TOKEN_KEY)
    newer = new_key()
    assert upgrade(database_url, token_key=f"{newer},{TOKEN_KEY}") == 3
    only_new = TokenSealer.from_setting(newer)
    assert {only_new.open(v) for v in _stored(database_url)} == {"xoxb-1-clear", "xoxp-1-clear"}


def test_oauth_needs_a_token_key_and_a_bad_one_is_named() -> None:
    base = {
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "s",
        "SLACK_SIGNING_SECRET": "s",
        "TRUSTBOT_PSEUDONYM_KEY": "k" * 16,
        "TRUSTBOT_WEBHOOK_SECRET": "w",
    }
    settings = load_settings(**base)
    with pytest.raises(SettingsError, match="TRUSTBOT_TOKEN_KEY is not set: SLACK_CLIENT_ID"):
        settings.require(*requirements("serve", settings))
    with pytest.raises(SettingsError, match="TRUSTBOT_TOKEN_KEY is malformed: not a Fernet key"):
        load_settings(**base, TRUSTBOT_TOKEN_KEY="xoxb-not-a-key")
    with pytest.raises(SettingsError, match=r"key 2 of 2"):
        load_settings(**base, TRUSTBOT_TOKEN_KEY=f"{TOKEN_KEY},short")
    single = load_settings(**{**base, "SLACK_CLIENT_ID": "", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert "TRUSTBOT_TOKEN_KEY" not in requirements("serve", single)
