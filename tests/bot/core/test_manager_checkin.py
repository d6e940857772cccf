"""The manager takes part (issue #18): a check-in of their own planned with the team's, their
estimates and self-check stored as theirs, never as the team's answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.core import answers, checkins, digests, manager_checkin
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.storage import Database
from bot.storage.models import Delivery, DeliveryKind, ManagerEstimate, Team
from tests.support.teams import BAD_NEWS, W3, make_runtime, make_team, response_row, who

BANK = default_bank()


@pytest.fixture
def rt(db: Database) -> Runtime:
    return make_runtime(db)


async def planned(rt: Runtime, team: Team) -> tuple[int, list[Delivery]]:
    plan = await checkins.plan_round(rt, BANK, team, W3 + timedelta(weeks=1), now=True)
    assert plan.round.id is not None
    async with rt.db.session() as s:
        rows = (await s.exec(select(Delivery).where(Delivery.round_id == plan.round.id))).all()
    return plan.round.id, list(rows)


async def sent(rt: Runtime, delivery: Delivery) -> Delivery:
    async with rt.db.session() as s:
        row = await s.get(Delivery, delivery.id)
        assert row is not None
        row.status = "sent"
        s.add(row)
    return row


async def test_the_manager_gets_a_check_in_of_their_own_with_the_team_s(rt: Runtime) -> None:
    team, reps = await make_team(rt, "east", 5, managers=("UMGR0001",))
    _, rows = await planned(rt, team)
    kinds = {(row.user_id, row.kind) for row in rows}
    assert kinds == {(u, DeliveryKind.CHECKIN) for u in reps} | {("UMGR0001", DeliveryKind.MANAGER)}
    manager = next(row for row in rows if row.kind == DeliveryKind.MANAGER)
    rep = next(row for row in rows if row.kind == DeliveryKind.CHECKIN)
    assert (manager.planned_at, manager.expires_at) == (rep.planned_at, rep.expires_at)


async def test_answers_are_the_manager_s_own_and_can_be_changed(rt: Runtime) -> None:
    team, _ = await make_team(rt, "west", 5, managers=("UMGR0001",))
    _, rows = await planned(rt, team)
    mine = await sent(rt, next(r for r in rows if r.kind == DeliveryKind.MANAGER))
    assert mine.id is not None
    record = manager_checkin.record_manager_answer
    for value in ("yes", "no"):  # a second click changes the answer
        await record(rt, "T1", "UMGR0001", mine.id, "self.neutral_first", value, BANK)
    state = await manager_checkin.manager_state(rt, "T1", "UMGR0001", mine.id)
    assert state.chosen == {"self.neutral_first": "no"} and state.open
    async with rt.db.session() as s:
        stored = (await s.exec(select(ManagerEstimate))).all()
    assert [(e.prompt_id, e.value) for e in stored] == [("self.neutral_first", 0)]
    period = W3 + timedelta(weeks=1)
    assert stored[0].pseudonym == who("UMGR0001", period)  # keyed, like a rep's answers

    # someone else's click, a forged item or value, an estimate of a question not asked
    with pytest.raises(answers.AnswerError, match="not yours"):
        await record(rt, "T1", "UWEST00", mine.id, "self.neutral_first", "yes", BANK)
    for item, value in (("self.invented", "yes"), ("self.neutral_first", "maybe"), (BAD_NEWS, "9")):
        with pytest.raises(answers.AnswerError, match="could not be read"):
            await record(rt, "T1", "UMGR0001", mine.id, item, value, BANK)
    if BAD_NEWS not in state.asked:
        with pytest.raises(answers.AnswerError, match="not asked that question"):
            await record(rt, "T1", "UMGR0001", mine.id, BAD_NEWS, "4", BANK)
    async with rt.db.session() as s:
        assert len((await s.exec(select(ManagerEstimate))).all()) == 1

    assert mine.expires_at is not None  # closed: no more answers
    rt.clock.set(mine.expires_at)  # type: ignore[attr-defined]
    with pytest.raises(answers.CheckinClosed):
        await record(rt, "T1", "UMGR0001", mine.id, "self.neutral_first", "yes", BANK)


async def test_a_manager_is_never_counted_as_a_respondent(rt: Runtime) -> None:
    """Even a manager who is sent and answers the reps' questions (a forged click, a row
    written by hand under their pseudonym) adds nothing to the team's figures."""
    team, reps = await make_team(rt, "mixed", 5, managers=("UMGR0001",))
    round_id, _ = await planned(rt, team)
    period = W3 + timedelta(weeks=1)
    async with rt.db.session() as s:
        for user in [*reps, "UMGR0001"]:
            s.add(response_row(period, f"checkin:{round_id}", user, BAD_NEWS, "5"))
    rt.clock.set(rt.clock.now() + timedelta(weeks=2))  # type: ignore[attr-defined]
    figures = (await digests.digest_for(rt, team, period, publish=False)).figures
    assert figures.participation.answered == 5  # the five reps, not the manager
    assert figures.participation.asked == 5  # the reps' check-ins, not the manager's own


def test_the_self_check_file_is_checked(tmp_path: Path) -> None:
    good = manager_checkin.self_checks()
    assert {c.id for c in good} >= {"self.neutral_first", "self.coach_not_control"}
    assert all("003" in c.seed for c in good)  # seed 003's leadership behaviours
    broken = tmp_path / "manager.yaml"
    broken.write_text(
        "self_check:\n  - id: self.x\n    seed: ['003']\n    text: t\n"
        "    answers:\n      yes: {text: a, next: b}\n"
    )
    with pytest.raises(ValueError, match="needs answers yes, partly and no"):
        manager_checkin.load_self_checks(broken)
    broken.write_text("self_check: []\n")
    with pytest.raises(ValueError, match=r"manager\.yaml"):
        manager_checkin.load_self_checks(broken)
