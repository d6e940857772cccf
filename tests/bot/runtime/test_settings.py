from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.runtime.settings import SettingsError, load_settings, requirements

ALL = [
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_API_URL",
    "TRUSTBOT_DATABASE_URL",
    "TRUSTBOT_PSEUDONYM_KEY",
    "TRUSTBOT_WEBHOOK_SECRET",
    "TRUSTBOT_ADMINS",
    "TRUSTBOT_DEAL_APP_IDS",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ALL:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    s = load_settings()
    assert s.SLACK_API_URL == "https://slack.com/api/"
    assert s.TRUSTBOT_DATABASE_URL == "sqlite:///trustbot.db"
    assert s.TRUSTBOT_ADMINS == ()
    assert s.TRUSTBOT_DEAL_APP_IDS == ()  # no app's deal metadata is accepted


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-file\nTRUSTBOT_ADMINS=U1AAA, U2BBB\n")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    s = load_settings()
    assert s.SLACK_BOT_TOKEN == "xoxb-from-file"
    assert s.TRUSTBOT_ADMINS == ("U1AAA", "U2BBB")
    assert s.SLACK_API_URL == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user", "xoxb-"),
        ("SLACK_APP_TOKEN", "xoxb-1", "xapp-"),
        ("SLACK_API_URL", "slack.com/api", "http"),
        ("TRUSTBOT_DATABASE_URL", "mysql://x", "sqlite:/// or postgresql://"),
        ("TRUSTBOT_DATABASE_URL", "::not a url::", "database URL"),
        ("TRUSTBOT_PSEUDONYM_KEY", "short", "16 characters"),
        ("TRUSTBOT_ADMINS", "U1AAA,bob", "'bob'"),
        ("TRUSTBOT_DEAL_APP_IDS", "A0CRM,U0REP1", "'U0REP1'"),
    ],
)
def test_malformed_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{name} is malformed")
    assert expected in message
    assert "\n" not in message


def test_requirements_per_command() -> None:
    s = load_settings()
    assert requirements("migrate", s) == ()
    assert "SLACK_BOT_TOKEN" in requirements("serve", s)
    assert "SLACK_APP_TOKEN" in requirements("run", s)
    assert "SLACK_APP_TOKEN" not in requirements("serve", s)
    oauth = load_settings(SLACK_CLIENT_ID="123.456")
    assert "SLACK_BOT_TOKEN" not in requirements("serve", oauth)
    assert "SLACK_CLIENT_SECRET" in requirements("serve", oauth)


def test_missing_setting_names_it() -> None:
    with pytest.raises(SettingsError, match=r"^TRUSTBOT_PSEUDONYM_KEY is not set: expected"):
        load_settings().require("TRUSTBOT_PSEUDONYM_KEY")


@given(st.text(max_size=60))
def test_any_admin_list_is_accepted_or_named(value: str) -> None:
    try:
        s = load_settings(TRUSTBOT_ADMINS=value)
    except SettingsError as error:
        assert str(error).startswith("TRUSTBOT_ADMINS is malformed")
    else:
        assert all(a.startswith(("U", "W")) for a in s.TRUSTBOT_ADMINS)


def test_deal_app_ids_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTBOT_DEAL_APP_IDS", " A0CRM1, A0CRM2 ,,A0CRM1")
    assert load_settings().TRUSTBOT_DEAL_APP_IDS == ("A0CRM1", "A0CRM2")
