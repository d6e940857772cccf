"""What ``trustbot demo`` prints at the end: the run as people read it in Slack.

The admin's ``/trust`` commands and their answers, the cast, one rep's DMs (the first check-in
as it was posted, then every DM as it reads now) and each weekly digest with its chart, all
rendered by :mod:`bot.demo.render` from the Block Kit the app posted; then what was written.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from bot.demo import render
from slack_emulator import SlackEmulator

if TYPE_CHECKING:
    from bot.demo.model import Coaching, Outcome


def _local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %-d %b %H:%M")


KIND_LABEL = {
    "checkin": "weekly check-in",
    "nudge": "deal nudge",
    "reminder": "reminder",
    "summary": "team summary",
    "dm": "message",
}


def report(
    console: Console,
    emu: SlackEmulator,
    names: render.Directory,
    out: Outcome,
    *,
    admin: str,
    channel: str,
) -> None:
    """Print the run as people would have read it in Slack."""
    opts = out.options
    console.print()
    console.print(
        Panel(
            Text.from_markup(
                f"[bold]Trustbot demo[/bold]: {opts.weeks} weeks, a team of {opts.team_size}, "
                f"seed {opts.seed}, {opts.transport.upper()} transport.\n"
                "Every Slack message below was posted by the real app to the local Slack "
                "emulator and is rendered from the Block Kit it sent."
            ),
            border_style="green",
        )
    )
    console.print(Rule("[bold]Setting up: the admin's /trust commands"))
    for command, body in out.setup:
        console.print(Text.from_markup(f"[bold]@{admin}[/bold] typed ", emoji=False), end="")
        console.print(render.mrkdwn(command, names, "bold cyan"))
        console.print(
            render.message(body, names, title="Trustbot (only visible to you)", border="blue")
        )

    wide = console.width >= 120
    cast = Table(title="The team: simulated reps", title_justify="left")
    cast.add_column("rep")
    cast.add_column("time zone")
    cast.add_column("persona")
    if wide:
        cast.add_column("how they behave", style="dim")
    for rep in out.reps:
        row = [f"@{rep.name}", rep.tz, rep.persona.label]
        cast.add_row(*row, *([rep.persona.summary] if wide else []))
    console.print(cast)

    rep = out.featured
    console.print(Rule(f"[bold]DMs of @{rep.name} ({rep.persona.label}, {rep.tz})"))
    if out.first_checkin is not None:
        console.print(
            Text(
                "The first check-in as it arrived, before any click (later messages are shown "
                "as they read now, after the rep's clicks):",
                style="dim",
            )
        )
        console.print(
            render.message(out.first_checkin, names, title="Trustbot · as posted", border="cyan")
        )
    for message in emu.dm_messages(rep.user_id):
        seen = out.seen.get(str(message["ts"]))
        when = _local(seen.at, rep.tz) if seen else ""
        kind = KIND_LABEL.get(seen.kind if seen else "dm", "message")
        console.print(
            render.message(message, names, title=f"Trustbot · {kind}", subtitle=f"{when} local")
        )

    if out.coaching is not None:
        coaching(console, out.coaching)
    if out.home is not None:
        shown, view = out.home
        console.print(
            Rule(f"[bold]The rep's own page: @{shown.name}'s App Home ({shown.persona.label})")
        )
        console.print(
            Text(
                "Their behaviour trends against their own baseline, the trust evidence they "
                f"logged per deal, their blind spot and a practice for next week ({shown.tz}):",
                style="dim",
            )
        )
        console.print(
            render.message(
                view, names, title=f"Trustbot · App Home of @{shown.name}", border="cyan"
            )
        )
    follow_through(console, names, out)

    if out.manager_checkin is not None:
        console.print(Rule("[bold]The manager's own check-in (the latest, after their clicks)"))
        found = emu.message(*out.manager_checkin)
        if found is not None:
            console.print(render.message(found, names, title="Trustbot · manager check-in"))

    console.print(Rule(f"[bold]Weekly digests in #{channel}"))
    files = {str(f.get("id")): f for f in emu.files}
    for digest in out.digests:
        posted = emu.message(digest.channel, digest.ts)
        if posted is None:
            continue
        extra: list[RenderableType] = []
        file = files.get(digest.file_id or "")
        if file is not None:
            extra.append(
                Text(
                    f"📈 {file.get('title') or file.get('name')} "
                    f"→ {opts.out / Path(str(file.get('name'))).name}",
                    style="green",
                )
            )
        console.print(
            render.message(
                posted,
                names,
                title=f"#{channel} · Trustbot",
                subtitle=digest.at.strftime("%a %-d %b %Y %H:%M UTC"),
                extra=extra,
                border="yellow",
            )
        )
    if not out.digests:
        console.print(Text("No digest was posted.", style="bold red"))

    console.print(Rule("[bold]Output"))
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    stats = out.stats
    summary.add_row("answers stored", f"{stats.get('answers', 0)} (pseudonymous)")
    summary.add_row("  from deal nudges", str(stats.get("nudge_answers", 0)))
    summary.add_row(
        "notes", f"{stats.get('notes', 0)}, {stats.get('shared_notes', 0)} shared anonymously"
    )
    summary.add_row("clicks", str(out.clicks))
    summary.add_row(
        "DMs", ", ".join(f"{n} {k}" for k, n in sorted(stats.get("deliveries", {}).items()))
    )
    summary.add_row(
        "deal webhook",
        ", ".join(f"{n}× HTTP {s}" for s, n in out.webhook_statuses.items()) or "not called",
    )
    events = stats.get("deal_events", {})
    if events:
        summary.add_row("deal updates", ", ".join(f"{n} {s}" for s, n in sorted(events.items())))
    summary.add_row("digests", str(len(out.digests)))
    summary.add_row("charts", "\n".join(str(p) for p in out.charts) or "none")
    summary.add_row("transcript", str(opts.out / "transcript.jsonl"))
    summary.add_row("database", str(opts.out / "trustbot.db"))
    summary.add_row("log", str(opts.out / "trustbot.log"))
    summary.add_row("time", f"{out.elapsed:.1f} s")
    console.print(summary)
    if out.warnings:
        console.print(
            Panel(
                Group(*(Text(f"• {w}") for w in out.warnings)),
                title="Warnings",
                border_style="red",
            )
        )


def _trend(points: list[tuple[date, float]]) -> str:
    return " → ".join(f"{p:.2f}" for _, p in points) or "no scored answers yet"


def follow_through(console: Console, names: render.Directory, out: Outcome) -> None:
    """Issue #19 in the run: a rep acting on a nudge with one click, and what was posted."""
    console.print(Rule("[bold]Follow-through: from reflection to action"))
    shown = out.follow_through
    if shown is None:
        console.print(Text("No nudge in this run offered to flag a commitment.", style="dim"))
        return
    console.print(
        Text(
            f"@{shown.rep} answered a nudge ({shown.deal_moment}), clicked "
            f"“{shown.label}”, wrote what they promised, and Trustbot posted it, in their "
            "words, where delivery can see it:"
        )
    )
    console.print(render.message(shown.posted, names, title="Trustbot · in #delivery"))


def coaching(console: Console, shown: Coaching) -> None:
    """Issue #17 in the run: the weekly questions (at most five, different every week, the
    same for everyone), reps who qualified out or admitted a risk and what they read back,
    with their behaviour trend unchanged, and seed 000's verdicts against outcomes."""
    console.print(Rule("[bold]Coach, don't judge"))
    weeks = Table(
        title="Weekly check-in: the questions each week (the same for everyone; plus the "
        "optional note)",
        title_justify="left",
    )
    weeks.add_column("week of")
    weeks.add_column("n", justify="right")
    weeks.add_column("questions (prompt ids; the first is asked about a deal the rep touched)")
    for week, ids in shown.weeks:
        weeks.add_row(f"{week:%-d %b}", str(len(ids)), ", ".join(ids))
    console.print(weeks)
    distinct = len({tuple(ids) for _, ids in shown.weeks})
    console.print(
        Text(
            f"{distinct} different check-ins in {len(shown.weeks)} weeks; at most "
            f"{max((len(ids) for _, ids in shown.weeks), default=0)} questions each.",
            style="dim",
        )
    )
    for case in shown.candor:
        lines = [
            Text.from_markup(
                f"[bold]@{case.rep}[/bold] on [bold]{case.deal}[/bold] ({case.moment})",
                emoji=False,
            )
        ]
        for question, answer, score in case.answers:
            scored = "scored " + score if score else "not scored"
            lines.append(Text(f"  {question} → {answer}  ({scored})"))
        if case.verdict:
            lines.append(Text(f"  Verdict: {case.verdict}", style="bold"))
        lines.append(Text(f"  💡 {case.feedback}"))
        lines.append(Text(f"  👉 Next: {case.next_step}", style="green"))
        same = "unchanged" if case.trend == case.trend_without else "CHANGED"
        lines.append(
            Text(
                f"  Their behaviour trend: {_trend(case.trend)} "
                f"({same} without these answers: {_trend(case.trend_without)})",
                style="dim",
            )
        )
        console.print(Panel(Group(*lines), border_style="green", title="Candor, not a score"))
    if not shown.candor:
        console.print(Text("No rep qualified out or admitted a risk in this run.", style="dim"))
    table = Table(
        title="Seed 000's verdicts on new deals, against what became of them",
        title_justify="left",
    )
    outcomes = list(next(iter(shown.verdicts.values()), {}))
    table.add_column("verdict")
    for outcome in outcomes:
        table.add_column(outcome.replace("_", " "), justify="right")
    for verdict, counts in shown.verdicts.items():
        table.add_row(verdict.replace("_", " "), *(str(counts[o]) for o in outcomes))
    console.print(table)
    if shown.outcomes:
        console.print(Text(f"/trust status › {shown.outcomes}", style="bold"))
