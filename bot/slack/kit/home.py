"""App Home: one view per person, built from :class:`bot.home.HomeData`."""

from __future__ import annotations

from typing import Any

from bot.core.home import HomeData, TeamDigest, sparkline
from bot.slack.kit.blocks import Block, button, context, header, inert, section

SNOOZE_ACTION = "home.snooze"
OPTOUT_ACTION = "home.optout"
OPTIN_ACTION = "home.optin"
SNOOZE_DAYS = (1, 3, 7, 14, 30)
MAX_BLOCKS = 100


def _controls(data: HomeData) -> Block:
    elements: list[Block] = []
    if data.opted_out:
        elements.append(button(OPTIN_ACTION, "Opt back in", value=OPTIN_ACTION, style="primary"))
    else:
        elements.append(
            {
                "type": "static_select",
                "action_id": SNOOZE_ACTION,
                "placeholder": {"type": "plain_text", "text": "Snooze check-ins"},
                "options": [
                    {
                        "text": {"type": "plain_text", "text": f"{d} day{'s' if d > 1 else ''}"},
                        "value": str(d),
                    }
                    for d in SNOOZE_DAYS
                ],
            }
        )
        elements.append(button(OPTOUT_ACTION, "Opt out", value=OPTOUT_ACTION, style="danger"))
    return {"type": "actions", "block_id": "controls", "elements": elements}


def _rep(data: HomeData) -> list[Block]:
    blocks: list[Block] = [header("Your check-ins")]
    if data.opted_out:
        blocks.append(section("You have opted out: no check-ins or deal nudges."))
    elif data.snoozed_until:
        blocks.append(section(f"Snoozed until {data.snoozed_until:%a %d %b %H:%M} UTC."))
    week = data.this_week
    if week is None:
        blocks.append(section("No check-in yet. They arrive here in your DMs once a week."))
    else:
        state = {"sent": "open", "expired": "closed", "pending": "on its way"}.get(
            week.status, week.status
        )
        closes = f", closes {week.closes_at:%a %d %b %H:%M} UTC" if week.closes_at else ""
        blocks.append(
            section(
                f"*Week of {week.period_start:%d %b}*: {state}{closes}. "
                f"You answered {week.answered} of {week.asked} questions."
            )
        )
    if data.trend:
        lines = [
            f"`{sparkline(points)}` {dimension.replace('_', ' ')} (latest {points[-1][1]:.1f} of 5)"
            for dimension, points in data.trend.items()
        ]
        blocks.append(section("*Your trend* (your own answers, 1 to 5)\n" + "\n".join(lines)))
    blocks.append(_controls(data))
    blocks.append(context("Only you see this. Managers only ever see team figures."))
    return blocks


def _manager(data: HomeData) -> list[Block]:
    blocks: list[Block] = [{"type": "divider"}, header("Your teams' digests")]
    if not data.digests:
        blocks.append(section("No digest yet: the first one arrives after the first full week."))
    for digest in data.digests:
        blocks.append(section(_digest_summary(digest)))
    return blocks


def _digest_summary(digest: TeamDigest) -> str:
    """Participation, each dimension's index (or why it is hidden) and the coaching focus:
    only the figures the digest itself showed, already k-anonymous."""
    figures = digest.figures
    lines = [f"*{inert(digest.team)}*, week of {figures.period_start:%d %b}"]
    taking = figures.participation
    lines.append(f"{taking.answered} answered of {taking.asked} asked")
    shown = [f"{d.label} {d.index:.2f}" for d in figures.dimensions if d.index is not None]
    lines.append("Trust index: " + (", ".join(shown) if shown else "not enough responses"))
    if figures.focus is not None:
        lines.append(f"Coaching focus: *{figures.focus.label}*. {figures.focus.tip}")
    if digest.channel_id:
        lines.append(f"Full digest in <#{digest.channel_id}>.")
    return "\n".join(lines)[:2900]


def _admin(data: HomeData) -> list[Block]:
    blocks: list[Block] = [{"type": "divider"}, header("Admin")]
    if not data.team_lines:
        blocks.append(section("No teams yet: `/trust setup` or `/trust team create`."))
    for s in data.team_lines[:40]:
        paused = " (paused)" if s.team.paused else ""
        blocks.append(
            section(
                f"*{inert(s.team.name)}*{paused} → <#{s.team.channel_id}>: {s.reps} reps, "
                f"{s.managers} managers; check-in {s.schedule}; k={s.team.k}"
            )
        )
    health = (
        ", ".join(f"{n} {status}" for status, n in sorted(data.outbox.items())) or "nothing yet"
    )
    blocks.append(context(f"Deliveries: {health}. `/trust status` for details."))
    return blocks


def home_view(data: HomeData) -> dict[str, Any]:
    blocks: list[Block] = [
        header("Trustbot"),
        section(
            "Each week I ask a few short questions, such as *What is my goal: trust and value, "
            "or something else?* Answer with a click in our DM."
        ),
    ]
    if data.rep_of or data.this_week or data.trend or not (data.manager_of or data.is_admin):
        blocks += _rep(data)
    if data.manager_of or (data.is_admin and data.digests):
        blocks += _manager(data)
    if data.is_admin:
        blocks += _admin(data)
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
