"""Check-in rounds made straight in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bot.core.prompts import GOAL_PROMPT_ID
from bot.storage.models import CheckinRound, Delivery, Team, Workspace

PERIOD = date(2026, 11, 23)  # a Monday


async def add_round(
    session: Any,
    workspace: str,
    now: datetime,
    *,
    team: str = "sales",
    channel: str = "C1",
    prompt_ids: Sequence[str] = (GOAL_PROMPT_ID,),
    status: str = "planned",
    period: date = PERIOD,
) -> CheckinRound:
    """A new team in ``workspace`` (added if missing) and its round for the week of
    ``period``, added to ``session`` and flushed, so they have their ids."""
    if await session.get(Workspace, workspace) is None:
        session.add(Workspace(id=workspace, name="Acme", installed_at=now))
        await session.flush()
    new_team = Team(workspace_id=workspace, name=team, channel_id=channel, created_at=now)
    session.add(new_team)
    await session.flush()
    assert new_team.id is not None
    rnd = CheckinRound(
        workspace_id=workspace,
        team_id=new_team.id,
        period_start=period,
        period_end=period + timedelta(days=6),
        prompt_ids=list(prompt_ids),
        status=status,
        created_at=now,
    )
    session.add(rnd)
    await session.flush()
    return rnd


def checkin_delivery(
    rnd: CheckinRound, user: str, status: str, at: datetime, **fields: Any
) -> Delivery:
    """The outbox row of ``rnd``'s DM to ``user``, planned for ``at``, with other ``fields``."""
    return Delivery(
        workspace_id=rnd.workspace_id,
        kind="checkin",
        round_id=rnd.id,
        user_id=user,
        status=status,
        next_attempt_at=at,
        created_at=at,
        **fields,
    )
