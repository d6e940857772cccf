"""One week of a small workspace, step by step, through the product's domain functions: teams,
the week's check-in sent and answered, deal nudges sent and answered, the digest frozen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from bot.core import answers, checkins, deals, digests, nudges, people, recipients, teams
from bot.core.deals import DealUpdate
from bot.core.prompts import DealChange, default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.storage import Database
from bot.storage.models import Team
from tests.attacks._simulation import send_due, settings_runtime

WS = "T0SMALL001"
ADMIN = "U0ADMIN00"
WEEK_OF = date(2026, 11, 2)  # a Monday
MONDAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SLOT = datetime(2026, 11, 6, 16, 0, tzinfo=UTC)  # Friday 16:00 in London (GMT in November)
NEXT_MONDAY = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # the week is over, check-ins open
AFTER = datetime(2026, 11, 12, 12, 0, tzinfo=UTC)  # the week's check-ins have closed
LONDON = "Europe/London"


async def workspace(db: Database) -> Runtime:
    clock = ManualClock(MONDAY)
    rt = settings_runtime(db, clock)
    await ensure_workspace(db, WS, clock, "Small")
    return rt


async def team(rt: Runtime, name: str, reps: Sequence[str], k: int) -> Team:
    """A team made as an admin makes it: its reps (in London), its ``k`` and ``notes_k``."""
    await teams.create(rt.db, WS, ADMIN, name, f"C0{name.upper():0<7}", rt.clock)
    await teams.add_people(rt.db, WS, ADMIN, name, list(reps), teams.REP, rt.clock)
    await people.set_timezones(rt.db, WS, dict.fromkeys(reps, LONDON), rt.clock)
    return await teams.update(rt.db, WS, ADMIN, name, rt.clock, k=k, notes_k=k)


def move(rt: Runtime, to: datetime) -> None:
    assert isinstance(rt.clock, ManualClock)
    rt.clock.set(to)


async def send_checkins(rt: Runtime, *week_teams: Team) -> dict[tuple[int, str], int]:
    """Plan the week's round of each team, send the DMs at the slot: ``{(team id, user):
    round id}`` of each check-in sent."""
    bank = default_bank()
    rounds = {}
    for t in week_teams:
        plan = await checkins.plan_round(rt, bank, t, WEEK_OF)
        assert plan.round.id is not None and t.id is not None
        rounds[plan.round.id] = t.id
    move(rt, SLOT)
    sent = {}
    for row, decision in await send_due(rt):
        if isinstance(decision, recipients.Go) and row.round_id in rounds:
            sent[(rounds[row.round_id], row.user_id)] = row.round_id
    return sent


async def answer_checkin(
    rt: Runtime, user: str, round_id: int, scores: Mapping[str, int], note: str | None = None
) -> int:
    """``user`` answers the round: each scale question with the score of its dimension in
    ``scores``, the goal with "trust and value" (unless ``scores`` is empty), and ``note`` as a
    shared note.
    Returns how many answers the product took (it may refuse some: that is its right)."""
    bank = default_bank()
    state = await answers.checkin_state(rt, WS, user, round_id)
    taken = 0
    for prompt_id in state.round.prompt_ids:
        prompt = bank.prompt(prompt_id)
        move(rt, rt.clock.now() + timedelta(seconds=7))  # a click every few seconds
        try:
            if prompt.kind == "text":
                if note is not None:
                    await answers.record_note(rt, WS, user, round_id, note, True)
                    taken += 1
            elif prompt.kind == "scale":
                if prompt.dimension.value not in scores:
                    continue
                value = str(scores[prompt.dimension.value])
                await answers.record_answer(rt, WS, user, round_id, prompt_id, value)
                taken += 1
            elif scores:
                value = prompt.answer.choices()[0].value
                await answers.record_answer(rt, WS, user, round_id, prompt_id, value)
                taken += 1
        except answers.AnswerError:
            continue
    return taken


async def nudge_and_answer(rt: Runtime, users: Sequence[str]) -> set[str]:
    """A deal update for each of ``users`` (now, in their working hours), the nudges sent,
    and every question of each answered "yes" (or its first choice). Returns who answered."""
    updates = [
        DealUpdate(
            event_id=f"small-{user}",
            deal_id=f"006SMALL{user}",
            deal_name=f"Deal of {user}",
            change=DealChange.CLOSE_DATE_CHANGED,
            occurred_at=rt.clock.now() - timedelta(minutes=5),
            from_value="2026-12-01",
            to_value="2027-01-15",
            rep_user_id=user,
        )
        for user in users
    ]
    receipts = await deals.store(rt, WS, deals.WEBHOOK, updates)
    await deals.process_events(rt, [r.id for r in receipts], _no_lookup)
    answered = set()
    bank = default_bank()
    for row, decision in await send_due(rt):
        if not isinstance(decision, recipients.Go) or row.kind != "nudge":
            continue
        assert row.id is not None
        state = await nudges.nudge_state(rt, WS, row.user_id, row.id)
        for prompt_id in state.content.prompt_ids:
            value = bank.prompt(prompt_id).answer.choices()[0].value
            await nudges.record_nudge_answer(rt, WS, row.user_id, row.id, prompt_id, value)
        answered.add(row.user_id)
    return answered


async def _no_lookup(workspace_id: str, email: str) -> str | None:
    return None


async def figures(rt: Runtime, *week_teams: Team) -> dict[int, digests.Figures]:
    """The week's frozen digest figures of each team, as a preview or a post would get them."""
    found = await digests.prepare(rt, [(t, WEEK_OF) for t in week_teams])
    return {team_id: digest.figures for (team_id, _), digest in found.items()}
