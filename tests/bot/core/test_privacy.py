"""A rep's export holds only their answers; forget-me leaves no trace of them."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlmodel import select

from bot.core import admins, people, privacy, recipients, teams
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.pseudonyms import Pseudonyms
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import (
    AuditLog,
    CheckinRound,
    DealEvent,
    Delivery,
    ManagerEstimate,
    Note,
    Person,
    Response,
)
from tests.support.db import dump

KEY = "privacy-test-key-0123456789"
PERIOD = date(2026, 11, 23)
ME, OTHER = "U0FORGETME", "U0STAYS"


@pytest.fixture
async def runtime(db: Database, clock: ManualClock) -> Runtime:
    rt = Runtime(settings=load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY), db=db, clock=clock)
    await ensure_workspace(db, "T1", clock)
    team = await teams.create(db, "T1", "UADMIN", "sales", "C1", clock)
    await teams.add_people(db, "T1", "UADMIN", "sales", [ME, OTHER], teams.REP, clock)
    await teams.add_people(db, "T1", "UADMIN", "sales", [ME], teams.MANAGER, clock)
    await admins.add(db, "T1", "UADMIN", ME, clock)
    await teams.update(db, "T1", ME, "sales", clock, k=4)  # an audit entry by ME
    await people.snooze(db, "T1", ME, 3, clock)
    await people.set_opted_out(rt.db, rt.pseudonyms, "T1", ME, True)
    period = PERIOD
    async with db.session() as s:
        rnd = CheckinRound(
            workspace_id="T1",
            team_id=team.id,
            period_start=period,
            period_end=period + timedelta(days=6),
            prompt_ids=["goal.trust_or_else"],
            created_at=clock.now(),
        )
        s.add(rnd)
        await s.flush()
        for user in (ME, OTHER):
            p = Pseudonyms(KEY).weekly("T1", user, period)
            s.add(
                Delivery(
                    workspace_id="T1",
                    kind="checkin",
                    round_id=rnd.id,
                    user_id=user,
                    next_attempt_at=clock.now(),
                    created_at=clock.now(),
                )
            )
            s.add(
                Response(
                    workspace_id="T1",
                    period_start=period,
                    context=f"checkin:{period}",
                    pseudonym=p,
                    prompt_id="goal.trust_or_else",
                    dimension="goal",
                    value="trust_and_value",
                    score=5,
                )
            )
            s.add(
                Note(
                    workspace_id="T1",
                    period_start=period,
                    context=f"checkin:{period}",
                    pseudonym=p,
                    text=f"note by {user[-4:]}",
                    shared=user == ME,
                )
            )
            s.add(
                DealEvent(
                    workspace_id="T1",
                    source="webhook",
                    event_id=f"crm-{len(user)}{user[-1]}",
                    deal_id="D-1",
                    deal_name="Acme",
                    change="won",
                    rep_user_id=user,
                    rep_email=f"{user.lower()}@example.com",
                    occurred_at=clock.now(),
                    received_at=clock.now(),
                )
            )
        s.add(
            ManagerEstimate(
                workspace_id="T1",
                team_id=team.id,
                period_start=period,
                pseudonym=Pseudonyms(KEY).weekly("T1", ME, period),
                prompt_id="internal.bad_news",
                value=80,
            )
        )
    return rt


async def test_export_is_my_answers_and_notes_only(runtime: Runtime) -> None:
    body, count = await privacy.export_csv(runtime, "T1", ME)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert count == 2 and len(rows) == 2
    assert rows[0]["prompt_id"] == "goal.trust_or_else" and rows[0]["answer"] == "trust_and_value"
    assert rows[1]["answer"] == "note by ETME" and "shared" in rows[1]["kind"]
    assert "STAYS" not in body


async def test_forget_me_leaves_no_trace(runtime: Runtime) -> None:
    before = await dump(runtime.db)
    my_pseudonym = Pseudonyms(KEY).weekly("T1", ME, PERIOD)
    assert ME in before and my_pseudonym in before
    result = await privacy.forget(runtime, "T1", ME)
    assert result.counts["response"] == 1 and result.counts["member"] == 2
    after = await dump(runtime.db)
    assert ME not in after
    assert ME.lower() not in after  # e-mail gone too
    assert my_pseudonym not in after
    assert "note by ETME" not in after
    # others keep everything, and the opt-out is remembered without naming anyone
    assert OTHER in after and Pseudonyms(KEY).weekly("T1", OTHER, PERIOD) in after
    assert (await recipients.availability(runtime, "T1", ME)).opted_out is True
    async with runtime.db.session() as s:
        assert (await s.get(Person, ("T1", ME))) is None
        entries = (await s.exec(select(AuditLog))).all()
        assert any(e.actor == privacy.FORGOTTEN for e in entries)
