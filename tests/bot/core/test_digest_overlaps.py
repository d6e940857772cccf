"""The cross-team k rule (bot/core/digests/freezing.py): :class:`Overlaps` answers as comparing
every pair of teams does, without comparing every pair."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core import anonymity
from bot.core.digests.freezing import Overlaps, overlapping


def every_pair(respondents: dict[int, frozenset[str]], team_id: int, k: int) -> int | None:
    """The rule as written: the lowest other team (of at least the lowest k) whose
    respondents differ from this team's by 1 to k-1 people."""
    mine = respondents.get(team_id, frozenset())
    if len(mine) < anonymity.K_FLOOR:
        return None
    for other, theirs in sorted(respondents.items()):
        if other == team_id or len(theirs) < anonymity.K_FLOOR:
            continue
        if 0 < len(mine ^ theirs) < anonymity.threshold(k):
            return other
    return None


people = st.frozensets(st.sampled_from([f"p{i}" for i in range(14)]), max_size=12)
weeks = st.dictionaries(st.integers(1, 12), people, max_size=10)


@given(weeks, st.integers(1, 12), st.integers(0, 15))
def test_overlaps_names_the_team_every_pair_would(
    respondents: dict[int, frozenset[str]], team_id: int, k: int
) -> None:
    expected = every_pair(respondents, team_id, k)
    assert Overlaps(respondents).first(team_id, k) == expected
    assert overlapping(respondents, team_id, k) == expected


def test_disjoint_small_teams_still_count_when_k_is_large() -> None:
    """Two teams with nobody in common differ by everyone: with k = 10, 3 + 4 people is
    fewer than k, so each withholds (the pruning must keep such pairs)."""
    respondents = {1: frozenset({"a", "b", "c"}), 2: frozenset({"d", "e", "f", "g"})}
    assert Overlaps(respondents).first(1, 10) == 2
    assert Overlaps(respondents).first(2, 10) == 1
    assert Overlaps(respondents).first(1, 5) is None
