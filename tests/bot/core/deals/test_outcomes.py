"""A team's win and slip rates by seed 000's verdict and by trust evidence, shown as k allows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from bot.core.deals import outcomes
from bot.core.deals.nudge_content import answer_context
from bot.core.prompts import DealChange
from bot.core.trust.commands import Caller, Reply
from bot.core.trust.registry import execute, parse
from bot.core.verdicts import deal_ref
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.storage.models import DealVerdict, Response, Team
from tests.support.deals import WS, accept, update

MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # the runtime's clock is Monday 09:00
EVIDENCE = (
    "evidence.key_players",
    "evidence.criteria",
    "evidence.budget",
    "evidence.decision_process",
)


async def a_deal(
    rt: Runtime,
    deal_id: str,
    verdict: str,
    outcome: DealChange | None = None,
    *,
    told: int | None = None,
    pushed: bool = False,
    at: datetime = MONDAY,
) -> None:
    """A deal of team ``sales``: created, seed 000's verdict, evidence told, then its end."""
    created = update(
        f"{deal_id}-c",
        deal_id=deal_id,
        change=DealChange.CREATED,
        to_value="Discovery",
        from_value=None,
        occurred_at=at - timedelta(hours=3),
    )
    [first] = await accept(rt, created)
    if pushed:
        await accept(
            rt, update(f"{deal_id}-p", deal_id=deal_id, occurred_at=at - timedelta(hours=2))
        )
    if outcome is not None:
        end = update(
            f"{deal_id}-e",
            deal_id=deal_id,
            change=outcome,
            from_value="Negotiation",
            to_value=None,
            occurred_at=at - timedelta(hours=1),
        )
        await accept(rt, end)
    async with rt.db.session() as s:
        team = (await s.exec(select(Team))).one()
        s.add(
            DealVerdict(
                workspace_id=WS,
                deal_ref=deal_ref(rt.pseudonyms, WS, deal_id),
                verdict=verdict,
                team_id=team.id,
            )
        )
        for n, prompt_id in enumerate(EVIDENCE[: 0 if told is None else max(told, 1)]):
            s.add(
                Response(
                    workspace_id=WS,
                    period_start=date(2026, 11, 23),
                    context=answer_context(rt.pseudonyms, WS, first),
                    moment="evaluation",
                    pseudonym=f"p-{deal_id}",
                    prompt_id=prompt_id,
                    dimension="care",
                    value="told_me" if told and n < told else "not_yet",
                )
            )


async def team(rt: Runtime, k: int) -> Team:
    async with rt.db.session() as s:
        found = (await s.exec(select(Team))).one()
        found.k = k
        s.add(found)
    async with rt.db.session() as s:
        return (await s.exec(select(Team))).one()


async def test_rates_by_verdict_and_evidence_show_only_the_groups_k_allows(
    runtime: Runtime,
) -> None:
    await a_deal(runtime, "G1", "go", DealChange.WON, told=3)
    await a_deal(runtime, "G2", "go", DealChange.WON, told=4)
    await a_deal(runtime, "G3", "go", DealChange.LOST, told=3)
    await a_deal(runtime, "G4", "go", pushed=True)
    for n in range(3):
        await a_deal(runtime, f"S{n}", "stop", DealChange.LOST, told=0, pushed=n == 0)
    await a_deal(runtime, "T1", "think", DealChange.WON, told=1)
    found = await outcomes.team_outcomes(runtime, await team(runtime, 3))
    assert (found.period, found.deals, found.k) == (outcomes.WEEK, 8, 3)
    # `think` (1 deal) is withheld; so is `stop` (3), or 8 minus `go` would give `think` away
    assert found.by_verdict == (outcomes.Rates("go", deals=4, closed=3, won=2, slipped=1),)
    [go] = found.by_verdict
    assert go.win_rate == 2 / 3 and go.slip_rate == 0.25
    # evidence: strong 3, none 3, some 1, not asked 1 -> the two small ones need a third
    assert found.by_evidence == (outcomes.Rates("strong", deals=3, closed=3, won=2, slipped=0),)
    line = outcomes.summary(found)
    assert line == (
        "Outcomes, this week (8 deals): go: won 67% of 3 closed, slipped 25%; "
        "strong trust evidence: won 67%, slipped 0%."
    )


async def test_a_thin_week_falls_back_to_the_quarter(runtime: Runtime) -> None:
    month_ago = MONDAY - timedelta(days=30)
    for n in range(3):
        await a_deal(runtime, f"G{n}", "go", DealChange.WON, at=month_ago)
    for n in range(3):
        await a_deal(runtime, f"S{n}", "stop", DealChange.LOST, at=month_ago)
    await a_deal(runtime, "late", "go", DealChange.WON)  # the only one this week
    found = await outcomes.team_outcomes(runtime, await team(runtime, 3))
    assert found.period == outcomes.QUARTER and found.deals == 7
    assert [(r.group, r.deals, r.won) for r in found.by_verdict] == [("go", 4, 4), ("stop", 3, 0)]
    assert "the last quarter (7 deals)" in outcomes.summary(found)


async def test_too_few_deals_show_nothing_and_say_why(runtime: Runtime) -> None:
    for n in range(4):
        await a_deal(runtime, f"G{n}", "go", DealChange.WON, told=3)
    found = await outcomes.team_outcomes(runtime, await team(runtime, 5))
    assert not found.shown and found.by_verdict == found.by_evidence == ()
    assert outcomes.summary(found) == (
        "Outcomes: not enough deals yet (4 with a seed 000 verdict moved in "
        "the last quarter; each group needs 5)."
    )


async def test_deals_without_a_verdict_or_of_another_team_are_not_counted(
    runtime: Runtime,
) -> None:
    for n in range(3):
        await a_deal(runtime, f"G{n}", "go", DealChange.WON)
    await accept(runtime, update("x", deal_id="no-verdict", change=DealChange.WON))
    async with runtime.db.session() as s:
        s.add(DealVerdict(workspace_id=WS, deal_ref="other-team", verdict="go", team_id=None))
    found = await outcomes.team_outcomes(runtime, await team(runtime, 3))
    assert found.deals == 3 and [r.deals for r in found.by_verdict] == [3]
    assert isinstance(runtime.clock, ManualClock)


async def test_trust_status_shows_each_teams_outcome_line(runtime: Runtime) -> None:
    caller = Caller(WS, "UADMIN", is_admin=True)
    before = await execute(runtime, caller, parse("status"))
    assert isinstance(before, Reply) and "Does trust pay?" not in before.text
    for n in range(3):
        await a_deal(runtime, f"G{n}", "go", DealChange.WON)
    await team(runtime, 3)
    after = await execute(runtime, caller, parse("status"))
    assert isinstance(after, Reply)
    assert "*Does trust pay?*" in after.text
    assert "Outcomes, this week (3 deals): go: won 100% of 3 closed, slipped 0%" in after.text


async def test_a_stage_the_admin_mapped_closes_the_deal_in_the_outcomes(runtime: Runtime) -> None:
    for n in range(3):
        await a_deal(runtime, f"G{n}", "go")
        gone = update(
            f"G{n}-x",
            deal_id=f"G{n}",
            change=DealChange.STAGE_CHANGED,
            from_value="Negotiation",
            to_value="Gone Dark",
            occurred_at=MONDAY,
        )
        await accept(runtime, gone)
    before = await outcomes.team_outcomes(runtime, await team(runtime, 3))
    assert [(r.deals, r.closed) for r in before.by_verdict] == [(3, 0)]  # "Gone Dark": open
    caller = Caller(WS, "UADMIN", is_admin=True)
    await execute(runtime, caller, parse("stages map all Gone Dark no_decision"))
    after = await outcomes.team_outcomes(runtime, await team(runtime, 3))
    assert [(r.deals, r.closed, r.won) for r in after.by_verdict] == [(3, 3, 0)]
