"""Keyed pseudonyms: answers are stored under HMAC(key, user), never under the Slack user ID.

The key (``TRUSTBOT_PSEUDONYM_KEY``) is not in the database, so a dump alone cannot link an
answer to a person."""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(key: str, workspace_id: str, user_id: str, purpose: str = "answers") -> str:
    """A stable 64-hex-digit pseudonym for ``user_id`` in ``workspace_id``.

    ``purpose`` separates uses (answers, opt-out memory) so one cannot be matched to another.
    """
    message = f"{purpose}:{workspace_id}:{user_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
