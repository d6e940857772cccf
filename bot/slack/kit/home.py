"""App Home: one view per person, built from :class:`bot.home.HomeData`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.home import HomeData, TeamDigest, sparkline
from bot.core.rep_page import BASELINE_WEEKS, EVIDENCE, TOLD, BlindSpot, RepPage
from bot.slack.kit.blocks import Block, button, context, header, inert, message, section

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


def _when(data: HomeData, at: datetime) -> str:
    """``Thu 8 Jan 17:00 IST``: a time in the person's own time zone."""
    local = data.local(at)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname() or data.tz}"


def status_lines(data: HomeData) -> list[str]:
    """Opted out or snoozed, and this week's check-in with its counts, in their time zone."""
    lines: list[str] = []
    if data.opted_out:
        lines.append(
            "You have opted out: no check-ins or deal nudges. `/trust optin` to come back."
        )
    elif data.snoozed_until:
        lines.append(f"Snoozed until {_when(data, data.snoozed_until)}.")
    else:
        lines.append("You receive check-ins and deal nudges. `/trust snooze <days>` for a break.")
    week = data.this_week
    if week is None:
        lines.append("No check-in yet. They arrive in our DM once a week.")
        return lines
    state = week.state
    counts = f"{week.answered} of {week.asked} answered"
    if state == "answered" and not week.closed:
        until = f" until {_when(data, week.closes_at)}" if week.closes_at else ""
        said = f"{counts}. You can change your answers{until}."
    elif state == "answered":
        said = f"{counts}; closed."
    elif state == "open" and week.closes_at:
        said = f"open, {counts}. Closes {_when(data, week.closes_at)}."
    elif state in ("closed", "open"):
        said = f"{state}, {counts}."
    else:
        said = f"{state}."
    lines.append(f"*Check-in, week of {week.period_start:%-d %b}*: {said}")
    return lines


ARROWS = {"up": "▲ up from", "down": "▼ down from", "steady": "steady at"}
EVIDENCE_MARK = {TOLD: "✅", "not_yet": "⬜"}


def _trends(page: RepPage) -> str:
    lines = [
        "*My behaviour trends* (1-5: only answers about my own conduct, "
        f"each against my own {BASELINE_WEEKS}-week baseline)"
    ]
    for trend in page.trends:
        label = trend.dimension.replace("_", " ").capitalize()
        if trend.baseline is None:
            against = "new: the baseline comes with the next weeks"
        else:
            against = f"{ARROWS[trend.direction]} my baseline {trend.baseline:.1f}"
        lines.append(f"`{sparkline(trend.points)}` {label} *{trend.latest:.1f}*, {against}")
    return "\n".join(lines)


def _evidence(page: RepPage) -> str:
    lines = ["*What buyers have shared with me*, deal by deal (seed 004's test of trust)"]
    for deal in page.evidence:
        items = []
        for prompt_id, value in deal.items:
            said = "told me" if value == TOLD else value.replace("_", " ")
            items.append(f"{EVIDENCE_MARK.get(value, '🤔')} {EVIDENCE[prompt_id]} ({said})")
        lines.append(f"• *{inert(deal.deal)}*: " + " · ".join(items))
    return "\n".join(lines)


READING = {
    "gap": (
        "I rate myself higher than what buyers have shared so far. That is worth a look, not "
        "a verdict: buyers see only 18% of sellers as trusted advisors, and most sellers "
        "don't know which side they're on."
    ),
    "matched": (
        "What buyers share backs up how I rate myself: that is trust, seen from the buyer's side."
    ),
    "underrated": "Buyers share more with me than my own rating gives me credit for.",
    "modest": (
        "Both are modest for now, and honest. Buyers share with sellers they see as "
        "advisors: each thing I give first makes the next question easier."
    ),
    "unrated": (
        "I haven't rated my care or integrity yet: that comes with the weekly check-ins. "
        "Until then, what a buyer shares is the honest test."
    ),
}


def blind_spot_text(spot: BlindSpot) -> str:
    """Seed 004's blind spot: how I rate my client-first conduct next to what buyers told me."""
    rated = (
        f"I rate my client-first conduct *{spot.self_rating:.1f} of 5* "
        f"({spot.self_answers} answers on care and integrity). "
        if spot.self_rating is not None
        else ""
    )
    return (
        "*My blind spot check* (only I see this)\n"
        f"{rated}Buyers told me *{spot.told} of the {spot.asked}* "
        f"{'thing' if spot.asked == 1 else 'things'} I logged about what they shared.\n"
        + READING[spot.reading]
    )


def rep_page_blocks(data: HomeData) -> list[Block]:
    """The rep's own page: behaviour trends, the evidence per deal, the blind spot and one
    practice for next week. Shared by App Home and ``/trust me``."""
    page = data.page
    if page is None:
        return []
    blocks: list[Block] = []
    if page.trends:
        blocks.append(section(_trends(page)))
        blocks.append(
            context(
                "Answers about a client, a deal or the team (a risk I flagged, a deal I "
                "qualified out) are never scored."
            )
        )
    if page.evidence:
        blocks.append(section(_evidence(page)))
    if page.blind_spot is not None:
        blocks.append(section(blind_spot_text(page.blind_spot)))
    blocks.append(section(f"🌱 *A practice for next week*: {page.practice.text}"))
    blocks.append(context(f"Chosen for {page.practice.reason}."))
    return blocks


def _rep(data: HomeData) -> list[Block]:
    blocks: list[Block] = [header("Your check-ins"), section("\n".join(status_lines(data)))]
    blocks += rep_page_blocks(data)
    blocks.append(_controls(data))
    blocks.append(context("Only you see this. Managers only ever see team figures."))
    return blocks


def me_message(data: HomeData) -> dict[str, Any]:
    """``/trust me``: the same page, privately, with the person's teams."""
    teams = ", ".join(inert(t) for t in data.rep_of) or "none yet"
    blocks: list[Block] = [section("\n".join([f"Teams: {teams}", *status_lines(data)]))]
    blocks += rep_page_blocks(data)
    blocks.append(context("Only you see this. Managers only ever see team figures."))
    return message("My Trustbot page", blocks)


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
    mine = data.page is not None and bool(data.page.trends or data.page.evidence)
    if data.rep_of or data.this_week or mine or not (data.manager_of or data.is_admin):
        blocks += _rep(data)
    if data.manager_of or (data.is_admin and data.digests):
        blocks += _manager(data)
    if data.is_admin:
        blocks += _admin(data)
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
