"""Block Kit for the weekly digest, rendered from its stored figures only.

Everything shown comes from ``Digest.figures`` (already checked by :mod:`bot.anonymity` and
frozen), so a re-run renders the same message. Text from people (shared notes) and from the
bank is escaped for mrkdwn, so a note cannot mention anyone or inject formatting.
Within Slack's limits: at most 50 blocks, section text at most 3000 characters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bot.core.anonymity import NOT_ENOUGH, Breakdown
from bot.core.digests import Figures
from bot.core.digests.figures import DimensionFigure, Focus, GapFigure, GoalMix, Moments, Notes
from bot.core.prompts import SEEDS
from bot.slack.kit.blocks import DIVIDER, Block, context, escape, header, inert, quote, section

__all__ = [
    "DOWN",
    "FLAT",
    "MAX_BLOCKS",
    "UP",
    "arrow",
    "chart_alt_text",
    "chart_filename",
    "chart_title",
    "digest_message",
]

MAX_BLOCKS = 50
NOTE_EXCERPT = 700
MAX_NOTES = 20
UP, DOWN, FLAT = "▲", "▼", "▶"
STEADY = 0.05  # a change smaller than this is shown as steady


def arrow(change: float | None) -> str:
    """``▲ +0.31`` / ``▼ −0.20`` / ``▶ steady``; empty when there is nothing to compare."""
    if change is None:
        return ""
    if change >= STEADY:
        return f"{UP} +{change:.2f}"
    if change <= -STEADY:
        return f"{DOWN} −{abs(change):.2f}"
    return f"{FLAT} steady"


def _day(day: date) -> str:
    return day.strftime("%-d %b %Y")


def _people(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


def _cells(breakdown: Breakdown, labels: Mapping[str, str], unit: str = "") -> str:
    """``Yes 6 · No 0`` / ``Yes 6 · other 5``; a withheld split says why."""
    if breakdown.total is None:
        return f"_{breakdown.reason or NOT_ENOUGH}_"
    parts = []
    names = dict(labels)
    names.update({key: key for key, _ in breakdown.shown if key not in names})
    for key, label in names.items():
        count = breakdown.count(key)
        if count is not None and (count or breakdown.other is None):
            parts.append(f"{escape(label)} *{count}*")
    if breakdown.other:
        parts.append(f"other *{breakdown.other}*")
    text = " · ".join(parts)
    if not breakdown.shown:
        return f"{breakdown.total}{unit} in all; split not shown: _{NOT_ENOUGH}_"
    if breakdown.reason:
        text += f" (smaller groups not shown: _{breakdown.reason}_)"
    return text


def _dimension_line(item: DimensionFigure) -> str:
    label = escape(item.label or item.dimension)
    if item.index is None:
        return f"• *{label}*: _{item.reason or NOT_ENOUGH}_"
    line = f"• *{label}* `{item.index:.2f}`"
    change = arrow(item.change)
    if change:
        line += f" {change}"
    line += f" · {_people(item.people or 0)}"
    if item.distribution is not None:
        stars = {str(score): f"{score}★" for score in range(5, 0, -1)}
        line += f"\n      {_cells(item.distribution.view(), stars)}"
    return line


def _trust_index(dimensions: Sequence[DimensionFigure]) -> Block:
    if not dimensions:
        return section("*Trust index* (1–5)\nNo check-in answers this week.")
    lines = [_dimension_line(item) for item in dimensions]
    return section(
        "*Trust index* (1–5, mean of the check-in scales; change since last week)\n"
        + "\n".join(lines)
    )


def _goal(goal_mix: GoalMix | None) -> Block | None:
    if goal_mix is None:
        return None
    breakdown = goal_mix.breakdown.view()
    labels = goal_mix.labels
    if breakdown.total == 0:
        return None
    return section(
        "*Goal*: trust and value, or something else?\n" + _cells(breakdown, labels, " answered")
    )


def _moments(moments: Moments | None) -> list[Block]:
    """A summary section, then one section per moment shown (each stays under 3000)."""
    if moments is None:
        return [section("*Deal moments*\nNo deal-moment reflections this week.")]
    breakdown = moments.breakdown.view()
    labels = moments.labels
    if breakdown.total is None:
        return [section(f"*Deal moments*\n_{breakdown.reason or NOT_ENOUGH}_")]
    blocks = [
        section(f"*Deal moments*: {breakdown.total} reflections\n{_cells(breakdown, labels)}")
    ]
    for detail in moments.details:
        title = escape(labels.get(detail.moment, detail.moment))
        lines = [f"_{title}_"]
        for prompt in detail.prompts:
            said = prompt.breakdown.view()
            text = escape(prompt.text or prompt.prompt_id)
            lines.append(f"• {text} {_cells(said, prompt.labels, ' answers')}")
        blocks.append(section("\n".join(lines)))
    return blocks


def _gap(items: Sequence[GapFigure]) -> Block | None:
    if not items:
        return None
    lines = ["*Perception gap*: what managers think, and what the team says"]
    for item in items:
        who = (
            "manager thinks"
            if item.managers_count == 1
            else f"{item.managers_count} managers think"
        )
        line = f"• “{escape(item.text)}”\n      {who} *{item.managers}%*"
        if item.team is None:
            line += f"; the team: _{item.reason or NOT_ENOUGH}_"
        else:
            line += f"; the team says *{item.team}%* (share answering 4 or 5)"
        lines.append(line)
    return section("\n".join(lines))


def _focus(focus: Focus | None) -> list[Block]:
    if focus is None:
        return [section("*Coaching focus*\nA focus is chosen once enough people answer.")]
    label = escape(focus.label or focus.dimension)
    tip = escape(focus.tip)
    blocks = [
        section(
            f"*Coaching focus for next week: {label}* (lowest index, `{focus.index:.2f}`)\n> {tip}"
        )
    ]
    seeds = [f"{s}: {SEEDS[s]}" for s in focus.seed if s in SEEDS]
    if seeds:
        blocks.append(context("From " + "; ".join(escape(s) for s in seeds)))
    return blocks


def _notes(notes: Notes, room: int) -> list[Block]:
    texts = notes.texts
    if notes.reason:
        return [section(f"*Shared notes*\n_{notes.reason}_")]
    if not texts:
        return []
    fit = max(0, min(MAX_NOTES, room - 1, len(texts)))
    blocks = [section(f"*Shared notes* ({len(texts)}, shared anonymously by reps)")]
    blocks += [section(quote(text, NOTE_EXCERPT)) for text in texts[:fit]]
    if fit < len(texts):
        blocks[-1] = section(
            blocks[-1]["text"]["text"] + f"\n_{len(texts) - fit} more not shown here._"
        )
    return blocks


def digest_message(
    figures: Figures,
    *,
    team_name: str,
    preview: bool = False,
    chart: bool = False,
    reposted: bool = False,
) -> dict[str, Any]:
    """``{"text", "blocks"}`` for ``chat.postMessage`` (or an ephemeral preview)."""
    week = f"{_day(figures.period_start)} – {_day(figures.period_end)}"
    answered, asked = figures.participation.answered, figures.participation.asked
    name = inert(team_name)
    intro = (
        f"Week of {week}. Team figures only: each needs at least {figures.k} people "
        f"(shared notes: {figures.notes_k}); smaller groups say “{NOT_ENOUGH}”."
    )
    if preview:
        intro = "*Preview*, only you can see this. " + intro
    if reposted:
        intro += " Posted again: the figures are those first published."
    blocks: list[Block] = [
        header(f"Trust digest: {inert(team_name, mrkdwn=False)}"),
        context(intro),
        section(f"*Participation*: *{answered}* answered · *{asked}* asked"),
        DIVIDER,
    ]
    if figures.withheld is not None:
        blocks.append(section(f"_Answers {escape(figures.withheld)}._"))
        text = f"Trust digest for {name}, week of {week}: {answered} answered, {asked} asked."
        return {"text": text, "blocks": blocks}
    blocks.append(_trust_index(figures.dimensions))
    goal = _goal(figures.goal_mix)
    if goal is not None:
        blocks.append(goal)
    blocks += _moments(figures.moments)
    gap = _gap(figures.perception_gap)
    if gap is not None:
        blocks.append(gap)
    blocks.append(DIVIDER)
    blocks += _focus(figures.focus)
    footer = "Figures are fixed when first shown; a re-run shows them unchanged."
    if chart:
        footer = "The trust index of the last 8 weeks is in the chart below. " + footer
    room = MAX_BLOCKS - len(blocks) - 1
    blocks += _notes(figures.notes, room)
    blocks.append(context(footer))
    text = f"Trust digest for {name}, week of {week}: {answered} answered, {asked} asked."
    return {"text": text, "blocks": blocks[:MAX_BLOCKS]}


def chart_filename(team_name: str, period_start: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in team_name)[:40] or "team"
    return f"trust-index-{safe}-{period_start}.png"


def chart_title(team_name: str, period_start: str) -> str:
    return (
        f"Trust index, last 8 weeks: {inert(team_name, mrkdwn=False)} "
        f"(week of {_day(date.fromisoformat(period_start))})"
    )


def chart_alt_text(figures: Figures) -> str:
    """What the chart shows, for screen readers (from the same figures)."""
    labels = figures.labels()
    parts = []
    for dimension, values in figures.trend.index.items():
        last = next((v for v in reversed(values) if v is not None), None)
        if last is not None:
            parts.append(f"{labels.get(dimension) or dimension} {last:.2f}")
    text = "Line chart of the trust index (1 to 5) per dimension over the last 8 weeks"
    return (text + (": latest " + ", ".join(parts) if parts else "") + ".")[:1000]
