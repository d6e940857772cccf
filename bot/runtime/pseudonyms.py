"""Keyed pseudonyms: answers are stored under HMAC(key, user), never under the Slack user ID.

The key (``TRUSTBOT_PSEUDONYM_KEY``) is not in the database, so a dump alone cannot link an
answer to a person. Every part of the app asks :attr:`bot.runtime.Runtime.pseudonyms`; with
no key it refuses (:class:`PseudonymKeyMissing`), it never hashes with an empty one.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass


class Purpose(enum.StrEnum):
    """Separate uses get unrelated pseudonyms, so one cannot be matched to another."""

    ANSWERS = "answers"  # Response / Note / ManagerEstimate.pseudonym
    OPTOUT = "optout"  # OptOut.user_hash, which outlives forget-me
    NUDGE = "nudge"  # a nudge's answer context, from its deal event id
    DEAL = "deal"  # DealVerdict.deal_ref: a deal, never its rep


class PseudonymKeyMissing(RuntimeError):
    """``TRUSTBOT_PSEUDONYM_KEY`` is not set, so nothing can be stored under a pseudonym."""

    def __init__(self) -> None:
        super().__init__("TRUSTBOT_PSEUDONYM_KEY is not set: answers cannot be pseudonymised")


def pseudonym(key: str, workspace_id: str, user_id: str, purpose: str = Purpose.ANSWERS) -> str:
    """A stable 64-hex-digit pseudonym for ``user_id`` in ``workspace_id``."""
    if not key:
        raise PseudonymKeyMissing()
    message = f"{purpose}:{workspace_id}:{user_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Pseudonyms:
    """The one accessor: ``runtime.pseudonyms.of(workspace, user)``."""

    key: str | None

    def of(self, workspace_id: str, user_id: str, purpose: Purpose = Purpose.ANSWERS) -> str:
        """``user_id``'s pseudonym for ``purpose``; :class:`PseudonymKeyMissing` without a key."""
        return pseudonym(self.key or "", workspace_id, user_id, purpose)
