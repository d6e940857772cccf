"""Block Kit for the weekly digest, rendered from its stored figures only.

Everything shown comes from ``Digest.figures`` (already checked by :mod:`bot.anonymity` and
frozen), so a re-run renders the same message. Text from people (shared notes) and from the
bank is escaped for mrkdwn, so a note cannot mention anyone or inject formatting.
Within Slack's limits: at most 50 blocks, section text at most 3000 characters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from functools import partial
from typing import Any

from bot.core.anonymity import NOT_ENOUGH, Breakdown
from bot.core.charts import usual as charts_usual
from bot.core.digests import Figures
from bot.core.digests.figures import Focus, GapFigure, GoalMix, Moments, Notes, Split
from bot.core.note_replies import reply_ref
from bot.core.prompts import SEEDS
from bot.slack.kit.blocks import DIVIDER, Block, context, escape, header, inert, quote, section
from bot.slack.kit.note_reply import reply_button

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
    "team_summary_message",
    "withheld_line",
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


def _cells(breakdown: Breakdown, labels: Mapping[str, str]) -> str:
    """``Yes 6 · No 0`` / ``Yes 6 · other 5`` (a withheld split is left out by the caller
    and named once in :func:`withheld_line`)."""
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
    return " · ".join(parts)


def _one(value: float) -> str:
    return f"{value:.1f}"


def _mark(marked: int) -> str:
    return UP if marked > 0 else DOWN if marked < 0 else ""


def _participation(figures: Figures) -> str:
    answered, asked = figures.participation.answered, figures.participation.asked
    line = f"*Participation*: *{answered}* of {asked} asked answered this week"
    if not asked:
        line = f"*Participation*: *{answered}* answered this week (no check-in went out)"
    earlier = [
        f"{a} of {b}" if b else str(a)
        for a, b in zip(figures.trend.answered[:-1], figures.trend.asked[:-1], strict=False)
        if a is not None
    ][-3:]
    if earlier:
        line += f" (the weeks before: {', '.join(earlier)})"
    return line + "."


def _index_text(figures: Figures) -> str:
    """The team index against its own baseline, then each dimension in one line."""
    overall = figures.overall
    if overall is None and not any(d.index is not None for d in figures.dimensions):
        if not figures.dimensions:
            return "*Team trust index*\nNo check-in answers this week."
        return f"*Team trust index*\n_{NOT_ENOUGH}_"
    lines = []
    if overall is not None:
        line = f"*Team trust index*: *{_one(overall.index)}* of 5"
        if overall.baseline is None:
            line += " (its usual level shows once there are two earlier weeks)"
        elif overall.marked:
            side = "above" if overall.marked > 0 else "below"
            line += (
                f" {_mark(overall.marked)} {side} this team's usual {_one(overall.baseline)}, "
                "by more than week-to-week chance explains"
            )
        else:
            line += f", usual for this team ({_one(overall.baseline)}: within the normal range)"
        lines.append(line)
    parts = []
    for item in figures.dimensions:
        if item.index is None:
            continue
        part = f"{escape(item.label or item.dimension)} {_one(item.index)}"
        if item.marked:
            part += f" {_mark(item.marked)}"
        elif item.change is not None and item.baseline is None and abs(item.change) >= STEADY:
            part += f" {arrow(item.change)}"  # figures of v1 (change since the week before)
        parts.append(part)
    if parts:
        lines.append(" · ".join(parts))
    bands = [
        f"{escape(item.label)}: {_cells(item.distribution.view(), _bands_of(item.distribution))}"
        for item in figures.dimensions
        if item.index is not None and item.distribution is not None
    ]
    if bands:
        lines.append("_People by their own average:_ " + "; ".join(bands))
    return "\n".join(lines)


_SCORES = {"5": "5★", "4": "4★", "3": "3★", "2": "2★", "1": "1★"}
_BANDS = {"4-5": "4–5★", "1-3": "1–3★"}


def _bands_of(split: Split) -> dict[str, str]:
    """The labels of a distribution: five scores, or the two bands it was folded into."""
    return _BANDS if any(key in _BANDS for key, _ in split.cells) else _SCORES


def _span(start: date | None, weeks: int) -> str:
    if start is None or weeks <= 1:
        return "this week"
    end = start + timedelta(days=7 * weeks - 1)
    return f"{weeks} weeks, {_day(start)} – {_day(end)}"


def _goal(goal_mix: GoalMix | None, figures: Figures) -> Block | None:
    """The goal mix at the granularity it was shown: the week's people, a block of weeks'
    answers, the week's people rounded to a multiple of k, or an earlier week's."""
    if goal_mix is None:
        return None
    title = "*Goal*: trust and value, or something else?"
    week = goal_mix.week_of
    when = "this week" if week in (None, figures.period_start) else f"week of {_day(week)}"
    if goal_mix.at_least is not None and goal_mix.answered:
        n, k = goal_mix.answered, figures.k
        share = (
            f"*all {n}*"
            if goal_mix.at_least == n
            else f"*at least {goal_mix.at_least}* of the {n}"
            if goal_mix.at_least
            else f"*fewer than {k}* of the {n}"
        )
        return section(
            f"{title} ({when})\n{share} who answered chose trust and value "
            f"(counted in fives, so no smaller group can be told apart)".replace(
                "fives", _groups(k)
            )
        )
    breakdown = goal_mix.breakdown.view()
    if not breakdown.total or not breakdown.shown:
        return None
    if goal_mix.weeks > 1:
        span = _span(goal_mix.start, goal_mix.weeks)
        return section(f"{title} ({span})\n{_cells(breakdown, goal_mix.labels)} answers")
    return section(f"{title} ({when})\n{_cells(breakdown, goal_mix.labels)} people")


def _groups(k: int) -> str:
    return {3: "threes", 4: "fours", 5: "fives", 6: "sixes"}.get(k, f"groups of {k}")


def _moments(moments: Moments | None) -> list[Block]:
    """A summary section, then one section per moment shown (each stays under 3000)."""
    if moments is None or moments.breakdown.total is None:
        return []
    breakdown = moments.breakdown.view()
    labels = moments.labels
    span = _span(moments.start, moments.weeks)
    summary = f"*Deal moments* ({span}): {breakdown.total} reflections on deals"
    if breakdown.shown:
        summary += f"\n{_cells(breakdown, labels)}"
    blocks = [section(summary)]
    for detail in moments.details:
        title = escape(labels.get(detail.moment, detail.moment))
        lines = [f"_{title}_"]
        for prompt in detail.prompts:
            said = prompt.breakdown.view()
            if not said.shown:
                continue
            text = escape(prompt.text or prompt.prompt_id)
            lines.append(f"• {text} {_cells(said, prompt.labels)}")
        if len(lines) > 1:
            blocks.append(section("\n".join(lines)))
    return blocks


def _gap(items: Sequence[GapFigure]) -> Block | None:
    if not items:
        return None
    lines = ["*Perception gap*: how you think the team would answer, and what it says"]
    for item in items:
        who = "you" if item.managers_count == 1 else f"{item.managers_count} managers"
        if item.managers_mean is not None:  # v2: means on the 1-5 scale
            said = item.manager_text or item.text
            line = f"• “{escape(said)}”: {who} estimated *{_one(item.managers_mean)}*"
            if item.team_mean is None:
                line += f"; the team: _{item.reason or NOT_ENOUGH}_"
            else:
                line += f"; the team says *{_one(item.team_mean)}* (average, 1–5)"
        else:  # v1: shares answering 4 or 5
            line = f"• “{escape(item.text)}”: {who} thought *{item.managers}%*"
            if item.team is None:
                line += f"; the team: _{item.reason or NOT_ENOUGH}_"
            else:
                line += f"; the team says *{item.team}%* (share answering 4 or 5)"
        lines.append(line)
    return section("\n".join(lines))


def _focus(focus: Focus | None, k: int) -> list[Block]:
    if focus is None:
        return [section(f"*Coaching focus*\nA focus is chosen once {k} people have answered.")]
    label = escape(focus.label or focus.dimension)
    if focus.since is not None:
        until = focus.since + timedelta(days=7 * 4 - 1)
        title = (
            f"*Coaching focus until {_day(until)}: {label}* (week {focus.week} of 4; "
            "the lowest over the last 4 weeks)"
        )
    else:
        title = f"*Coaching focus: {label}*"
    body = f"{title}\n> {escape(focus.tip)}"
    if focus.action:
        body += f"\n*This week, do:* {escape(focus.action)}"
    blocks = [section(body)]
    seeds = [f"“{SEEDS[s]}”" for s in focus.seed if s in SEEDS]
    if seeds:
        blocks.append(context("Drawn from " + " and ".join(escape(s) for s in seeds)))
    return blocks


def _notes(notes: Notes, room: int, replies: Callable[[int], str] | None = None) -> list[Block]:
    """The shared notes; with ``replies`` (a note's place -> its Reply button's value), each
    carries a Reply button for the managers."""
    texts = notes.texts
    if notes.reason:
        return [section(f"*Shared notes*\n_{notes.reason}_")]
    if not texts:
        return []
    fit = max(0, min(MAX_NOTES, room - 1, len(texts)))
    blocks = [section(f"*Shared notes* ({len(texts)}, shared anonymously by reps)")]
    blocks += [
        section(
            quote(text, NOTE_EXCERPT),
            accessory=None if replies is None else reply_button(replies(i)),
        )
        for i, text in enumerate(texts[:fit])
    ]
    if fit < len(texts):
        blocks[-1] = section(
            blocks[-1]["text"]["text"] + f"\n_{len(texts) - fit} more not shown here._"
        )
    return blocks


def withheld_line(figures: Figures) -> str | None:
    """The one line saying what is withheld and why (never one line per figure)."""
    items = [escape(item) for item in figures.not_shown]
    if not items:
        return None
    listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return (
        f"Not shown, so that no one can be singled out: {listed}. Each would describe fewer "
        f"than {figures.k} people."
    )


def digest_message(
    figures: Figures,
    *,
    team_name: str,
    preview: bool = False,
    chart: bool = False,
    reposted: bool = False,
    team_id: int | None = None,
) -> dict[str, Any]:
    """``{"text", "blocks"}`` for ``chat.postMessage`` (or an ephemeral preview). With
    ``team_id`` (the managers' channel post and DM copies), each shared note has a Reply
    button (:mod:`bot.core.note_replies`)."""
    week = f"{_day(figures.period_start)} – {_day(figures.period_end)}"
    answered, asked = figures.participation.answered, figures.participation.asked
    name = inert(team_name)
    intro = f"Week of {week}. Team figures only, each from at least {figures.k} people."
    if preview:
        intro = "*Preview*, only you can see this. " + intro
    if reposted:
        intro += " Posted again on request, with the figures first posted."
    blocks: list[Block] = [
        header(f"Trust digest: {inert(team_name, mrkdwn=False)}"),
        context(intro),
        section(_participation(figures)),
    ]
    text = f"Trust digest for {name}, week of {week}: {answered} of {asked} answered."
    if figures.withheld is not None:
        blocks.append(section(f"_Answers {escape(figures.withheld)}._"))
        blocks += _focus(figures.focus, figures.k) if figures.focus else []
        return {"text": text, "blocks": blocks}
    blocks.append(section(_index_text(figures)))
    goal = _goal(figures.goal_mix, figures)
    if goal is not None:
        blocks.append(goal)
    blocks += _moments(figures.moments)
    gap = _gap(figures.perception_gap)
    if gap is not None:
        blocks.append(gap)
    blocks.append(DIVIDER)
    blocks += _focus(figures.focus, figures.k)
    tail = [context(line) for line in (withheld_line(figures),) if line]
    if chart:
        tail.append(
            context("The chart below: the team index against its usual level, the focus, and "
                    "how many answered.")
        )  # fmt: skip
    room = MAX_BLOCKS - len(blocks) - len(tail)
    replies = None
    if team_id is not None:
        replies = partial(reply_ref, team_id, figures.period_start)
    blocks += _notes(figures.notes, room, replies)
    blocks += tail
    return {"text": text, "blocks": blocks[:MAX_BLOCKS]}


def team_summary_message(
    figures: Figures, *, team_name: str, rep_tip: str | None
) -> dict[str, Any]:
    """The week's team summary DM'd to each rep once the digest is out: the same anonymised
    figures the managers saw (participation, the team index, the goal mix) and the focus the
    team is working on, with the rep's own part in it. Shared notes stay in the managers'
    digest, the audience their writers chose."""
    week = f"{_day(figures.period_start)} – {_day(figures.period_end)}"
    blocks: list[Block] = [
        header(f"Your team's week: {inert(team_name, mrkdwn=False)}"),
        context(
            f"Week of {week}. What your managers saw in this week's digest: team figures "
            f"only, each from at least {figures.k} people; nobody's answers are shown."
        ),
        section(_participation(figures)),
    ]
    if figures.withheld is None:
        blocks.append(section(_index_text(figures)))
        goal = _goal(figures.goal_mix, figures)
        if goal is not None:
            blocks.append(goal)
    focus = figures.focus
    if focus is not None:
        body = f"*What the team is working on: {escape(focus.label)}*\n> {escape(focus.tip)}"
        if rep_tip:
            body += f"\n*Your part:* {escape(rep_tip)}"
        blocks.append(section(body))
    line = withheld_line(figures) if figures.withheld is None else None
    if line:
        blocks.append(context(line))
    text = f"Your team's week ({week}): {figures.participation.answered} answered."
    return {"text": text, "blocks": blocks}


def chart_filename(team_name: str, period_start: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in team_name)[:40] or "team"
    return f"trust-index-{safe}-{period_start}.png"


def chart_title(team_name: str, period_start: str) -> str:
    return f"{inert(team_name, mrkdwn=False)}: week of {_day(date.fromisoformat(period_start))}"


def chart_alt_text(figures: Figures) -> str:
    """What the chart shows, for screen readers (from the same figures)."""
    trend = figures.trend
    weeks = [v for v in trend.overall if v is not None]
    parts = ["Chart of the team's trust index (1 to 5) by week"]
    if weeks:
        parts.append(f"this week {_one(weeks[-1])}" if trend.overall[-1] is not None else "")
        usual = charts_usual(trend.overall)
        if usual is not None:
            parts.append(f"its usual level {_one(usual)}")
    focus = figures.focus
    if focus is not None:
        parts.append(
            f"focus dimension {focus.label}"
            + (f" at {_one(focus.index)}" if focus.index is not None else "")
        )
    answered = [
        f"{a} of {b}" if b else str(a)
        for a, b in zip(trend.answered, trend.asked, strict=False)
        if a is not None
    ]
    if answered:
        parts.append("answered per week: " + ", ".join(answered))
    return ("; ".join(p for p in parts if p) + ".")[:1000]
