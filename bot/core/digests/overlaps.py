"""The k rule across teams: two digests of a week must not be subtractable to isolate fewer
than k people's answers. :class:`Overlaps` answers it for every team of a week at once;
:func:`compared_with` says, from the week's rounds alone, which teams a team's verdict
depends on (so one team's digest computes no other team's pseudonyms than those)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping

from bot.core import anonymity


def compared_with(rounds: Mapping[int, set[str]], near: Collection[int], k: int | None) -> set[int]:
    """The teams whose respondents the k rule across teams (:class:`Overlaps`) compares with
    ``near``'s, from the week's rounds (``rounds``: each team's reps): ``near`` themselves and
    every team sharing a rep with one of them; and every team when k is high enough for two
    teams with nobody in common to differ by fewer than k people (each has at least the
    lowest k, or it shows nothing). Computing the others' pseudonyms would only cost: for one
    team's digest in a workspace of 1,000 teams, 10,000 keyed hashes a week (bench/memory)."""
    if anonymity.threshold(k) > 2 * anonymity.K_FLOOR:
        return set(rounds)
    theirs = set().union(*(rounds.get(t, set()) for t in near))
    return {t for t, reps in rounds.items() if t in near or not reps.isdisjoint(theirs)}


def overlapping(respondents: Mapping[int, frozenset[str]], team_id: int, k: int) -> int | None:
    """Another team of the same week whose respondents differ from ``team_id``'s by 1 to
    k-1 people, if any: subtracting one digest from the other would isolate so few people's
    answers (the k rule across teams), so this team's figures are withheld. Teams with fewer
    respondents than the lowest k show no answer figure at all, so they are no such risk."""
    return Overlaps(respondents).first(team_id, k)


class Overlaps:
    """:func:`overlapping` for every team of a week without comparing each pair: only teams
    that share someone, or are small enough to differ by fewer than k people anyway, can
    differ by 1 to k-1 people (the cost was quadratic in the teams, measured with
    bench/memory's 1,000 teams)."""

    def __init__(self, respondents: Mapping[int, frozenset[str]]) -> None:
        self.respondents = respondents
        self.teams_of: dict[str, set[int]] = defaultdict(set)
        self.of_size: dict[int, set[int]] = defaultdict(set)
        for team, people in respondents.items():
            if len(people) >= anonymity.K_FLOOR:
                self.of_size[len(people)].add(team)
                for person in people:
                    self.teams_of[person].add(team)

    def withholds(self, team_id: int, k: int) -> bool:
        """Whether ``team_id``'s figures must be withheld: another team differs from it by
        1 to k-1 people (:meth:`first`), or the teams inside it leave 1 to k-1 of its people
        (:meth:`nested`)."""
        return self.first(team_id, k) is not None or self.nested(team_id, k)

    def nested(self, team_id: int, k: int) -> bool:
        """Whether the teams inside this one (each of their people is one of this team's)
        together leave 1 to k-1 of its people out: with sub-teams B and C of a region A, the
        pairs all differ by k or more, yet A's figures minus B's and C's are the rest's
        answers (the roll-up's rule across teams, for a team's digest). Every team that has
        enough people for the lowest k counts as one that shows."""
        mine = self.respondents.get(team_id, frozenset())
        if len(mine) < anonymity.K_FLOOR:
            return False
        near = set().union(*(self.teams_of[person] for person in mine)) - {team_id}
        inside = [self.respondents[o] for o in near if self.respondents[o] <= mine]
        if not inside:
            return False
        return 0 < len(mine.difference(*inside)) < anonymity.threshold(k)

    def first(self, team_id: int, k: int) -> int | None:
        """The lowest team id that :func:`overlapping` names for ``team_id``, or None."""
        mine = self.respondents.get(team_id, frozenset())
        if len(mine) < anonymity.K_FLOOR:
            return None
        limit = anonymity.threshold(k)
        near = set().union(*(self.teams_of[person] for person in mine))
        for size in range(anonymity.K_FLOOR, limit - len(mine)):  # disjoint, yet close
            near |= self.of_size.get(size, set())
        for other in sorted(near - {team_id}):
            if 0 < len(mine ^ self.respondents[other]) < limit:
                return other
        return None
