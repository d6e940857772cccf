"""The loop back to the team: once a week's digest is posted, each rep of its round gets the
same anonymised figures in a DM (an outbox row of kind ``summary``, planned by
:func:`bot.core.digests.mark_posted`), with the focus the team is working on."""

from __future__ import annotations

from typing import Any

from bot.core import digests
from bot.core.outbox import Skip
from bot.core.prompts import Audience, default_bank
from bot.runtime import Runtime
from bot.slack.kit.digest import team_summary_message as summary_blocks
from bot.storage.models import CheckinRound


async def team_summary_message(runtime: Runtime, rnd: CheckinRound) -> dict[str, Any] | Skip:
    """The summary DM of the round's week, or why there is none."""
    assert rnd.id is not None
    found = await digests.summary_for(runtime, rnd.id)
    if found is None:
        return Skip("the week's digest is not posted")
    team, figures = found
    tip = None
    if figures.focus is not None:
        bank = default_bank()
        if bank.tips_for(figures.focus.dimension, Audience.REP):
            tip = bank.pick_tip(
                figures.focus.dimension, f"{team.id}:{figures.period_start}", Audience.REP
            ).text
    return summary_blocks(figures, team_name=team.name, rep_tip=tip)
