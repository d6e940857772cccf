"""The k-anonymity rule: examples, then properties that try to break it with random answers."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.anonymity import (
    K_FLOOR,
    NOT_ENOUGH,
    Breakdown,
    Cell,
    enough,
    safe_breakdown,
    safe_partition,
    threshold,
)


def test_k_defaults_to_five_and_never_goes_below_three() -> None:
    assert threshold(None) == 5
    assert threshold(7) == 7
    assert threshold(2) == threshold(0) == threshold(-4) == K_FLOOR == 3
    assert enough(3, 1) and not enough(2, 1)
    assert enough(5, 5) and not enough(4, 5)


def test_a_breakdown_under_k_people_is_not_shown_at_all() -> None:
    result = safe_partition({"yes": 3, "no": 1}, 5)
    assert result == Breakdown(total=None, reason=NOT_ENOUGH)
    assert result.suppressed and result.count("yes") is None


def test_every_cell_big_enough_is_shown() -> None:
    result = safe_partition({"yes": 6, "no": 5, "maybe": 0}, 5)
    assert result.total == 11
    assert result.shown == (("yes", 6), ("no", 5))
    assert result.other is None and result.reason is None
    assert result.count("maybe") == 0  # known empty: total minus the shown cells is 0


def test_the_last_small_cell_is_not_left_derivable_from_the_total() -> None:
    # 6 people, 5 said yes, 1 said no: showing "yes 5" and the total gives away the one "no"
    result = safe_partition({"yes": 5, "no": 1}, 5)
    assert result.total == 6
    assert result.shown == ()
    assert result.other == 6
    assert result.reason == NOT_ENOUGH
    assert result.count("no") is None and result.count("yes") is None


def test_small_cells_are_shown_together_when_they_reach_k() -> None:
    result = safe_partition({"5": 6, "4": 2, "3": 2, "2": 1}, 5)
    assert result.shown == (("5", 6),)
    assert result.other == 5  # four people in three small cells: >= k together
    assert result.count("4") is None


def test_complementary_suppression_hides_the_smallest_shown_cell() -> None:
    result = safe_partition({"a": 9, "b": 6, "c": 2}, 5)
    assert result.shown == (("a", 9),)
    assert result.other == 8


def test_overlapping_cells_count_distinct_people() -> None:
    # one person answered ten times: ten answers, one respondent
    cells = [
        Cell("won", 10, frozenset({"p1"})),
        Cell("lost", 6, frozenset({"p1", "p2", "p3", "p4", "p5"})),
    ]
    result = safe_breakdown(cells, 5)
    assert result.total is not None
    assert result.shown == ()  # "won" is one person; "lost" alone would give it away
    assert result.other == 16


def test_round_trip_through_json() -> None:
    result = safe_partition({"yes": 6, "no": 5}, 5)
    assert Breakdown.from_dict(result.as_dict()) == result


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        safe_partition({"a": -1}, 5)
    with pytest.raises(ValueError):
        safe_breakdown([Cell("a", 1), Cell("a", 2)], 5)


# --------------------------------------------------------------------------- properties

CATEGORIES = ["1", "2", "3", "4", "5", "yes", "no"]
answers = st.lists(
    st.tuples(st.integers(0, 15), st.sampled_from(CATEGORIES), st.integers(1, 3)), max_size=60
)
ks = st.integers(-2, 9)


def _cells(rows: list[tuple[int, str, int]]) -> tuple[list[Cell], dict[str, set[int]]]:
    counts: dict[str, int] = defaultdict(int)
    people: dict[str, set[int]] = defaultdict(set)
    for person, category, times in rows:
        counts[category] += times
        people[category].add(person)
    cells = [Cell(c, counts[c], frozenset(people[c])) for c in CATEGORIES if c in counts]
    return cells, people


def _check(result: Breakdown, counts: dict[str, int], people: dict[str, set[int]], k: int) -> None:
    need = threshold(k)
    everyone = set().union(*people.values()) if people else set()
    if len(everyone) < need:
        assert result.total is None and result.shown == () and result.other is None
        return
    assert result.total == sum(counts.values())
    shown = dict(result.shown)
    for key in shown:
        # no shown cell has fewer than k respondents
        assert len(people[key]) >= need, (key, people[key], need)
        assert shown[key] == counts[key]
    hidden_people = set().union(*(people[c] for c in counts if c not in shown))
    # the total minus the shown cells never covers 1..k-1 people ...
    assert len(hidden_people) == 0 or len(hidden_people) >= need
    assert (result.other or 0) == result.total - sum(shown.values())
    # ... and "total minus the other shown cells" always covers at least k people
    for key in shown:
        derived = result.total - sum(v for c, v in shown.items() if c != key)
        assert derived == shown[key] + (result.other or 0)
        assert len(people[key] | hidden_people) >= need


@settings(max_examples=300, deadline=None)
@given(rows=answers, k=ks)
def test_no_shown_cell_isolates_fewer_than_k_people(rows: list[tuple[int, str, int]], k: int):
    cells, people = _cells(rows)
    counts = {cell.key: cell.count for cell in cells}
    _check(safe_breakdown(cells, k), counts, people, k)


@settings(max_examples=400, deadline=None)
@given(counts=st.dictionaries(st.sampled_from(CATEGORIES), st.integers(0, 12)), k=ks)
def test_partitions_of_people_obey_the_same_rule(counts: dict[str, int], k: int) -> None:
    # each person in one cell: invent ids so the general checker can count them
    people: dict[str, set[int]] = {}
    next_id = 0
    for key, n in counts.items():
        people[key] = set(range(next_id, next_id + n))
        next_id += n
    _check(safe_partition(counts, k), counts, people, k)


@settings(max_examples=200, deadline=None)
@given(rows=answers, k=ks)
def test_as_much_as_possible_is_shown(rows: list[tuple[int, str, int]], k: int) -> None:
    """Suppression is not overdone: at most one cell with k people is hidden to protect others."""
    cells, _ = _cells(rows)
    result = safe_breakdown(cells, k)
    big = [c.key for c in cells if len(c.people) >= threshold(k)]
    if result.total is not None:
        assert len(big) - len(result.shown) <= 1
