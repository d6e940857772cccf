"""The k-anonymity rule: which figures about the team's answers may be shown.

Every figure the product shows about answers passes through here:

* :func:`threshold` - the ``k`` in force: a team's setting, never below :data:`K_FLOOR`.
* :func:`enough` - a figure (a mean, a total, a quoted note) needs at least ``k`` distinct
  respondents behind it; otherwise it says :data:`NOT_ENOUGH`.
* :func:`safe_breakdown` / :func:`safe_partition` - a total split into cells (by score, by
  choice, by deal moment): a cell is shown only with at least ``k`` respondents, and the cells
  not shown, taken together, cover either nobody or at least ``k`` respondents (complementary
  suppression). Subtracting the shown cells from the total therefore never isolates fewer
  than ``k`` people: if it would, a second cell is folded into "other" as well.

A share ("55% say 4 or 5") reveals both of its cells, so it is a breakdown too.

The rest of the rule is about time and lives with the digest (``bot/digests.py``): one
window per ISO week (windows never overlap) and a period's figures are frozen the first
time they are shown and re-shown verbatim afterwards, so two views can never differ by a few
people's answers.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_K",
    "K_FLOOR",
    "MANAGER_ESTIMATE_MIN",
    "NOT_ENOUGH",
    "Breakdown",
    "Cell",
    "enough",
    "safe_breakdown",
    "safe_partition",
    "threshold",
]

K_FLOOR = 3
"""``k`` can never be set below this: smaller groups could be identified."""
DEFAULT_K = 5
NOT_ENOUGH = "not enough responses"
"""What a suppressed figure says instead of a number."""

MANAGER_ESTIMATE_MIN = 1
"""Managers' estimates (the perception gap) are shown from this many managers.

The k rule protects reps' answers. A manager answers the estimate question to have it
compared openly with the team's answer in the digest, so the managers' side is shown as
their mean; the team's side always obeys ``k`` and complementary suppression.
"""


def threshold(k: int | None) -> int:
    """The ``k`` in force: the team's setting (default 5), never below :data:`K_FLOOR`."""
    return max(DEFAULT_K if k is None else int(k), K_FLOOR)


def enough(respondents: int, k: int | None) -> bool:
    """Whether ``respondents`` distinct people are enough to show a figure built from them."""
    return respondents >= threshold(k)


@dataclass(frozen=True)
class Cell:
    """One cell of a breakdown: what it would show (``count``) and who is behind it.

    ``count`` is what the reader sees (answers or people); ``people`` are opaque ids of the
    distinct respondents behind it (pseudonyms), never shown.
    """

    key: str
    count: int
    people: frozenset[Hashable] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Breakdown:
    """What may be shown of a total split into cells.

    ``total`` is ``None`` when the whole breakdown is suppressed. ``shown`` lists the cells
    shown, in the order given; ``other`` is the sum of every other cell (at least ``k``
    respondents behind it) or ``None`` when the others are all empty. ``reason`` says why
    cells are missing (:data:`NOT_ENOUGH`), ``None`` when nothing is.
    """

    total: int | None
    shown: tuple[tuple[str, int], ...] = ()
    other: int | None = None
    reason: str | None = None

    @property
    def suppressed(self) -> bool:
        return self.total is None

    def count(self, key: str) -> int | None:
        """The shown count of ``key``; 0 when it is known to be empty; ``None`` if withheld."""
        for name, value in self.shown:
            if name == key:
                return value
        if self.total is not None and self.other is None:
            return 0
        return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"total", "cells": [[key, count], ...], "other", "reason"}``."""
        return {
            "total": self.total,
            "cells": [[key, value] for key, value in self.shown],
            "other": self.other,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Breakdown:
        return cls(
            total=data.get("total"),
            shown=tuple((str(key), int(value)) for key, value in data.get("cells") or ()),
            other=data.get("other"),
            reason=data.get("reason"),
        )


_NOTHING = Breakdown(total=None, reason=NOT_ENOUGH)


def safe_breakdown(cells: Sequence[Cell], k: int | None) -> Breakdown:
    """The cells that may be shown, for cells whose respondents may overlap.

    Nothing is shown unless the cells together have at least ``k`` distinct respondents.
    A cell is shown only with ``k`` respondents or more; the rest are summed into ``other``,
    which, when not empty, always has ``k`` respondents or more behind it.
    """
    keys = [cell.key for cell in cells]
    if len(set(keys)) != len(keys):
        raise ValueError("cell keys repeat")
    counts = {cell.key: cell.count for cell in cells}
    people = {cell.key: cell.people for cell in cells}

    def people_in(subset: Iterable[str]) -> int:
        union: set[Hashable] = set()
        for key in subset:
            union |= people[key]
        return len(union)

    need = threshold(k)
    if people_in(keys) < need:
        return _NOTHING
    shown = [key for key in keys if len(people[key]) >= need]
    hidden = [key for key in keys if key not in shown and counts[key] > 0]
    # Complementary suppression: the hidden cells together are "total minus the shown ones".
    # If they cover 1..k-1 people, fold the smallest shown cell in too: it alone has >= k,
    # so one is always enough.
    if hidden and people_in(hidden) < need:
        victim = min(reversed(shown), key=counts.__getitem__)
        shown.remove(victim)
        hidden.append(victim)
    other = sum(counts[key] for key in hidden)
    return Breakdown(
        total=sum(counts.values()),
        shown=tuple((key, counts[key]) for key in shown),
        other=other or None,
        reason=NOT_ENOUGH if hidden else None,
    )


def safe_partition(counts: Mapping[str, int], k: int | None) -> Breakdown:
    """:func:`safe_breakdown` for a partition of people: each person is in exactly one cell,
    so a cell's count is its number of respondents and the people behind several cells are
    their sum."""
    need = threshold(k)
    total = 0
    for value in counts.values():
        if value < 0:
            raise ValueError("negative count")
        total += value
    if total < need:
        return _NOTHING
    shown = [key for key, value in counts.items() if value >= need]
    hidden = total - sum(counts[key] for key in shown)
    if 0 < hidden < need:  # complementary suppression, as in safe_breakdown
        victim = min(reversed(shown), key=counts.__getitem__)
        shown.remove(victim)
        hidden += counts[victim]
    return Breakdown(
        total=total,
        shown=tuple((key, counts[key]) for key in shown),
        other=hidden or None,
        reason=NOT_ENOUGH if hidden else None,
    )
