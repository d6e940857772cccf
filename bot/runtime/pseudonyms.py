"""Keyed pseudonyms: answers are stored under HMAC(key, user, week), never under the Slack
user ID.

The key (``TRUSTBOT_PSEUDONYM_KEY``) is not in the database, so a dump alone cannot link an
answer to a person. An answer's pseudonym changes every week (:meth:`Pseudonyms.weekly`):
without the key, one week's answers cannot even be linked to the same person's answers of
another week, so patterns over time (when someone joined, which weeks they answered) give
nobody away. With the key the app recomputes a person's pseudonyms for the weeks it needs
(their own trend, export, forget-me). Every part of the app asks
:attr:`bot.runtime.Runtime.pseudonyms`; with no key it refuses (:class:`PseudonymKeyMissing`),
it never hashes with an empty one.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


class Purpose(enum.StrEnum):
    """Separate uses get unrelated pseudonyms, so one cannot be matched to another."""

    ANSWERS = "answers"  # Response / Note / ManagerEstimate.pseudonym, with the week
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

    def of(self, workspace_id: str, user_id: str, purpose: Purpose) -> str:
        """``user_id``'s pseudonym for ``purpose``; :class:`PseudonymKeyMissing` without a key.
        Answers take :meth:`weekly` instead."""
        if purpose is Purpose.ANSWERS:
            raise ValueError("answers are stored under weekly pseudonyms: use weekly()")
        return pseudonym(self.key or "", workspace_id, user_id, purpose)

    def weekly(self, workspace_id: str, user_id: str, period_start: date) -> str:
        """The pseudonym ``user_id``'s answers of the week starting ``period_start`` are
        stored under (a different one every week)."""
        return pseudonym(
            self.key or "", workspace_id, f"{user_id}:{period_start.isoformat()}", Purpose.ANSWERS
        )

    def weeks(self, workspace_id: str, user_id: str, periods: Iterable[date]) -> dict[str, date]:
        """``user_id``'s weekly pseudonyms for ``periods``, each with its week."""
        return {self.weekly(workspace_id, user_id, p): p for p in periods}
