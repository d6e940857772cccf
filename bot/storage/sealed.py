"""Slack tokens sealed at rest: Fernet (``cryptography``) with keys from the environment.

``TRUSTBOT_TOKEN_KEY`` holds one or more Fernet keys separated by commas, newest first: a
token is sealed with the first and opened with any of them (``MultiFernet``), so a key is
rotated by putting the new one in front, running ``trustbot migrate`` (which re-seals every
stored token with it) and then dropping the old one; ``trustbot migrate`` also seals tokens
stored in clear by an earlier version. A sealed token is Fernet's URL-safe
base64 (``gAAAAA...``), never Slack's ``xox...``, so a database dump without the key shows
no token.

::

    tokens = TokenSealer.from_setting(os.environ["TRUSTBOT_TOKEN_KEY"])
    sealed = tokens.seal("xoxb-...")
    tokens.open(sealed) == "xoxb-..."
"""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, MetaData, Table, func, inspect, select, update

SETTING = "TRUSTBOT_TOKEN_KEY"
CLEAR_PREFIX = "xox"
"""Every Slack OAuth token (``xoxb-``, ``xoxp-``, ``xoxe-`` refresh tokens) starts so."""
TOKEN_COLUMNS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}
"""Where slack_sdk's installation store keeps tokens."""


_NO_KEY = (
    f"a stored Slack token opens with none of the keys in {SETTING}: put back the key it was "
    "sealed with (a rotation keeps the old key until `trustbot migrate` has re-sealed every "
    "token)"
)


class TokenKeyError(ValueError):
    """``TRUSTBOT_TOKEN_KEY`` is not a list of Fernet keys; the message says what is wrong."""


class SealedTokenError(LookupError):
    """A stored token opens with none of the configured keys (a key was dropped too soon)."""


def new_key() -> str:
    """A fresh key for ``TRUSTBOT_TOKEN_KEY``."""
    return Fernet.generate_key().decode()


def is_sealed(value: str) -> bool:
    return not value.startswith(CLEAR_PREFIX)


class TokenSealer:
    """Seals and opens tokens with a list of Fernet keys, the first one sealing."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise TokenKeyError(f"{SETTING} is empty: expected a Fernet key (44 characters)")
        fernets = []
        for i, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key.encode()))
            except ValueError:
                where = f" (key {i} of {len(keys)})" if len(keys) > 1 else ""
                raise TokenKeyError(
                    f"{SETTING} is not a Fernet key{where}: expected 32 url-safe base64-encoded "
                    "bytes (44 characters), e.g. from: python -c 'from cryptography.fernet "
                    "import Fernet; print(Fernet.generate_key().decode())'"
                ) from None
        self._fernet = MultiFernet(fernets)
        self._first = fernets[0]

    @classmethod
    def from_setting(cls, value: str) -> TokenSealer:
        return cls([k.strip() for k in value.split(",") if k.strip()])

    def seal(self, token: str | None) -> str | None:
        """The token sealed with the first key; None stays None, a sealed one is re-sealed
        with the first key (rotation)."""
        if token is None:
            return None
        if not token:
            return token
        if is_sealed(token):
            try:
                return self._fernet.rotate(token.encode()).decode()
            except InvalidToken:
                raise SealedTokenError(_NO_KEY) from None
        return self._fernet.encrypt(token.encode()).decode()

    def is_current(self, stored: str | None) -> bool:
        """Whether ``stored`` is None or sealed with the first key (nothing to re-seal)."""
        if not stored:
            return True
        if not is_sealed(stored):
            return False
        try:
            self._first.decrypt(stored.encode())
        except InvalidToken:
            return False
        return True

    def open(self, stored: str | None) -> str | None:
        """The clear token; a row still in clear (written before sealing) is returned as is."""
        if not stored or not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise SealedTokenError(_NO_KEY) from None


def _token_tables(connection: Connection) -> Iterator[tuple[Table, tuple[str, ...]]]:
    """Each table of :data:`TOKEN_COLUMNS` that exists, with its token columns."""
    meta = MetaData()
    for table_name, columns in TOKEN_COLUMNS.items():
        if inspect(connection).has_table(table_name):
            yield Table(table_name, meta, autoload_with=connection), columns


def seal_all(connection: Connection, sealer: TokenSealer) -> int:
    """Seal (or re-seal with the first key) every token slack_sdk's store holds; how many
    values were written. Run by ``trustbot migrate`` in its own transaction."""
    written = 0
    for table, columns in _token_tables(connection):
        for row in connection.execute(select(table.c.id, *(table.c[c] for c in columns))).all():
            changed = {
                c: sealer.seal(row._mapping[c])
                for c in columns
                if not sealer.is_current(row._mapping[c])
            }
            if changed:
                connection.execute(update(table).where(table.c.id == row.id).values(**changed))
                written += len(changed)
    return written


def clear_tokens(connection: Connection) -> int:
    """How many tokens are stored in clear (for a refusal naming them)."""
    found = 0
    for table, columns in _token_tables(connection):
        for column in columns:
            found += connection.execute(
                select(func.count()).where(table.c[column].like(f"{CLEAR_PREFIX}%"))
            ).scalar_one()
    return found
