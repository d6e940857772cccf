"""Seed 000's verdict: decisive (a next step for every No and every "not sure yet"), kept per
deal under a keyed reference, and compared with what became of the deal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import inspect
from sqlmodel import SQLModel, select

from bot.core import deals, nudges, teams, verdicts
from bot.core.prompts import DealChange, MomentKey, default_bank
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.pseudonyms import Purpose, pseudonym
from bot.storage import Database
from bot.storage.models import DealVerdict, Delivery, Response
from tests.support.deals import KEY, LONDON, WS, accept, deals_runtime, no_lookup, update

T = TypeVar("T", bound=SQLModel)
BANK = default_bank()
RULE = BANK.investment_rule
LIKE, VALUE, WORTH = RULE.prompts


def answers(like: str, value: str, worth: str) -> dict[str, str]:
    return {LIKE: like, VALUE: value, WORTH: worth}


# --------------------------------------------------------------------------- decide


def test_no_verdict_until_all_three_are_answered() -> None:
    assert verdicts.decide(RULE, {LIKE: "yes", VALUE: "yes"}) is None
    assert verdicts.decide(RULE, answers("yes", "yes", "maybe")) is None
    assert verdicts.decide(None, answers("yes", "yes", "yes")) is None


@pytest.mark.parametrize(
    ("given", "name", "named"),
    [
        (("yes", "yes", "yes"), "go", []),
        (("no", "no", "no"), "stop", ["Liking them", "Value or price", "Worth the time"]),
        (("yes", "no", "yes"), "think", ["Value or price"]),
        (("no", "yes", "no"), "think", ["Liking them", "Worth the time"]),
        (("yes", "not_sure", "yes"), "find_out", ["Value or price"]),
        (("no", "yes", "not_sure"), "find_out", ["Liking them", "Worth the time"]),
    ],
)
def test_every_no_and_not_sure_gets_its_own_next_step(
    given: tuple[str, str, str], name: str, named: list[str]
) -> None:
    decided = verdicts.decide(RULE, answers(*given))
    assert decided is not None and decided.name == name
    assert decided.said == RULE.outcome(name)
    assert [f.name for f in decided.follow_ups] == named
    for follow in decided.follow_ups:
        said = BANK.prompt(follow.prompt_id).feedback_for(follow.answer)
        assert said is not None and follow.next == said.next


def test_a_price_focused_client_gets_the_seeds_question() -> None:
    decided = verdicts.decide(RULE, answers("yes", "no", "yes"))
    assert decided is not None
    (price,) = decided.follow_ups
    assert price.name == "Value or price"
    assert "Ask once what a wrong choice would cost them" in price.next


def test_stop_is_a_good_decision_with_a_next_step() -> None:
    stop = RULE.outcome("stop")
    assert "good decision" in stop.message and stop.next


# --------------------------------------------------------------------------- keep


@pytest.fixture
async def runtime(db: Database, clock: ManualClock) -> Runtime:
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))  # Monday, in London's working hours
    return await deals_runtime(db, clock)


async def new_deal_nudge(rt: Runtime, event: str = "e1", deal_id: str = "D-42") -> int:
    created = update(event, change=DealChange.CREATED, to_value="Discovery", deal_id=deal_id)
    [event_id] = await accept(rt, created)
    assert await deals.process_event(rt, event_id, no_lookup) in (deals.NUDGED, deals.DEFERRED)
    async with rt.db.session() as s:
        delivery = (await s.exec(select(Delivery).where(Delivery.deal_event_id == event_id))).one()
    assert delivery.id is not None
    return delivery.id


async def answer(rt: Runtime, delivery_id: int, given: dict[str, str]) -> None:
    for prompt_id, value in given.items():
        await nudges.record_nudge_answer(rt, WS, LONDON, delivery_id, prompt_id, value)


async def test_the_verdict_is_kept_per_deal_and_follows_changed_answers(runtime: Runtime) -> None:
    delivery_id = await new_deal_nudge(runtime)
    await answer(runtime, delivery_id, {LIKE: "no", VALUE: "no"})
    assert await all_of(runtime, DealVerdict) == []  # not all three yet
    await answer(runtime, delivery_id, {WORTH: "no"})
    [kept] = await all_of(runtime, DealVerdict)
    assert kept.verdict == "stop"
    assert kept.deal_ref == pseudonym(KEY, WS, "D-42", Purpose.DEAL)
    await answer(runtime, delivery_id, {LIKE: "yes", VALUE: "yes", WORTH: "yes"})
    assert [v.verdict for v in await all_of(runtime, DealVerdict)] == ["go"]
    # the answers themselves: decisions, never scored
    assert {r.score for r in await all_of(runtime, Response)} == {None}


async def all_of(rt: Runtime, model: type[T]) -> list[T]:
    async with rt.db.session() as s:
        return list((await s.exec(select(model))).all())


def test_the_verdict_table_names_no_rep_and_no_time() -> None:
    columns = set(inspect(DealVerdict).columns.keys())  # type: ignore[union-attr]
    assert columns == {"id", "workspace_id", "deal_ref", "verdict", "team_id"}  # no rep, no time


# --------------------------------------------------------------------------- outcomes


async def test_verdicts_are_compared_with_what_became_of_the_deals(runtime: Runtime) -> None:
    plan = {
        "D-1": (("no", "no", "no"), ("lost", None, "Closed - Not a fit")),
        "D-2": (("yes", "yes", "yes"), ("won", None, "Closed Won")),
        "D-3": (("yes", "no", "yes"), ("lost", None, "Closed Lost")),
        "D-4": (("yes", "yes", "yes"), None),
        "D-5": (
            ("yes", "not_sure", "yes"),
            ("stage_changed", "Proposal", "Closed Lost - No Decision"),
        ),
    }
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    for n, (deal_id, (given, closing)) in enumerate(plan.items()):
        delivery_id = await new_deal_nudge(runtime, f"new-{n}", deal_id)
        await answer(runtime, delivery_id, answers(*given))
        if closing is not None:
            change, before, after = closing
            closed = update(
                f"close-{n}",
                change=DealChange(change),
                deal_id=deal_id,
                from_value=before,
                to_value=after,
                occurred_at=clock.now() + timedelta(days=30),
            )
            await accept(runtime, closed)
    counts = await verdicts.outcomes(runtime, WS)
    assert set(counts) == {"go", "stop", "think", "find_out"}
    assert counts["stop"]["disqualified"] == 1
    assert counts["go"] == {"won": 1, "lost": 0, "no_decision": 0, "disqualified": 0, "open": 1}
    assert counts["think"]["lost"] == 1
    assert counts["find_out"]["no_decision"] == 1
    # a team's reps only; another workspace sees none of it
    team = await teams.summaries(runtime.db, WS)
    team_id = team[0].team.id
    assert await verdicts.outcomes(runtime, WS, team_id) == counts
    empty = await verdicts.outcomes(runtime, "TOTHER")
    assert all(n == 0 for by in empty.values() for n in by.values())


def test_a_reopened_deal_is_open_again() -> None:
    closed = [("stage_changed", "Proposal", "Closed Lost")]
    assert verdicts.outcome_of(closed) == "lost"
    assert verdicts.outcome_of([*closed, ("stage_changed", "Closed Lost", "Proposal")]) == "open"
    assert verdicts.outcome_of([]) == "open"
    assert verdicts.outcome_of([("won", None, None)]) == "won"


def test_moment_keys_of_the_rule() -> None:
    assert BANK.moment(MomentKey.FIRST_CONTACT).rule == RULE
