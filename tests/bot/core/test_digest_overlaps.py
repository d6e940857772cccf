"""The cross-team k rule (bot/core/digests/overlaps.py): :class:`Overlaps` answers as comparing
every pair of teams does, without comparing every pair."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import anonymity
from bot.core.digests.overlaps import Overlaps, compared_with, overlapping


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


def test_teams_inside_a_team_must_not_leave_fewer_than_k_of_its_people() -> None:
    """A region A = B + C + x: every pair differs by k or more, yet A's figures minus B's and
    C's are x's answers. A is withheld; B and C, which nothing else covers, still show."""
    b = frozenset(f"b{i}" for i in range(5))
    c = frozenset(f"c{i}" for i in range(5))
    weeks = {1: b | c | {"x"}, 2: b, 3: c}
    overlaps = Overlaps(weeks)
    assert [overlaps.first(team, 5) for team in weeks] == [None, None, None]  # pairs: fine
    assert overlaps.nested(1, 5) and overlaps.withholds(1, 5)
    assert not overlaps.withholds(2, 5) and not overlaps.withholds(3, 5)
    # nobody left out, or k people or more left out: nothing to isolate
    assert not Overlaps({1: b | c, 2: b, 3: c}).withholds(1, 5)
    rest = frozenset(f"r{i}" for i in range(5))
    assert not Overlaps({1: b | c | rest, 2: b, 3: c}).withholds(1, 5)
    # a team too small to show for any k does not count as one that shows
    tiny = frozenset({"c0", "c1"})
    assert not Overlaps({1: b | tiny | {"x"}, 2: b, 3: tiny}).nested(1, 3)


close = st.dictionaries(  # few people: teams that share some and differ by a few are common
    st.integers(1, 8), st.frozensets(st.sampled_from([f"p{i}" for i in range(8)])), max_size=8
)


@settings(max_examples=400)
@given(close, st.integers(1, 8), st.integers(0, 15), st.randoms(use_true_random=False))
def test_only_the_teams_compared_with_a_team_are_needed_for_its_rule(
    reps: dict[int, frozenset[str]], team_id: int, k: int, rng: random.Random
) -> None:
    """A team's digest computes the pseudonyms of the teams its rule compares it with
    (:func:`compared_with`, from the rounds' reps), not of every team of the workspace: the
    verdict is the one over every team, whoever of the reps answered."""
    respondents = {
        t: frozenset(p for p in found if rng.random() < 0.8) for t, found in reps.items()
    }
    near = compared_with({t: set(found) for t, found in reps.items()}, [team_id], k)
    assert team_id in near or team_id not in reps
    fewer = {t: found for t, found in respondents.items() if t in near}
    assert Overlaps(fewer).withholds(team_id, k) == Overlaps(respondents).withholds(team_id, k)


def test_with_a_high_k_teams_with_nobody_in_common_are_compared_too() -> None:
    """k = 10: a team of 3 and another of 4 differ by 7 people, fewer than k."""
    rounds = {1: {"a", "b", "c"}, 2: {"d", "e", "f", "g"}, 3: {"h", "i", "j", "k", "l"}}
    assert compared_with(rounds, [1], 10) == {1, 2, 3}
    assert compared_with(rounds, [1], 5) == {1}  # 3 + 3 people already differ by k
    assert compared_with({**rounds, 4: {"a", "z"}}, [1], 5) == {1, 4}  # sharing a rep
