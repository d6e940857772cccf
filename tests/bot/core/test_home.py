"""What App Home shows each role, read from storage (no Slack)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select

from bot.core import teams
from bot.core.answers import context_for, pseudonym_of
from bot.core.digests import Figures
from bot.core.home import home_for
from bot.core.prompts import GOAL_PROMPT_ID
from bot.core.trust.commands import Caller
from bot.core.trust.registry import execute, parse
from bot.core.untrusted import unmarked
from bot.storage import Database
from bot.storage.models import CheckinRound, Delivery, DeliveryStatus, Digest, Person, Response
from tests.support.teams import (
    SCALES,
    W3,
    WS,
    checkin_week,
    make_runtime,
    make_team,
    response_row,
)

W1, W2 = date(2026, 11, 9), date(2026, 11, 16)
NOTE = "internal_trust.weekly_note"


async def publish(db: Database, team_id: int, period: date) -> None:
    published = datetime.combine(period + timedelta(days=7), time(9), UTC)
    async with db.session() as session:
        session.add(
            Digest(
                workspace_id=WS,
                team_id=team_id,
                period_start=period,
                period_end=period + timedelta(days=6),
                figures=Figures(
                    period_start=period, period_end=period + timedelta(days=6), k=5, notes_k=5
                ).stored(),
                published_at=published,
            )
        )


async def test_each_role_sees_its_own_teams_and_their_latest_digests(db: Database) -> None:
    rt = make_runtime(db)
    east, east_reps = await make_team(rt, "east", 2, managers=["UBOSS"])
    west, _ = await make_team(rt, "west", 2, managers=["UBOSS", "UOTHER"])
    north, _ = await make_team(rt, "north", 1, managers=["UOTHER"])
    assert east.id and west.id and north.id
    for team_id in (east.id, west.id, north.id):
        await publish(db, team_id, W1)
    await publish(db, west.id, W2)

    boss = await home_for(rt, WS, "UBOSS", is_admin=False)
    assert (boss.manager_of, boss.rep_of) == (["east", "west"], [])
    assert [(d.team, d.figures.period_start) for d in boss.digests] == [("east", W1), ("west", W2)]
    assert boss.team_lines == []  # the team list is an admin's

    rep = await home_for(rt, WS, east_reps[0], is_admin=False)
    assert (rep.rep_of, rep.manager_of, rep.digests) == (["east"], [], [])

    admin = await home_for(rt, WS, "UADMIN", is_admin=True)
    assert [d.team for d in admin.digests] == ["east", "north", "west"]
    assert [(s.team.name, s.reps, s.managers) for s in admin.team_lines] == [
        ("east", 2, 1),
        ("north", 1, 1),
        ("west", 2, 2),
    ]


async def test_summaries_and_counts_put_every_member_under_its_own_team(db: Database) -> None:
    rt = make_runtime(db)
    for n in range(5):
        await make_team(rt, f"t{n}", n + 1, managers=[f"UM{n}"])
    found = {s.team.name: s for s in await teams.summaries(db, WS)}
    assert [len(found[f"t{n}"].reps) for n in range(5)] == [1, 2, 3, 4, 5]
    assert all(found[f"t{n}"].managers == [f"UM{n}"] for n in range(5))
    assert [(c.team.name, c.reps, c.managers) for c in await teams.overview(db, WS)] == [
        (f"t{n}", n + 1, 1) for n in range(5)
    ]
    # the first teams by name only, counted as the whole list counts them
    assert [(c.team.name, c.reps) for c in await teams.overview(db, WS, limit=2)] == [
        ("t0", 1),
        ("t1", 2),
    ]
    assert await teams.count(db, WS) == 5
    member_of = await teams.memberships(db, WS, "UM3")
    assert [t.name for t in member_of[teams.MANAGER]] == ["t3"] and member_of[teams.REP] == []


async def test_status_counts_every_team_and_lists_the_first_thirty(db: Database) -> None:
    rt = make_runtime(db)
    for n in range(32):
        await make_team(rt, f"team{n:02d}", 1 + n % 3, managers=[f"UM{n}"])
    caller = Caller(workspace_id=WS, user_id="UADMIN", is_admin=True)
    reply = await execute(rt, caller, parse("status"))
    assert reply.ok and "*Teams*: 32" in reply.text
    text = unmarked(reply.text)
    assert "• team00: 1 reps, 1 managers" in text and "• team29: 3 reps" in text
    assert "team30" not in reply.text and "… and 2 more: `/trust team list`" in reply.text


async def test_a_closed_checkin_counts_the_questions_of_the_reps_own_round(db: Database) -> None:
    """Closed DMs name nobody, so Home finds the round of a closed week through the rep's
    teams and the round's reps, not among every round of the workspace that week (another
    team's round that asked the same must not count, and 1,000 teams' rounds were read per
    Home)."""
    rt = make_runtime(db, datetime.combine(W2 + timedelta(days=9), time(12), UTC))
    east, [rep, _] = await make_team(rt, "east", 2)
    west, west_reps = await make_team(rt, "west", 2)
    # both rounds asked what the rep answered; only east's, the larger, asked them
    ours, smaller = ["p.one", "p.two", "p.three", "p.four", "p.five"], ["p.one", "p.two", "p.x"]
    async with db.session() as session:
        for team, prompt_ids, reps in ((east, ours, [rep]), (west, smaller, west_reps)):
            session.add(
                CheckinRound(
                    workspace_id=WS,
                    team_id=team.id or 0,
                    period_start=W2,
                    period_end=W2 + timedelta(days=6),
                    prompt_ids=prompt_ids,
                    reps=reps,
                    created_at=rt.clock.now(),
                )
            )
        who = pseudonym_of(rt, WS, rep, W2)
        for prompt_id in ours[:2]:
            session.add(
                Response(
                    workspace_id=WS,
                    period_start=W2,
                    context=context_for(W2),
                    pseudonym=who,
                    prompt_id=prompt_id,
                    dimension="candor",
                    value="4",
                    score=4,
                )
            )
    home = await home_for(rt, WS, rep, is_admin=False)
    assert home.this_week is not None
    assert (home.this_week.period_start, home.this_week.answered, home.this_week.asked) == (
        W2,
        2,
        5,
    )


async def test_counts_and_statuses_are_right_and_times_are_the_reps(db: Database) -> None:
    """Issue #17: "8 of 9 answered" to a rep who answered all, answered check-ins shown as
    expired, times in UTC. Each question counts once, the note never; an answered check-in
    says so, open or closed; the rep's own time zone is used."""
    rt = make_runtime(db)
    team, (ana,) = await make_team(rt, "east", 1)
    asked = [GOAL_PROMPT_ID, *SCALES]
    answers = {GOAL_PROMPT_ID: "quota", **{p: "4" for p in SCALES}}
    rnd = await checkin_week(rt, team, W3, {ana: answers})
    async with db.session() as s:
        rnd = await s.get(CheckinRound, rnd.id)
        assert rnd is not None
        rnd.prompt_ids = [*asked, NOTE]  # the optional note is not a question
        delivery = (await s.exec(select(Delivery).where(Delivery.round_id == rnd.id))).one()
        delivery.expires_at = rt.clock.now() + timedelta(days=2)
        s.add(Person(workspace_id=WS, user_id=ana, tz="Asia/Kolkata"))
        # an answer of the same week to a question this round did not ask is not counted
        s.add(response_row(W3, context_for(W3), ana, "care.their_shoes", "5"))
    data = await home_for(rt, WS, ana, is_admin=False)
    assert data.this_week is not None
    assert (data.this_week.answered, data.this_week.asked) == (5, 5)
    assert data.this_week.state == "answered" and data.tz == "Asia/Kolkata"
    # closed: the row forgets the rep; the week still reads answered, 5 of 5
    async with db.session() as s:
        delivery = (await s.exec(select(Delivery).where(Delivery.round_id == rnd.id))).one()
        delivery.status, delivery.user_id = DeliveryStatus.EXPIRED, None
    data = await home_for(rt, WS, ana, is_admin=False, tz="America/Chicago")
    assert data.this_week is not None and data.this_week.state == "answered"
    assert (data.this_week.answered, data.this_week.asked) == (5, 5)
    assert data.tz == "America/Chicago"  # Slack's users.info wins over the stored one
    assert (await home_for(rt, WS, ana, is_admin=False, tz="Mars/Olympus")).tz == "Asia/Kolkata"


async def test_a_snooze_is_confirmed_in_the_reps_own_time(db: Database) -> None:
    rt = make_runtime(db)  # Monday 23 Nov 09:30 UTC
    await make_team(rt, "east", 1)  # the workspace
    async with db.session() as s:
        s.add(Person(workspace_id=WS, user_id="UREP", tz="Asia/Kolkata"))
    reply = await execute(rt, Caller(WS, "UREP", False), parse("snooze 2"))
    assert reply.ok and reply.text.endswith("until Wed 25 Nov 15:00 IST.")
    elsewhere = await execute(rt, Caller(WS, "UNOZONE", False), parse("snooze 2"))
    assert elsewhere.text.endswith("until Wed 25 Nov 09:30 UTC.")
