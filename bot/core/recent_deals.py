"""The deals each rep touched lately, sealed at rest: what the check-in's deal question names.

A weekly check-in asks one question about "a deal I touched this week" (the one the rep's
updates named most). Planned deal updates forget their rep (anonymity at rest, #15), so the
planner keeps, per rep, a small record of the deals their updates named: ids, last known
names, counts and when, never the change. It is sealed with AES-GCM (``cryptography``) under a
key derived (HKDF) from ``TRUSTBOT_PSEUDONYM_KEY``; the plaintext is padded to a multiple of
512 bytes; nothing about it is stored in clear but whose record it is. Without the key a dump
shows one opaque value per rep: no deal, no count, no instant to join with the deal updates.

When a team's weekly round is planned (up to a day before the DMs' slots), each rep's deal
is picked (:func:`rotation.pick_deal`) from their record's updates of the week before, and
sealed on their check-in's outbox row (``Delivery.anchor``): drawing the DM, and redrawing
it after a click, only read it, so they never change which deal it names and need no write;
the closed DM forgets it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy import select as sa_select

from bot.runtime.pseudonyms import PseudonymKeyMissing
from bot.storage.models import Delivery, RecentDeals

WINDOW = timedelta(days=7)
"""How far back a deal update counts as "a deal I touched this week"."""
KEPT = timedelta(days=8)
"""How long a touched deal stays in the record: a round looks a week back from its planning."""
MAX_DEALS = 20
"""Deals kept per rep (the latest touched); a check-in names the one touched most."""
MAX_TOUCHES = 8
"""Updates kept per deal (the latest): "touched most" counts up to this many."""
NAME_CHARS = 120
"""A deal name is kept to this length (the check-in question quotes it)."""
PAD = 512
ANCHOR_PAD = 128  # a deal name: at most NAME_CHARS characters
_NONCE = 12
_TABLE = RecentDeals.__table__  # type: ignore[attr-defined]

Touch = tuple[str, str]
"""``(deal id, deal name)``: one deal update naming a rep."""
Touched = tuple[str, str, datetime]
"""``(deal id, deal name, when)``: a recorded update, as :func:`rotation.pick_deal` takes it."""


@cache
def _cipher(key: str) -> AESGCM:
    if not key:
        raise PseudonymKeyMissing()
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"trustbot recent deals"
    ).derive(key.encode())
    return AESGCM(derived)


def seal(key: str, value: Any, where: str, pad: int = PAD) -> str:
    """``value`` as JSON padded to a multiple of ``pad`` bytes (its length says little),
    encrypted and authenticated for the place ``where`` it is stored (a value moved to
    another rep's row does not open there): URL-safe base64 text."""
    plain = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    plain += b" " * (-len(plain) % pad)
    nonce = os.urandom(_NONCE)
    sealed = _cipher(key).encrypt(nonce, plain, where.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: str, sealed: str, where: str) -> Any:
    """What :func:`seal` sealed for ``where``; ``None`` when it does not open (another key,
    or another place: the record starts again, it only serves the next check-in question)."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return json.loads(_cipher(key).decrypt(raw[:_NONCE], raw[_NONCE:], where.encode()))
    except (InvalidTag, ValueError):
        return None


def _place(workspace_id: str, user_id: str) -> str:
    return f"recentdeals:{workspace_id}:{user_id}"


def _record(key: str, workspace_id: str, user_id: str, sealed: str | None) -> dict[str, list[Any]]:
    """A rep's record: deal id -> ``[name, [instants (epoch seconds), ascending]]``."""
    opened = unseal(key, sealed, _place(workspace_id, user_id)) if sealed else None
    return opened if isinstance(opened, dict) else {}


def record(
    connection: Connection,
    key: str,
    workspace_id: str,
    touches: Mapping[str, Iterable[Touch]],
    now: datetime,
) -> None:
    """Add each rep's ``touches`` (user ID -> updates naming them, planned ``now``) to their
    sealed record, in the caller's transaction; drops what is older than :data:`KEPT` and
    keeps the latest :data:`MAX_DEALS` deals, each with its latest :data:`MAX_TOUCHES`
    updates."""
    if not touches:
        return
    users = sorted(touches)
    stored: dict[str, str] = dict(
        connection.execute(
            sa_select(_TABLE.c.user_id, _TABLE.c.sealed).where(
                _TABLE.c.workspace_id == workspace_id, _TABLE.c.user_id.in_(users)
            )
        ).all()
    )
    when, since = int(now.timestamp()), int((now - KEPT).timestamp())
    inserts: list[dict[str, str]] = []
    updates: list[dict[str, str]] = []
    for user in users:
        deals = _record(key, workspace_id, user, stored.get(user))
        for deal_id, name in touches[user]:  # planned now: after what the record holds
            entry = deals.get(deal_id)
            if entry is None:
                deals[deal_id] = [name[:NAME_CHARS], [when]]
                continue
            entry[0] = name[:NAME_CHARS] or entry[0]
            entry[1].append(when)
            if len(entry[1]) > MAX_TOUCHES:
                del entry[1][0]
        latest = sorted(
            (entry[1][-1], deal_id)
            for deal_id, entry in deals.items()
            if entry[1] and entry[1][-1] > since
        )[-MAX_DEALS:]
        kept = {deal_id: deals[deal_id] for _, deal_id in latest}
        sealed = seal(key, kept, _place(workspace_id, user))
        if user in stored:
            updates.append({"ws": workspace_id, "user": user, "sealed": sealed})
        else:
            inserts.append({"workspace_id": workspace_id, "user_id": user, "sealed": sealed})
    if inserts:
        connection.execute(insert(_TABLE), inserts)
    if updates:
        connection.execute(
            update(_TABLE)
            .where(_TABLE.c.workspace_id == bindparam("ws"), _TABLE.c.user_id == bindparam("user"))
            .values(sealed=bindparam("sealed")),
            updates,
        )


def _in_window(deals: Mapping[str, list[Any]], until: datetime) -> list[Touched]:
    start, end = (until - WINDOW).timestamp(), until.timestamp()
    return [
        (str(deal_id), str(name), datetime.fromtimestamp(at, UTC))
        for deal_id, (name, instants) in deals.items()
        for at in instants
        if start < at <= end
    ]


def anchors(
    connection: Connection,
    key: str,
    workspace_id: str,
    round_id: int,
    untils: Mapping[str, datetime],
    pick: Callable[[list[Touched]], str | None],
) -> dict[str, str]:
    """Each rep's check-in deal for round ``round_id``, sealed for its outbox row: ``pick`` of
    their recorded updates in the week up to ``untils[user]``. Every rep gets one, sealed to
    the same size whether it names a deal or none."""
    if not untils:
        return {}
    stored: dict[str, str] = dict(
        connection.execute(
            sa_select(_TABLE.c.user_id, _TABLE.c.sealed).where(
                _TABLE.c.workspace_id == workspace_id, _TABLE.c.user_id.in_(sorted(untils))
            )
        ).all()
    )
    sealed = {}
    for user, until in untils.items():
        deals = _record(key, workspace_id, user, stored.get(user))
        chosen = pick(_in_window(deals, until))
        sealed[user] = seal(key, chosen, _anchor_place(round_id, user), pad=ANCHOR_PAD)
    return sealed


def anchor(key: str | None, delivery: Delivery) -> str | None:
    """The deal a check-in DM names, from its row (:func:`anchors`); ``None`` when it names
    none, or the row has closed and forgotten its person."""
    if not key or delivery.anchor is None or delivery.round_id is None or not delivery.user_id:
        return None
    opened = unseal(key, delivery.anchor, _anchor_place(delivery.round_id, delivery.user_id))
    return opened if isinstance(opened, str) else None


def _anchor_place(round_id: int, user_id: str) -> str:
    return f"anchor:{round_id}:{user_id}"
