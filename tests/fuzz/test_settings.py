"""Settings from the outside world (arguments, the environment, a ``.env`` file): any value
of any setting loads, or stops with one line naming the setting; never another exception."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.runtime.settings import (
    APP_ID,
    DEAL_CHANGES,
    SALESFORCE_ID,
    USER_ID,
    Settings,
    SettingsError,
    load_settings,
    salesforce_case_suffix,
)
from tests.support.strategies import any_text, fuzz, huge_text, json_values

NAMES = list(Settings.model_fields)
ENV_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00", exclude_categories=["Cs"]),
    max_size=120,
)
"""What an environment variable can hold: no NUL, no lone surrogate."""


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path) -> Iterator[None]:
    """No setting from the machine, no stray ``.env`` (tests run in a temporary directory)."""
    saved = {name: os.environ.pop(name) for name in NAMES if name in os.environ}
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.update(saved)


def check(loaded: Settings, name: str) -> None:
    """What a loaded setting promises the rest of the app."""
    value = getattr(loaded, name)
    if name == "SLACK_BOT_TOKEN" and value is not None:
        assert value.startswith("xoxb-")
    if name == "SLACK_APP_TOKEN" and value is not None:
        assert value.startswith("xapp-")
    if name == "SLACK_API_URL":
        assert value.startswith(("http://", "https://")) and value.endswith("/")
    if name == "TRUSTBOT_DATABASE_URL":
        assert value.split(":", 1)[0].split("+")[0] in ("sqlite", "postgresql")
    if name == "TRUSTBOT_PSEUDONYM_KEY" and value is not None:
        assert len(value) >= 16
    if name == "TRUSTBOT_ADMINS":
        assert isinstance(value, tuple) and all(USER_ID.match(a) for a in value)
    if name == "TRUSTBOT_SALESFORCE_ORG_ID" and value is not None:
        assert SALESFORCE_ID.match(value) and value.startswith("00D")
        assert len(value) == 15 or value[15:] == salesforce_case_suffix(value[:15])
    if name == "TRUSTBOT_SALESFORCE_ACTIONS":
        assert isinstance(value, dict)
        assert all(len(k) == 15 and v in DEAL_CHANGES for k, v in value.items())
    if name == "TRUSTBOT_DEAL_APP_IDS":
        assert isinstance(value, tuple) and all(APP_ID.match(a) for a in value)
    if name == "TRUSTBOT_HISTORY_PER_MINUTE":
        assert isinstance(value, int) and 1 <= value <= 100
    if value is not None and name not in (
        "TRUSTBOT_ADMINS",
        "TRUSTBOT_DEAL_APP_IDS",
        "TRUSTBOT_SALESFORCE_ACTIONS",
        "TRUSTBOT_HISTORY_PER_MINUTE",
    ):
        assert isinstance(value, str)


SECRETS = {n for n in NAMES if n.endswith(("_TOKEN", "_SECRET", "_KEY"))}


def refused(error: SettingsError, name: str, value: object) -> None:
    """One line naming the setting, and never the value of a secret."""
    message = str(error)
    assert message.startswith(f"{name} is malformed: "), message
    assert "\n" not in message, message
    if name in SECRETS and isinstance(value, str) and len(value) >= 6:
        assert value not in message


@fuzz(200)
@given(
    name=st.sampled_from(NAMES),
    value=json_values | huge_text | st.binary(max_size=20) | st.sampled_from([(), ("U1",), 3.5]),
)
@example(name="TRUSTBOT_ADMINS", value=5)  # was TypeError: 'int' object is not iterable
@example(name="TRUSTBOT_ADMINS", value=None)
@example(name="TRUSTBOT_DATABASE_URL", value="postgresql://h:port/db")
def test_any_value_of_any_setting_loads_or_names_the_setting(name: str, value: Any) -> None:
    try:
        loaded = load_settings(**{name: value})
    except SettingsError as error:
        refused(error, name, value)
    else:
        check(loaded, name)


@fuzz(100)
@given(name=st.sampled_from(NAMES), value=ENV_TEXT | any_text.filter(lambda s: "\x00" not in s))
def test_any_environment_value_loads_or_names_the_setting(name: str, value: str) -> None:
    try:
        os.environ[name] = value
    except (ValueError, UnicodeEncodeError):  # the OS itself refuses it
        return
    try:
        loaded = load_settings()
    except SettingsError as error:
        refused(error, name, value)
    else:
        check(loaded, name)
    finally:
        os.environ.pop(name, None)


dotenv_lines = st.lists(
    st.builds(
        lambda name, sep, value: f"{name}{sep}{value}",
        st.sampled_from(NAMES) | any_text,
        st.sampled_from(["=", " = ", "=", ": ", "", '="', "='"]),
        ENV_TEXT.map(lambda s: s.replace("\n", " ")) | any_text,
    )
    | any_text,
    max_size=6,
).map("\n".join)


@fuzz(80)
@given(content=dotenv_lines.map(str.encode) | st.binary(max_size=200))
@example(content=b"SLACK_BOT_TOKEN=xoxb-\x80")  # was UnicodeDecodeError out of load_settings
def test_any_dotenv_file_loads_or_names_a_setting(content: bytes) -> None:
    Path(".env").write_bytes(content)
    try:
        loaded = load_settings()
    except SettingsError as error:
        assert str(error).split(" ", 1)[0] in [*NAMES, ".env"], str(error)
        assert " is malformed: " in str(error) and "\n" not in str(error)
    else:
        for name in NAMES:
            check(loaded, name)
    finally:
        Path(".env").unlink()
