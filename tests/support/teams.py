"""Teams, their reps and managers, and their weekly answers, made straight in the database
(Workspace, Team, Member, CheckinRound, Delivery, Response under keyed pseudonyms, Note,
ManagerEstimate), with a runtime whose pseudonym key is theirs."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from bot.core.answers import context_for
from bot.core.prompts import GOAL_PROMPT_ID, default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.pseudonyms import Pseudonyms
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import CheckinRound, ManagerEstimate, Member, Note, Response, Team
from tests.support.checkins import checkin_delivery

KEY = "digest-test-pseudonym-key"
WS = "T1"
W1, W2, W3 = date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # Monday after W3, past the 09:00 slot

INTEGRITY = "integrity.honest_every_interaction"
CARE = "care.interests_first"
CANDOR = "candor.forecast_honest"
BAD_NEWS = "internal_trust.bad_news"
SCALES = (INTEGRITY, CARE, CANDOR, BAD_NEWS)


def who(user: str, period: date) -> str:
    """``user``'s pseudonym of the week ``period`` in WS under KEY."""
    return Pseudonyms(KEY).weekly(WS, user, period)


def make_runtime(db: Database, now: datetime = NOW) -> Runtime:
    """A runtime on ``db`` with KEY and a manual clock at ``now``."""
    settings = load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY)
    return Runtime(settings=settings, db=db, clock=ManualClock(now))


async def make_team(
    rt: Runtime,
    name: str,
    reps: int,
    *,
    k: int = 5,
    notes_k: int = 5,
    channel: str = "C0SALES",
    timezone: str = "UTC",
    managers: Sequence[str] = ("UMGR0001",),
) -> tuple[Team, list[str]]:
    """A team with ``reps`` reps (user IDs ``U<NAME>NN``) and its managers."""
    now = rt.clock.now()
    await ensure_workspace(rt.db, WS, rt.clock, "Acme")  # race-safe: a running app may add it
    users = [f"U{name.upper()}{i:02d}" for i in range(reps)]
    async with rt.db.session() as s:
        team = Team(
            workspace_id=WS,
            name=name,
            channel_id=channel,
            timezone=timezone,
            k=k,
            notes_k=notes_k,
            created_at=now,
        )
        s.add(team)
        await s.flush()
        assert team.id is not None
        for user in users:
            s.add(Member(workspace_id=WS, team_id=team.id, user_id=user, role="rep", added_at=now))
        for user in managers:
            s.add(
                Member(workspace_id=WS, team_id=team.id, user_id=user, role="manager", added_at=now)
            )
    return team, users


async def with_members(rt: Runtime, name: str, reps: list[str], managers: list[str]) -> Team:
    """A team whose reps and managers are exactly these users."""
    team, _ = await make_team(rt, name, 0, managers=managers)
    assert team.id is not None
    async with rt.db.session() as s:
        for user in reps:
            s.add(Member(workspace_id=WS, team_id=team.id, user_id=user, role="rep", added_at=NOW))
    return team


def response_row(
    period: date, context: str, user: str, prompt_id: str, value: str, moment=None
) -> Response:
    """``user``'s answer to ``prompt_id`` in the week of ``period`` (not yet added)."""
    bank = default_bank()
    prompt = bank.prompt(prompt_id)
    return Response(
        workspace_id=WS,
        period_start=period,
        context=context,
        moment=moment,
        pseudonym=who(user, period),
        prompt_id=prompt_id,
        dimension=prompt.dimension.value,
        value=value,
        score=bank.scale_value(prompt, value),
    )


async def checkin_week(
    rt: Runtime,
    team: Team,
    period: date,
    answers: Mapping[str, Mapping[str, str]],
    *,
    asked: Sequence[str] | None = None,
    notes: Mapping[str, tuple[str, bool]] | None = None,
    skipped: Sequence[str] = (),
) -> CheckinRound:
    """The week's round (for the team's reps and managers of now), one delivery per asked
    rep, their answers and notes."""
    assert team.id is not None
    at = datetime.combine(period, datetime.min.time(), UTC) + timedelta(days=4, hours=16)
    async with rt.db.session() as s:
        members = (
            await s.exec(select(Member.user_id, Member.role).where(Member.team_id == team.id))
        ).all()
        rnd = CheckinRound(
            workspace_id=WS,
            team_id=team.id,
            period_start=period,
            period_end=period + timedelta(days=6),
            prompt_ids=[GOAL_PROMPT_ID, *SCALES],
            reps=sorted({u for u, role in members if role == "rep"}),
            managers=sorted({u for u, role in members if role == "manager"}),
            status="fanned_out",
            created_at=at,
        )
        s.add(rnd)
        await s.flush()
        for user in list(asked if asked is not None else answers) + list(skipped):
            s.add(checkin_delivery(rnd, user, "skipped" if user in skipped else "sent", at))
        for user, values in answers.items():
            for prompt_id, value in values.items():
                s.add(response_row(period, context_for(period), user, prompt_id, value))
        for user, (body, shared) in (notes or {}).items():
            s.add(
                Note(
                    workspace_id=WS,
                    period_start=period,
                    context=context_for(period),
                    pseudonym=who(user, period),
                    text=body,
                    shared=shared,
                )
            )
    return rnd


_nudges = itertools.count()


async def nudge(
    rt: Runtime, team: Team, period: date, user: str, change: str, answers: Mapping[str, str]
) -> None:
    """A rep's answers to one deal-moment nudge (they count for the teams whose round of the
    week had the rep)."""
    context = f"nudge:{next(_nudges)}"
    async with rt.db.session() as s:
        for prompt_id, value in answers.items():
            s.add(response_row(period, context, user, prompt_id, value, moment=change))


async def estimate(
    rt: Runtime, team: Team, period: date, manager: str, prompt_id: str, value: int
) -> None:
    """A manager's estimate for ``prompt_id`` in the week of ``period``."""
    assert team.id is not None
    async with rt.db.session() as s:
        s.add(
            ManagerEstimate(
                workspace_id=WS,
                team_id=team.id,
                period_start=period,
                pseudonym=who(manager, period),
                prompt_id=prompt_id,
                value=value,
            )
        )


def same(users: Sequence[str], **values: str) -> dict[str, dict[str, str]]:
    """Every user gives the same answers; keyword names use ``__`` for the prompt id's dot."""
    answers = {key.replace("__", "."): value for key, value in values.items()}
    return {user: dict(answers) for user in users}
