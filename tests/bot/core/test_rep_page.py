"""The rep's own page: behaviour trends with a baseline, trust evidence per deal, the blind
spot and a practice for next week, read only from the requesting rep's own answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from bot.core.prompts import default_bank
from bot.core.rep_page import EVIDENCE, DealEvidence, KnownDeals, rep_page
from bot.runtime import Runtime
from bot.storage import Database
from bot.storage.models import DealEvent
from tests.support.deals import nudged_event
from tests.support.teams import (
    CARE,
    INTEGRITY,
    W1,
    W2,
    W3,
    WS,
    checkin_week,
    make_runtime,
    make_team,
    response_row,
)

KEY_PLAYERS, CRITERIA, BUDGET = "evidence.key_players", "evidence.criteria", "evidence.budget"
RISK = "reliability.unsure_promise"  # a situation: "yes, there's a promise I'm unsure of"
LIKE_THEM = "value_focus.like_them"  # a decision (seed 000)


async def deal_nudge(
    rt: Runtime, user: str, deal: str, period: date, moment: str, answers: dict[str, str]
) -> None:
    """A deal update received in the week of ``period`` and ``user``'s answers to its nudge,
    stored as the app stores them: under the week's pseudonym and the nudge's keyed context."""
    at = datetime.combine(period, datetime.min.time(), UTC) + timedelta(days=1, hours=10)
    async with rt.db.session() as s:
        event_id = f"{deal}-{period}-{moment}"
        context = await nudged_event(s, rt.pseudonyms, WS, deal, at, event_id)
        for prompt_id, value in answers.items():
            s.add(response_row(period, context, user, prompt_id, value, moment=moment))


async def two_reps(db: Database) -> tuple[Runtime, str, str]:
    rt = make_runtime(db)
    team, (ana, ben) = await make_team(rt, "east", 2)
    for period, (care, integrity) in zip(
        (W1, W2, W3), (("2", "2"), ("3", "3"), ("5", "4")), strict=True
    ):
        await checkin_week(
            rt,
            team,
            period,
            {
                ana: {CARE: care, INTEGRITY: integrity, "goal.trust_or_else": "quota"},
                ben: {CARE: "4", INTEGRITY: "5"},
            },
        )
    # Ana's evidence on one deal over two nudges, and candor that must never be scored
    await deal_nudge(rt, ana, "Globex renewal", W2, "evaluation", {KEY_PLAYERS: "not_yet"})
    await deal_nudge(
        rt,
        ana,
        "Globex renewal",
        W3,
        "proposal",
        {KEY_PLAYERS: "told_me", CRITERIA: "not_yet", BUDGET: "guessing", RISK: "yes"},
    )
    await deal_nudge(rt, ana, "Umbrella pilot", W3, "created", {LIKE_THEM: "no"})
    # Ben's evidence: his own deal, which Ana's page must never show
    await deal_nudge(rt, ben, "Initech secret", W3, "evaluation", {KEY_PLAYERS: "told_me"})
    return rt, ana, ben


async def test_trends_are_behaviour_only_against_the_reps_own_baseline(db: Database) -> None:
    rt, ana, _ = await two_reps(db)
    page = await rep_page(rt, WS, ana)
    # the goal reflection, the risk admitted and the decision carry a score in the stored
    # rows (the factory scores every answer): none of them reaches the trend
    assert [t.dimension for t in page.trends] == ["integrity", "care"]
    care = page.trends[1]
    assert care.points == [(W1, 2.0), (W2, 3.0), (W3, 5.0)]
    assert care.baseline == 2.5 and care.direction == "up"  # her own W1-W2 mean
    assert page.trends[0].baseline == 2.5 and page.trends[0].latest == 4.0


async def test_a_first_week_has_no_baseline_yet(db: Database) -> None:
    rt = make_runtime(db)
    team, (ana,) = await make_team(rt, "east", 1)
    await checkin_week(rt, team, W3, {ana: {CARE: "3"}})
    (care,) = (await rep_page(rt, WS, ana)).trends
    assert care.baseline is None and care.direction == "new"


async def test_evidence_per_deal_keeps_the_latest_answer_to_each_question(db: Database) -> None:
    rt, ana, _ = await two_reps(db)
    page = await rep_page(rt, WS, ana)
    assert page.evidence == [
        DealEvidence(
            "Globex renewal",
            [(KEY_PLAYERS, "told_me"), (CRITERIA, "not_yet"), (BUDGET, "guessing")],
        )
    ]


async def test_the_blind_spot_compares_self_rating_with_evidence(db: Database) -> None:
    rt, ana, ben = await two_reps(db)
    spot = (await rep_page(rt, WS, ana)).blind_spot
    assert spot is not None
    # care and integrity: 2, 2, 3, 3, 5, 4; the buyer told her 1 of the 4 things logged
    assert (spot.self_rating, spot.self_answers) == (3.17, 6)
    assert (spot.told, spot.asked, spot.reading) == (1, 4, "modest")
    ben_spot = (await rep_page(rt, WS, ben)).blind_spot
    assert ben_spot is not None and ben_spot.reading == "matched"  # 4.5 of 5, 1 of 1 told


async def test_no_blind_spot_without_logged_evidence(db: Database) -> None:
    rt = make_runtime(db)
    team, (ana,) = await make_team(rt, "east", 1)
    await checkin_week(rt, team, W3, {ana: {CARE: "5", INTEGRITY: "5"}})
    page = await rep_page(rt, WS, ana)
    assert page.blind_spot is None and page.evidence == []


async def test_the_practice_is_tied_to_the_thinnest_evidence_or_the_weakest_behaviour(
    db: Database,
) -> None:
    rt, ana, ben = await two_reps(db)
    bank = default_bank()
    # Ana: 1 of 4 told; "who else decides" was missing once, criteria once, budget once:
    # the first of those in seed 004's order, with the next step of her usual answer
    practice = (await rep_page(rt, WS, ana)).practice
    said = bank.prompt(KEY_PLAYERS).feedback_for("not_yet")
    assert said is not None and practice.text == said.next
    assert practice.reason.endswith(EVIDENCE[KEY_PLAYERS]) and "004" in practice.seed
    # Ben: the buyer told him everything he logged; his lowest behaviour is care (4)
    practice = (await rep_page(rt, WS, ben)).practice
    assert practice.reason.endswith("care")
    assert practice.text in {t.text for t in bank.tips_for("care", "rep")}


async def test_attack_a_page_shows_only_the_requesting_reps_own_answers(db: Database) -> None:
    """Every page is built from the caller's own weekly pseudonyms: Ben's deal, scores and
    evidence never appear on Ana's page, and a user with no answers sees nothing at all."""
    rt, ana, ben = await two_reps(db)
    mine, his = await rep_page(rt, WS, ana), await rep_page(rt, WS, ben)
    assert "Initech secret" not in str(mine) and "Globex renewal" not in str(his)
    assert [d.deal for d in his.evidence] == ["Initech secret"]
    assert {p for t in his.trends for _, p in t.points} == {4.0, 5.0}
    nobody = await rep_page(rt, WS, "UNOBODY")
    assert (nobody.trends, nobody.evidence, nobody.blind_spot) == ([], [], None)
    # the same user ID in another workspace has other pseudonyms: nothing of Ana's
    elsewhere = await rep_page(rt, "T2", ana)
    assert (elsewhere.trends, elsewhere.evidence) == ([], [])


async def test_a_deal_once_found_is_not_searched_again(db: Database) -> None:
    """The deal behind a nudge's keyed context never changes, so the process remembers it
    (in memory, a bounded number of them) and the next page reads no deal update again."""
    rt, ana, _ = await two_reps(db)
    first = await rep_page(rt, WS, ana)
    async with db.session() as s:  # the updates are gone: only the memory can name the deal
        for event in (await s.exec(select(DealEvent))).all():
            await s.delete(event)
    assert (await rep_page(rt, WS, ana)).evidence == first.evidence
    known = KnownDeals(limit=2)
    for n in range(3):
        known.put(f"nudge:{n}", (f"D-{n}", f"deal {n}", datetime(2026, 11, 2, tzinfo=UTC)))
    assert known.get("nudge:0") is None and known.get("nudge:2") is not None
