"""Issue #15: digests that differ by one person must not give that person's answers away.

An admin makes two teams in the same week, ``x`` = {2, 3, 4} and ``y`` = ``x`` + {5}, with
k = 3: each digest alone obeys k, but every dimension's index of 5 is
``4 * index_y - 3 * index_x`` when 2, 3 and 4 answer both check-ins alike (as people do).
The attack counts as defeated when, for every dimension, a figure it needs is withheld or
the difference is not 5's real answer (to within the digest's rounding: 0.05).
"""

from __future__ import annotations

from bot.core import privacy
from bot.runtime import Runtime
from bot.storage import Database
from bot.storage.models import Team
from tests.attacks import _week as week

MEMBERS = ["U0REP0002", "U0REP0003", "U0REP0004"]
TARGET = "U0REP0005"
# each person's score per dimension (scale questions of the check-in)
SCORES = {
    "U0REP0002": {"integrity": 4, "competence": 4, "care": 5, "candor": 4, "reliability": 3,
                  "value_focus": 4, "internal_trust": 4},
    "U0REP0003": {"integrity": 5, "competence": 3, "care": 4, "candor": 4, "reliability": 4,
                  "value_focus": 5, "internal_trust": 3},
    "U0REP0004": {"integrity": 4, "competence": 4, "care": 4, "candor": 5, "reliability": 4,
                  "value_focus": 3, "internal_trust": 4},
    TARGET: {"integrity": 2, "competence": 3, "care": 1, "candor": 2, "reliability": 1,
             "value_focus": 2, "internal_trust": 1},
}  # fmt: skip


async def two_teams_one_apart(db: Database) -> tuple[Runtime, Team, Team]:
    rt = await week.workspace(db)
    x = await week.team(rt, "x", MEMBERS, k=3)
    y = await week.team(rt, "y", [*MEMBERS, TARGET], k=3)
    sent = await week.send_checkins(rt, x, y)
    for (_, user), round_id in sorted(sent.items()):
        await week.answer_checkin(rt, user, round_id, SCORES[user])
    return rt, x, y


async def test_two_teams_one_person_apart_do_not_give_that_person_away(db: Database) -> None:
    rt, x, y = await two_teams_one_apart(db)
    week.move(rt, week.AFTER)
    shown = await week.figures(rt, x, y)
    assert x.id is not None and y.id is not None
    index_x = {d.dimension: d.index for d in shown[x.id].dimensions}
    index_y = {d.dimension: d.index for d in shown[y.id].dimensions}
    recovered = {}
    for dimension, real in SCORES[TARGET].items():
        ix, iy = index_x.get(dimension), index_y.get(dimension)
        if ix is None or iy is None:
            continue  # withheld: nothing to subtract
        guess = 4 * iy - 3 * ix
        if abs(guess - real) < 0.05:
            recovered[dimension] = round(guess, 2)
    assert not recovered, f"{TARGET}'s answers recovered from two digests: {recovered}"


async def test_two_views_of_one_digest_cannot_be_subtracted(db: Database) -> None:
    """The same team and week shown twice (a preview, then the post after a late answer and
    a forget-me) shows the same figures: nothing to subtract."""
    rt = await week.workspace(db)
    y = await week.team(rt, "y", [*MEMBERS, TARGET], k=3)
    sent = await week.send_checkins(rt, y)
    for user in MEMBERS:
        await week.answer_checkin(rt, user, sent[(y.id, user)], SCORES[user])
    week.move(rt, week.NEXT_MONDAY)  # the week is over, its check-in still open
    first = (await week.figures(rt, y))[y.id]
    late = await week.answer_checkin(rt, TARGET, sent[(y.id, TARGET)], SCORES[TARGET])
    assert late > 0  # the check-in was still open: the late answer was taken
    again = (await week.figures(rt, y))[y.id]
    await privacy.forget(rt, week.WS, MEMBERS[0])
    after_forget = (await week.figures(rt, y))[y.id]
    assert first == again == after_forget


REGION_B = [f"U0RGB{i:04d}" for i in range(5)]
REGION_C = [f"U0RGC{i:04d}" for i in range(5)]


async def test_a_region_minus_its_sub_teams_does_not_give_the_rest_away(db: Database) -> None:
    """A region's team is its two sub-teams plus one person (k = 5): every pair of digests
    differs by 5 people or more, yet 11 * index_A - 5 * index_B - 5 * index_C would be the
    target's answer on every dimension."""
    rt = await week.workspace(db)
    b = await week.team(rt, "b", REGION_B, k=5)
    c = await week.team(rt, "c", REGION_C, k=5)
    region = await week.team(rt, "region", [*REGION_B, *REGION_C, TARGET], k=5)
    sent = await week.send_checkins(rt, b, c, region)
    scores = {user: SCORES[MEMBERS[i % len(MEMBERS)]] for i, user in enumerate(REGION_B + REGION_C)}
    scores[TARGET] = SCORES[TARGET]
    for (_, user), round_id in sorted(sent.items()):
        await week.answer_checkin(rt, user, round_id, scores[user])
    week.move(rt, week.AFTER)
    shown = await week.figures(rt, b, c, region)
    assert b.id is not None and c.id is not None and region.id is not None
    index = {
        team: {d.dimension: d.index for d in shown[team].dimensions}
        for team in (b.id, c.id, region.id)
    }
    assert index[b.id] and index[c.id]  # the sub-teams still show their figures
    recovered = {}
    for dimension, real in SCORES[TARGET].items():
        parts = [index[team].get(dimension) for team in (region.id, b.id, c.id)]
        if None in parts:
            continue  # withheld: nothing to subtract
        ia, ib, ic = parts
        guess = 11 * ia - 5 * ib - 5 * ic
        if abs(guess - real) < 0.3:  # indexes are shown to one decimal
            recovered[dimension] = round(guess, 2)
    assert not recovered, f"{TARGET}'s answers recovered from three digests: {recovered}"
