"""Settings from the environment (and an optional ``.env``), as PRODUCT.md names them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.storage import sealed

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
APP_ID = re.compile(r"^A[A-Z0-9]{2,31}$")
SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_CASE_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
DEAL_CHANGES = frozenset(
    {"created", "stage_changed", "close_date_changed", "amount_changed", "discount_requested"}
    | {"won", "lost"}
)


def salesforce_case_suffix(id15: str) -> str:
    """The three characters that make a 15-character Salesforce ID case-safe (its 18-character
    form): one per block of five, whose bits say which characters are upper case."""
    return "".join(
        _CASE_SUFFIX[sum(1 << i for i, c in enumerate(id15[b : b + 5]) if "A" <= c <= "Z")]
        for b in (0, 5, 10)
    )


class SettingsError(Exception):
    """Settings are missing or malformed; the message is one line naming each of them."""


class Settings(BaseSettings):
    """Every runtime setting. Names are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    SLACK_BOT_TOKEN: str | None = None
    SLACK_SIGNING_SECRET: str | None = None
    SLACK_APP_TOKEN: str | None = None
    SLACK_CLIENT_ID: str | None = None
    SLACK_CLIENT_SECRET: str | None = None
    SLACK_API_URL: str = "https://slack.com/api/"
    TRUSTBOT_DATABASE_URL: str = "sqlite:///trustbot.db"
    TRUSTBOT_PSEUDONYM_KEY: str | None = None
    TRUSTBOT_WEBHOOK_SECRET: str | None = None
    TRUSTBOT_TOKEN_KEY: str | None = None
    TRUSTBOT_HISTORY_PER_MINUTE: int = Field(default=1, ge=1, le=100)
    TRUSTBOT_ADMINS: Annotated[tuple[str, ...], NoDecode] = Field(default=())
    TRUSTBOT_DEAL_APP_IDS: Annotated[tuple[str, ...], NoDecode] = Field(default=())
    TRUSTBOT_SALESFORCE_ORG_ID: str | None = None
    TRUSTBOT_SALESFORCE_ACTIONS: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @field_validator("SLACK_BOT_TOKEN")
    @classmethod
    def _bot_token(cls, v: str | None) -> str | None:
        if v and not v.startswith("xoxb-"):
            raise ValueError("expected a bot token starting with xoxb-")
        return v or None

    @field_validator("SLACK_APP_TOKEN")
    @classmethod
    def _app_token(cls, v: str | None) -> str | None:
        if v and not v.startswith("xapp-"):
            raise ValueError("expected an app-level token starting with xapp-")
        return v or None

    @field_validator("SLACK_API_URL")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        return v if v.endswith("/") else v + "/"

    @field_validator("TRUSTBOT_DATABASE_URL")
    @classmethod
    def _database_url(cls, v: str) -> str:
        try:
            url = make_url(v)
        except ArgumentError:
            raise ValueError("expected a database URL such as sqlite:///trustbot.db") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return v

    @field_validator("TRUSTBOT_PSEUDONYM_KEY")
    @classmethod
    def _pseudonym_key(cls, v: str | None) -> str | None:
        if v is not None and len(v) < 16:
            raise ValueError("expected a secret of at least 16 characters")
        return v or None

    @field_validator("TRUSTBOT_TOKEN_KEY")
    @classmethod
    def _token_key(cls, v: str | None) -> str | None:
        """Fernet keys, newest first, that seal the OAuth tokens stored in the database."""
        if not (v or "").strip():
            return None
        assert v is not None
        try:
            sealed.TokenSealer.from_setting(v)
        except sealed.TokenKeyError as error:
            raise ValueError(str(error).removeprefix(f"{sealed.SETTING} is ")) from None
        return v

    @field_validator("TRUSTBOT_ADMINS", mode="before")
    @classmethod
    def _admins(cls, v: object) -> tuple[str, ...]:
        if not isinstance(v, str | list | tuple):  # pydantic reports ValueError, not TypeError
            raise ValueError("expected comma-separated Slack user IDs like U0123ABCD")
        items: Iterable[object] = v.split(",") if isinstance(v, str) else v
        admins = tuple(str(i).strip() for i in items if str(i).strip())
        bad = [a for a in admins if not USER_ID.match(a)]
        if bad:
            raise ValueError(
                f"expected comma-separated Slack user IDs like U0123ABCD, got {bad[0]!r}"
            )
        return admins

    @field_validator("TRUSTBOT_DEAL_APP_IDS", mode="before")
    @classmethod
    def _deal_apps(cls, v: object) -> tuple[str, ...]:
        """The Slack apps (``A...``) whose ``deal_updated`` message metadata is accepted."""
        form = "expected comma-separated Slack app IDs like A0123ABCD (Basic Information)"
        if not isinstance(v, str | list | tuple):
            raise ValueError(form)
        items: Iterable[object] = v.split(",") if isinstance(v, str) else v
        apps = tuple(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))
        bad = [a for a in apps if not APP_ID.match(a)]
        if bad:
            raise ValueError(f"{form}, got {bad[0][:40]!r}")
        return apps

    @field_validator("TRUSTBOT_SALESFORCE_ORG_ID")
    @classmethod
    def _salesforce_org(cls, v: str | None) -> str | None:
        v = (v or "").strip()
        if not v:
            return None
        expected = "expected the 15- or 18-character organization ID starting 00D"
        if not SALESFORCE_ID.match(v) or not v.startswith("00D"):
            raise ValueError(f"{expected} (Setup › Company Information)")
        if len(v) == 18 and v[15:] != salesforce_case_suffix(v[:15]):
            raise ValueError(f"{expected}: its last three characters do not match the first 15")
        return v

    @field_validator("TRUSTBOT_SALESFORCE_ACTIONS", mode="before")
    @classmethod
    def _salesforce_actions(cls, v: object) -> dict[str, str]:
        """``<ActionId>=<change>,...``: which deal change each Outbound Message means."""
        form = "expected <ActionId>=<change>,... like 04k5w000000TSwM=stage_changed"
        if isinstance(v, dict):
            items = [f"{key}={value}" for key, value in v.items()]
        elif isinstance(v, str):
            items = [i.strip() for i in v.split(",") if i.strip()]
        else:
            raise ValueError(form)
        actions: dict[str, str] = {}
        for item in items:
            action, _, change = (part.strip() for part in item.partition("="))
            if not SALESFORCE_ID.match(action):
                raise ValueError(f"{form}; {action!r} is not a Salesforce ID")
            if change not in DEAL_CHANGES:
                raise ValueError(
                    f"{form}; {change!r} is not one of {', '.join(sorted(DEAL_CHANGES))}"
                )
            actions[action[:15]] = change
        return actions

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.SLACK_CLIENT_ID)

    def require(self, *names: str) -> None:
        """Raise :class:`SettingsError` naming every one of ``names`` that is not set, each
        with what is expected, in one line."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise SettingsError("; ".join(f"{n} is not set: {EXPECTED[n]}" for n in missing))


EXPECTED = {
    "SLACK_BOT_TOKEN": "expected the bot token (xoxb-...) from OAuth & Permissions",
    "SLACK_SIGNING_SECRET": "expected the signing secret from Basic Information",
    "SLACK_APP_TOKEN": "expected an app-level token (xapp-...) with connections:write",
    "SLACK_CLIENT_ID": "expected the client ID from Basic Information",
    "SLACK_CLIENT_SECRET": "SLACK_CLIENT_ID is set (OAuth installs), so the client secret "
    "from Basic Information is needed too",
    "TRUSTBOT_PSEUDONYM_KEY": "expected a secret of 16+ characters, kept out of the database",
    "TRUSTBOT_WEBHOOK_SECRET": "expected the shared secret that signs deal webhooks",
    "TRUSTBOT_TOKEN_KEY": "SLACK_CLIENT_ID is set (OAuth installs), so a Fernet key is needed "
    "to seal the bot tokens stored in the database",
}


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line naming each bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError as exc:  # only the .env file is read as bytes
        raise SettingsError(f".env is malformed: not UTF-8 text ({exc.reason})") from None
    except ValidationError as exc:
        said = []
        for err in exc.errors():  # every malformed setting at once, not one per start
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            said.append(f"{name} is malformed: {str(err['msg']).removeprefix('Value error, ')}")
        raise SettingsError("; ".join(said)) from None


def requirements(command: str, settings: Settings) -> tuple[str, ...]:
    """Which settings ``command`` cannot start without. With ``SLACK_CLIENT_ID`` (OAuth
    installs, many workspaces) the client secret replaces ``SLACK_BOT_TOKEN``."""
    if command == "migrate":
        return ()
    needed = ["SLACK_SIGNING_SECRET", "TRUSTBOT_PSEUDONYM_KEY", "TRUSTBOT_WEBHOOK_SECRET"]
    if settings.oauth_enabled:
        needed += ["SLACK_CLIENT_SECRET", "TRUSTBOT_TOKEN_KEY"]
    else:
        needed.insert(0, "SLACK_BOT_TOKEN")
    if command == "run":
        needed.append("SLACK_APP_TOKEN")
    return tuple(needed)
