"""Block Kit for the leadership roll-up (``/trust rollup``): an admin's private view of every
team at once, rendered from :class:`~bot.core.digests.rollup.Rollup` only (its figures are
already checked by the k rule). Team names come from people, so they are made inert. Within
Slack's limits: at most 50 blocks (teams share sections of up to 3000 characters)."""

from __future__ import annotations

from typing import Any

from bot.core.digests.rollup import Rollup, RollupPeriod, RollupTeam, period_end
from bot.slack.kit.blocks import DIVIDER, Block, context, header, inert, message, section

TEAMS_PER_SECTION = 20  # a line is at most ~140 characters: a section stays under 3000
MAX_TEAM_SECTIONS = 40


def _day(day: Any) -> str:
    return str(day.strftime("%-d %b %Y"))


def _period(title: str, period: RollupPeriod) -> list[Block]:
    span = f"{_day(period.start)} – {_day(period_end(period))}"
    lines = [
        f"*{title}* ({span})",
        f"Participation: *{period.answered}* of {period.in_rounds} people answered",
    ]
    if period.withheld:
        lines.append(f"Trust index and behaviours {period.withheld}.")
    elif period.index is None:
        lines.append("No check-in answers to show.")
    else:
        lines.append(f"Trust index: *{period.index:.2f}* (1–5)")
        if period.dimensions:
            lines.append(" · ".join(f"{d.label} {d.index:.2f}" for d in period.dimensions))
    return [section("\n".join(lines))]


def _team_line(team: RollupTeam) -> str:
    index = f"{team.index:.2f}" if team.index is not None else "not shown"
    focus = f" · focus: {team.focus}" if team.focus else ""
    return f"• {inert(team.name[:80])}: {index}{focus}"


def rollup_message(found: Rollup) -> dict[str, Any]:
    """The roll-up as an ephemeral message's keyword arguments."""
    blocks: list[Block] = [
        header("Trust across teams"),
        *_period("Last week", found.week),
        *_period(f"Latest {found.block.weeks} complete weeks", found.block),
        DIVIDER,
    ]
    lines = [_team_line(team) for team in found.teams]
    chunks = [lines[i : i + TEAMS_PER_SECTION] for i in range(0, len(lines), TEAMS_PER_SECTION)]
    for chunk in chunks[:MAX_TEAM_SECTIONS]:
        blocks.append(section("*Teams, last week*\n" + "\n".join(chunk)))
    if len(chunks) > MAX_TEAM_SECTIONS:
        hidden = len(lines) - MAX_TEAM_SECTIONS * TEAMS_PER_SECTION
        blocks.append(section(f"…and {hidden} more teams."))
    blocks.append(
        context(
            f"Each figure comes from at least {found.k} people, each counted once; managers' "
            "answers are never counted. A team's index shows only where its own digest "
            "shows it."
        )
    )
    return message("Trust across teams", blocks)
