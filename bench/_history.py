"""A year of Trustbot's use, seeded through the product's own functions (for :mod:`bench.digest`
and :mod:`bench.memory`).

Whatever the product decides about what is stored, the seed asks the product: teams and
their people are made by :mod:`bot.core.teams` (and time zones by :mod:`bot.core.people`);
each week's check-in round and its DMs are planned by :func:`bot.core.checkins.plan_round`
(the week's rotating questions, the reps and managers of that week), closed as the product
closes them (:func:`bot.core.outbox.forget_recipients`); every answer and note row is built by
:func:`bot.core.answers.response_row` / :func:`~bot.core.answers.note_row` under
:func:`~bot.core.answers.pseudonym_of` the week, a nudge's answers under
:func:`bot.core.deals.answer_context`. Only the writing of the million answer rows is done in
bulk (``executemany`` of those rows, a week at a time) instead of one click at a time: the
one table the product has no bulk writer for, and the managers' estimates, which it has no
writer for yet. So a schema change that the product follows is followed here too, and one
it does not follow fails loudly (``tests/bench`` seeds a tiny history and checks that the
product's digest reads it).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import col

from bench._common import PSEUDONYM_KEY
from bot.core import answers, checkins, outbox, people, rotation, teams, workspaces
from bot.core.deals import answer_context
from bot.core.prompts import GOAL_PROMPT_ID, TRUST_AND_VALUE, PromptBank, default_bank
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.migrate import upgrade
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryStatus,
    ManagerEstimate,
    Note,
    Response,
    Team,
)

WORKSPACE = "T0BENCH"
ADMIN = "U0ADMIN"
KEY = PSEUDONYM_KEY  # the pseudonym key the answers are stored under
REPS = 10  # per team
WEEK = timedelta(days=7)
MIN_WEEKS = 8  # a digest's trend window: every benchmark reads at least that far back
SKIPPED = 0.05  # share of the week's DMs that reached nobody (opted out, snoozed)
NOTE_WRITERS = 2  # reps per team who write a note each week (the first shares it)
MOMENTS = ("close_date_changed", "won", "lost", "discount_requested")
SEED_VERSION = 2  # bump when the history changes: cached databases are made again


def rep_user(team: int, rep: int) -> str:
    """The Slack user ID of a seeded rep: ``rep`` (0..9) of the team whose row id is ``team``."""
    return f"U{team:04d}{rep:03d}"


def manager_user(team: int) -> str:
    """The Slack user ID of the seeded manager of the team whose row id is ``team``."""
    return f"UM{team:04d}"


def runtime(db: Database, clock: ManualClock | None = None) -> Runtime:
    """A runtime over ``db`` with the bench's pseudonym key (the one the answers are under)."""
    return Runtime(
        settings=load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY), db=db, clock=clock or ManualClock()
    )


@dataclass
class _Week:
    """One week of answers being made: rows for :class:`Response`, :class:`Note`,
    :class:`ManagerEstimate`."""

    responses: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    estimates: list[dict[str, Any]] = field(default_factory=list)


async def _people(
    db: Database, clock: ManualClock, count: int, tz: str | None
) -> tuple[list[Team], int]:
    """``count`` teams of :data:`REPS` reps and a manager, made as ``/trust team`` makes them."""
    await workspaces.ensure_workspace(db, WORKSPACE, clock, name="Bench")
    made: list[Team] = []
    for i in range(count):
        team = await teams.create(db, WORKSPACE, ADMIN, f"team-{i:03d}", f"C{i:07d}", clock)
        assert team.id is not None
        reps = [rep_user(team.id, r) for r in range(REPS)]
        await teams.add_people(db, WORKSPACE, ADMIN, team.name, reps, "rep", clock)
        await teams.add_people(
            db, WORKSPACE, ADMIN, team.name, [manager_user(team.id)], "manager", clock
        )
        made.append(team)
    if tz is not None:
        users = [rep_user(t.id or 0, r) for t in made for r in range(REPS)]
        users += [manager_user(t.id or 0) for t in made]
        await people.set_timezones(db, WORKSPACE, dict.fromkeys(users, tz), clock)
    return made, count * REPS


def _value(bank: PromptBank, prompt_id: str, mood: float, rng: random.Random) -> str:
    """A rep's answer: scales around the team's mood, the goal mostly trust and value."""
    prompt = bank.prompt(prompt_id)
    values = [o.value for o in prompt.answer.choices()]
    if prompt.id == GOAL_PROMPT_ID:
        return TRUST_AND_VALUE if rng.random() < 0.7 else rng.choice(values)
    if prompt.kind == "scale":
        return str(max(1, min(5, round(rng.gauss(3.6 + mood, 0.9)))))
    return rng.choice(values)


def _answers(
    rt: Runtime,
    bank: PromptBank,
    rnd: CheckinRound,
    answered: Sequence[str],
    rng: random.Random,
    nudge: list[int],
) -> _Week:
    """The answers to one round of those of its reps who got the DM: each question, the note
    of the first :data:`NOTE_WRITERS`, one deal-moment nudge each, and the manager's estimate."""
    week, made = rnd.period_start, _Week()
    context = answers.context_for(week)
    mood = rng.uniform(-1.2, 1.2)
    for i, user in enumerate(answered):
        who = answers.pseudonym_of(rt, WORKSPACE, user, week)
        for prompt_id in rnd.prompt_ids:
            prompt = bank.prompt(prompt_id)
            if prompt.kind == "text":
                if i < NOTE_WRITERS:
                    text = f"Week {week}: a thought worth sharing ({rng.random():.3f})"
                    made.notes.append(answers.note_row(WORKSPACE, who, week, context, text, i == 0))
                continue
            value = _value(bank, prompt_id, mood, rng)
            made.responses.append(
                answers.response_row(bank, WORKSPACE, who, week, context, prompt, value)
            )
        moment = MOMENTS[rng.randrange(len(MOMENTS))]
        nudge[0] += 1  # a deal event of the week (a nudge's context is keyed by its id)
        about = answer_context(rt.pseudonyms, WORKSPACE, nudge[0])
        prompt = bank.for_moment(moment)[0]
        value = _value(bank, prompt.id, 0.0, rng)
        made.responses.append(
            answers.response_row(bank, WORKSPACE, who, week, about, prompt, value, moment=moment)
        )
    for manager in rnd.managers:
        who = answers.pseudonym_of(rt, WORKSPACE, manager, week)
        for prompt in bank.for_manager_estimate()[:1]:
            made.estimates.append(
                {"workspace_id": WORKSPACE, "team_id": rnd.team_id, "period_start": week,
                 "pseudonym": who, "prompt_id": prompt.id, "value": rng.randrange(40, 95)}
            )  # fmt: skip
    return made


async def _planned(
    db: Database, bank: PromptBank, made: Sequence[Team], week: date, rng: random.Random
) -> list[tuple[CheckinRound, set[str]]]:
    """Plan every team's round of ``week`` as the scheduler does (on its Friday) and close its
    DMs as the product closes them, a few skipped: each round with the reps it reached."""
    rt = runtime(db, ManualClock(datetime.combine(week + timedelta(days=4), time(16), UTC)))
    rounds = [(await checkins.plan_round(rt, bank, team, week)).round for team in made]
    ids = [r.id for r in rounds]
    async with rt.db.engine.begin() as conn:
        rows = (
            await conn.execute(
                select(col(Delivery.id), col(Delivery.round_id), col(Delivery.user_id)).where(
                    col(Delivery.round_id).in_(ids)
                )
            )
        ).all()
        skipped = [row for row in rows if rng.random() < SKIPPED]
        missed = {(r, u) for _, r, u in skipped}
        for status, which in (
            (DeliveryStatus.SKIPPED, [i for i, _, _ in skipped]),
            (DeliveryStatus.EXPIRED, [i for i, r, u in rows if (r, u) not in missed]),
        ):
            await conn.execute(
                update(Delivery).where(col(Delivery.id).in_(which)).values(status=status)
            )
    await outbox.forget_recipients(rt.db, [])  # clears every expired row still naming its rep
    return [(r, {u for u in r.reps if (r.id, u) not in missed}) for r in rounds]


def _shifted(row: Any, by: timedelta, **changes: Any) -> dict[str, Any]:
    """A stored row's every column, its dates moved by ``by``, without its id."""
    values = {
        name: (value + by if isinstance(value, date | datetime) else value)
        for name, value in row._mapping.items()
        if name != "id"
    }
    return {**values, **changes}


async def _copied(
    db: Database,
    bank: PromptBank,
    planned: Sequence[tuple[CheckinRound, set[str]]],
    week: date,
) -> list[tuple[CheckinRound, set[str]]]:
    """The rounds of an older ``week``: the planned ones' stored rows (rounds and closed DMs,
    every column) moved back to ``week``, asking that week's rotation (planning each of
    80 weeks one team at a time would take minutes)."""
    by = week - planned[0][0].period_start
    rt = runtime(db)
    asks = rotation.plan_week(
        bank, await rotation.enabled_ids(rt, bank, WORKSPACE), WORKSPACE, week
    ).prompt_ids
    ids = [r.id for r, _ in planned]
    rounds: list[tuple[CheckinRound, set[str]]] = []
    async with db.engine.begin() as conn:
        old = (await conn.execute(select(CheckinRound.__table__).where(  # type: ignore[attr-defined]
            col(CheckinRound.id).in_(ids)))).all()  # fmt: skip
        dms = (await conn.execute(select(Delivery.__table__).where(  # type: ignore[attr-defined]
            col(Delivery.round_id).in_(ids)))).all()  # fmt: skip
        await conn.execute(insert(CheckinRound), [_shifted(r, by, prompt_ids=asks) for r in old])
        new = {
            team: rid
            for rid, team in await conn.execute(
                select(col(CheckinRound.id), col(CheckinRound.team_id)).where(
                    col(CheckinRound.period_start) == week
                )
            )
        }
        team_of = {r.id: r.team_id for r, _ in planned}
        await conn.execute(
            insert(Delivery), [_shifted(d, by, round_id=new[team_of[d.round_id]]) for d in dms]
        )
    for rnd, reached in planned:
        copy = CheckinRound.model_validate(
            {**rnd.model_dump(), "id": new[rnd.team_id], "period_start": week,
             "period_end": rnd.period_end + by, "prompt_ids": asks}
        )  # fmt: skip
        rounds.append((copy, reached))
    return rounds


def _week_rows(
    rt: Runtime,
    bank: PromptBank,
    rounds: Sequence[tuple[CheckinRound, set[str]]],
    rng: random.Random,
    nudge: list[int],
) -> _Week:
    made = _Week()
    for rnd, reached in rounds:
        one = _answers(rt, bank, rnd, [u for u in rnd.reps if u in reached], rng, nudge)
        made.responses += one.responses
        made.notes += one.notes
        made.estimates += one.estimates
    return made


async def _seed(
    url: str, teams_n: int, answers_n: int, latest: date, tz: str | None
) -> Counter[str]:
    db = Database(url)
    try:
        clock = ManualClock(datetime.combine(latest, time(9), UTC) - WEEK * 120)
        bank = default_bank()
        made, reps = await _people(db, clock, teams_n, tz)
        counts = Counter(teams=len(made), reps=reps, managers=len(made))
        rng = random.Random(20261116)
        nudge = [0]
        week = latest
        rt = runtime(db)
        planned: list[tuple[CheckinRound, set[str]]] = []
        while counts["responses"] < answers_n or counts["weeks"] < MIN_WEEKS:
            # newest first: the measured week is always full; the oldest may be cut short
            if counts["weeks"] < MIN_WEEKS:
                planned = await _planned(db, bank, made, week, rng)
                rounds = planned
            else:
                rounds = await _copied(db, bank, planned, week)
            rows = _week_rows(rt, bank, rounds, rng, nudge)
            keep = rows.responses[: max(0, answers_n - counts["responses"])]
            async with db.engine.begin() as conn:
                for model, chunk in ((Response, keep), (Note, rows.notes),
                                     (ManagerEstimate, rows.estimates)):  # fmt: skip
                    if chunk:
                        await conn.execute(insert(model), chunk)
            counts["weeks"] += 1
            counts["rounds"] += len(made)
            counts["responses"] += len(keep)
            counts["notes"] += len(rows.notes)
            counts["estimates"] += len(rows.estimates)
            week -= WEEK
        async with db.engine.connect() as conn:
            counts["deliveries"] = len((await conn.execute(select(col(Delivery.id)))).all())
        return counts
    finally:
        await db.dispose()


def seed(
    path: Path, teams_n: int, answers_n: int, latest: date, *, tz: str | None = None
) -> Counter[str]:
    """Migrate a new SQLite file at ``path`` and seed ``teams_n`` teams of :data:`REPS` reps
    and a manager (everyone in time zone ``tz``, when given) with ``answers_n`` answers: weeks
    of check-ins up to the one starting ``latest`` (a Monday), at least :data:`MIN_WEEKS`."""
    import asyncio

    if latest.weekday() != 0:
        raise ValueError(f"the latest week must start on a Monday, not {latest:%A}")
    url = f"sqlite:///{path}"
    upgrade(url)
    return asyncio.run(_seed(url, teams_n, answers_n, latest, tz))
