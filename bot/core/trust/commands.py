"""What each ``/trust`` command does, for a caller. Plain Python: the Slack listener only
gathers who is asking and renders the outcome.

A handler returns a :class:`Reply` (mrkdwn for the caller, with every name or value that came
from outside marked by :func:`~bot.core.untrusted.mark` for the Slack layer to render inert),
or, for the commands that go beyond text, a typed request the Slack layer carries out
(:class:`OpenSetup`, :class:`ShowDigest`, :class:`ShowRollup`, :class:`SendExport`, :class:`ShowMe`,
:class:`ConfirmForget`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlmodel import select

from bot.core import admins, audit, checkins, deals, digests, outbox, people, rotation, teams
from bot.core.deals import outcomes, stage_map
from bot.core.prompts import default_bank
from bot.core.teams import WEEKDAYS
from bot.core.trust.grammar import Command
from bot.core.untrusted import mark
from bot.runtime import Runtime
from bot.storage.models import PromptSetting, Team


@dataclass(frozen=True)
class Caller:
    workspace_id: str
    user_id: str
    is_admin: bool


@dataclass(frozen=True)
class Reply:
    """Text for the caller; ``ok=False`` is a refusal (shown with the right form)."""

    text: str
    ok: bool = True
    usage: str | None = None
    learn_timezones: tuple[str, ...] = ()  # users whose time zone to ask Slack for at once


@dataclass(frozen=True)
class OpenSetup:
    """Open the setup modal."""


@dataclass(frozen=True)
class ShowDigest:
    """Post the team's digest (``mode="now"``) or preview it to the caller."""

    team: str
    mode: str


@dataclass(frozen=True)
class ShowRollup:
    """Show the caller (an admin) the leadership roll-up across teams, privately."""


@dataclass(frozen=True)
class SendExport:
    """Upload the caller's own answers as CSV to their DM."""


@dataclass(frozen=True)
class ShowMe:
    """Show the caller their own page (:mod:`bot.core.rep_page`), in their time zone."""


@dataclass(frozen=True)
class ConfirmForget:
    """Ask the caller to confirm forget-me (a button with Slack's confirm dialog)."""


Outcome = Reply | OpenSetup | ShowDigest | ShowRollup | SendExport | ShowMe | ConfirmForget
Handler = Callable[[Runtime, Caller, Command], Awaitable[Outcome]]
ON, OFF = ":white_check_mark:", ":no_entry_sign:"


def mentions(users: list[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users) or "nobody"


async def team_create(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    team = await teams.create(
        rt.db, c.workspace_id, c.user_id, cmd.args["team"], cmd.args["channel"], rt.clock
    )
    return Reply(
        f"Team `{mark(team.name)}` created; its digest goes to <#{team.channel_id}>. "
        f"Next: `/trust team add {mark(team.name)} @rep ...` and "
        f"`/trust team manager {mark(team.name)} @manager`."
    )


async def team_people(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    role = teams.MANAGER if cmd.name == "team manager" else teams.REP
    added = await teams.add_people(
        rt.db, c.workspace_id, c.user_id, cmd.args["team"], cmd.args["users"], role, rt.clock
    )
    already = [u for u in cmd.args["users"] if u not in added]
    text = f"Added to `{mark(cmd.args['team'])}` as {role}s: {mentions(added)}."
    if already:
        text += f" Already there: {mentions(already)}."
    # a rep's time zone is known before the admin reads "Added"
    return Reply(text, learn_timezones=tuple(cmd.args["users"]) if role == teams.REP else ())


async def team_remove(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    removed = await teams.remove_people(
        rt.db, c.workspace_id, c.user_id, cmd.args["team"], cmd.args["users"], rt.clock
    )
    missing = [u for u in cmd.args["users"] if u not in removed]
    text = f"Removed from `{mark(cmd.args['team'])}`: {mentions(removed)}."
    if missing:
        text += f" Not in the team: {mentions(missing)}."
    return Reply(text)


async def team_list(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    found = await teams.summaries(rt.db, c.workspace_id)
    if not found:
        return Reply("No teams yet. Create one with `/trust team create <team> <#channel>`.")
    lines = []
    for s in found:
        state = " (paused)" if s.team.paused else ""
        lines.append(
            f"*{mark(s.team.name)}*{state} → <#{s.team.channel_id}> · check-in {s.schedule}"
            f" · k={s.team.k}\n"
            f"  reps ({len(s.reps)}): {mentions(s.reps)}\n  managers: {mentions(s.managers)}"
        )
    return Reply("\n".join(lines))


async def set_schedule(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    team = await teams.update(
        rt.db,
        c.workspace_id,
        c.user_id,
        cmd.args["team"],
        rt.clock,
        checkin_weekday=cmd.args["weekday"],
        checkin_time=cmd.args["time"],
    )
    return Reply(
        f"`{mark(team.name)}` checks in every {WEEKDAYS[team.checkin_weekday]} at "
        f"{team.checkin_time}, each rep in their own time zone."
    )


async def set_anonymity(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    team = await teams.update(
        rt.db, c.workspace_id, c.user_id, cmd.args["team"], rt.clock, k=cmd.args["k"]
    )
    return Reply(
        f"`{mark(team.name)}` digests now show a figure only when at least {team.k} people "
        "answered."
    )


async def set_delivery(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    channel = cmd.args["channel"]
    team = await teams.update(
        rt.db, c.workspace_id, c.user_id, cmd.args["team"], rt.clock, delivery_channel_id=channel
    )
    if channel is None:
        return Reply(f"`{mark(team.name)}` reps can no longer post commitments to a channel.")
    return Reply(
        f"`{mark(team.name)}` reps can now flag a commitment, or hand over a won deal, to "
        f"<#{channel}> from a deal nudge, in their own words and only if they choose. "
        "Invite me there (`/invite @Trustbot`) so I can post."
    )


async def pause(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    paused = cmd.name == "pause"
    team = await teams.update(
        rt.db, c.workspace_id, c.user_id, cmd.args["team"], rt.clock, paused=paused
    )
    return Reply(
        f"`{mark(team.name)}` is {'paused: no check-ins or nudges' if paused else 'running again'}."
    )


async def checkin_now(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    async with rt.db.session() as session:
        team = await teams.find(session, c.workspace_id, cmd.args["team"])
    if team.paused:
        return Reply(
            f"`{mark(team.name)}` is paused: `/trust resume {mark(team.name)}` first.", ok=False
        )
    now = rt.clock.now()
    period = checkins.week_start(now.astimezone(checkins.zone(team.timezone)).date())
    plan = await checkins.plan_round(rt, default_bank(), team, period, now=True)
    if not plan.created:
        return Reply(
            f"This week's check-in for `{mark(team.name)}` was already planned or sent; "
            "each rep gets one a week.",
            ok=False,
        )
    if plan.deliveries == 0:
        return Reply(
            f"`{mark(team.name)}` has no reps yet: `/trust team add {mark(team.name)} @rep ...`."
        )
    return Reply(
        f"Sending this week's check-in to the {plan.deliveries} reps of `{mark(team.name)}` now."
    )


async def admin_grant(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    user = cmd.args["user"]
    if cmd.args["action"] == "add":
        added = await admins.add(rt.db, c.workspace_id, c.user_id, user, rt.clock)
        return Reply(f"<@{user}> is {'now' if added else 'already'} a Trustbot admin.")
    await admins.remove(
        rt.db, c.workspace_id, c.user_id, user, rt.clock, rt.settings.TRUSTBOT_ADMINS
    )
    return Reply(f"<@{user}> is no longer a Trustbot admin.")


async def prompt_settings(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    bank = default_bank()
    async with rt.db.session() as session:
        settings = {
            s.prompt_id: s
            for s in (
                await session.exec(
                    select(PromptSetting).where(PromptSetting.workspace_id == c.workspace_id)
                )
            ).all()
        }
        defaults = set(bank.default_checkin_ids())
        enabled = {
            p.id
            for p in bank.checkin_prompts()
            if (settings[p.id].enabled if p.id in settings else p.id in defaults)
        }
        if cmd.args["action"] == "list":
            lines = [
                f"{ON if p.id in enabled else OFF} `{p.id}` ({p.dimension}, {p.measures}) {p.text}"
                for p in bank.checkin_prompts()
            ]
            return Reply(
                "*Weekly check-in prompts*\n"
                + "\n".join(lines)
                + f"\n{rotation.describe(bank, enabled)} Only behaviour prompts are scored."
            )
        prompt_id = cmd.args["prompt"]
        if not bank.has_prompt(prompt_id) or prompt_id not in {
            p.id for p in bank.checkin_prompts()
        }:
            return Reply(
                f"There is no check-in prompt `{mark(prompt_id)}`. See `/trust prompts list`.",
                ok=False,
            )
        enabled_now = cmd.args["action"] == "enable"
        row = settings.get(prompt_id) or PromptSetting(
            workspace_id=c.workspace_id,
            prompt_id=prompt_id,
            changed_by=c.user_id,
            changed_at=rt.clock.now(),
        )
        row.enabled, row.changed_by, row.changed_at = enabled_now, c.user_id, rt.clock.now()
        session.add(row)
        audit.record(
            session,
            c.workspace_id,
            c.user_id,
            f"prompt.{cmd.args['action']}",
            rt.clock,
            prompt=prompt_id,
        )
    after = enabled | {prompt_id} if enabled_now else enabled - {prompt_id}
    return Reply(rotation.describe_change(bank, enabled, after, prompt_id))


async def stage_mapping(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    """``/trust stages``: show, map or unmap what a CRM stage means (bad input raises
    :class:`~bot.core.deals.stage_map.StageMapError`, which the registry answers)."""
    args = cmd.args
    if args["action"] == "map":
        done = await stage_map.map_stage(
            rt, c.workspace_id, c.user_id, args["pipeline"], args["stage"], args["moment"]
        )
        return Reply(
            f"{done.pipeline} stage _{mark(done.stage)}_ now means "
            f"*{stage_map.SHOWN[done.kind]}* for new updates (the name alone read as "
            f"{done.guessed.value}). What the CRM says (won, closed) still wins."
        )
    if args["action"] == "unmap":
        gone = await stage_map.unmap_stage(
            rt, c.workspace_id, c.user_id, args["pipeline"], args["stage"]
        )
        name = mark(stage_map.check_stage(args["stage"]))
        if not gone:
            return Reply(
                f"There is no mapping of _{name}_ for {args['pipeline'].lower()}: "
                "see `/trust stages`.",
                ok=False,
            )
        return Reply(f"_{name}_ is read by its name again.")
    found = await stage_map.listed(rt, c.workspace_id)
    if not found:
        return Reply(
            "No stage mappings: every stage is read by its name. Map one the names cannot "
            'tell, e.g. `/trust stages map salesforce "Technical Win" evaluation`.'
        )
    lines = [
        f"• {m.pipeline}: _{mark(m.stage)}_ → *{stage_map.SHOWN[m.kind]}* "
        f"(by its name: {m.guessed.value})"
        for m in found
    ]
    return Reply("*Stage mappings*\n" + "\n".join(lines))


STATUS_TEAMS = 30
"""Teams listed one by one in ``/trust status`` (a big org's list would bury the rest)."""


async def show_status(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    found = await teams.overview(rt.db, c.workspace_id, limit=STATUS_TEAMS)
    total = await teams.count(rt.db, c.workspace_id)
    extra = await admins.listed(rt.db, c.workspace_id)
    async with rt.db.session() as session:
        log = await audit.recent(session, c.workspace_id)
    now = rt.clock.now()
    lines = [f"*Teams*: {total}"]
    lines += [
        f"• {mark(s.team.name)}{' (paused)' if s.team.paused else ''}: {s.reps} reps, "
        f"{s.managers} managers, check-in {s.schedule}"
        + (
            ""
            if s.team.paused
            else f"; next from {checkins.next_checkin(s.team, now):%a %d %b %H:%M} UTC"
        )
        for s in found
    ]
    if total > len(found):
        lines.append(f"• … and {total - len(found)} more: `/trust team list`")
    lines += await _outcome_lines(rt, [s.team for s in found])
    counts = await outbox.counts(rt.db, c.workspace_id)
    shown = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "none yet"
    lines.append(f"*Deliveries*: {shown}")
    for failed in await outbox.recent_failures(rt.db, c.workspace_id):
        lines.append(
            f"• failed: DM to <@{failed.user_id}> ({failed.kind}): {mark(failed.last_error)}"
        )
    hours = int(checkins.MISSED_GRACE.total_seconds() // 3600)
    lines += [
        f"• missed: {m.skipped} check-in{'s' if m.skipped != 1 else ''} of `{mark(m.team)}` "
        f"(week of {m.period_start:%d %b}) skipped: the slot passed while Trustbot was down, "
        f"more than {hours} h before it was back"
        for m in await checkins.missed_rounds(rt, c.workspace_id)
    ]
    stopped = await digests.unpostable(rt, c.workspace_id)
    if stopped:
        lines.append("*Digests Slack would not take*")
        lines += [
            f"• `{mark(u.team_name)}`, week of {u.period_start:%d %b}, in <#{u.channel_id}>: "
            f"{u.error}: {digests.what_to_do(u.error, mark(u.team_name))}"
            for u in stopped
        ]
    unknown = await deals.unknown_reps(rt, c.workspace_id)
    if unknown.total:
        lines.append(f"*Deal updates with an unknown rep*: {unknown.total}")
        lines += [f"• {u.received_at:%Y-%m-%d %H:%M} UTC {u.label}" for u in unknown.recent]
    lines.append(
        "*Admins* (besides workspace admins): "
        + mentions(sorted({*rt.settings.TRUSTBOT_ADMINS, *extra}))
    )
    lines.append("*Recent admin changes*")
    lines += [
        f"• {e.at:%Y-%m-%d %H:%M} UTC {_who(e.actor)} {e.action} {_detail(e.detail)}" for e in log
    ] or ["• none yet"]
    return Reply("\n".join(lines))


async def _outcome_lines(rt: Runtime, shown: list[Team]) -> list[str]:
    """Each team's win and slip rates by verdict and trust evidence, where it has deals with
    a seed 000 verdict (:func:`~bot.core.deals.outcomes.team_outcomes`: k applies)."""
    lines = []
    for team in shown:
        found = await outcomes.team_outcomes(rt, team)
        if found.deals:
            lines.append(f"• {mark(team.name)}: {outcomes.summary(found)}")
    return ["*Does trust pay?* (deals decided with seed 000's questions)", *lines] if lines else []


def _who(user_id: str) -> str:
    return f"<@{user_id}>" if user_id[:1] in ("U", "W") else user_id


def _detail(detail: dict[str, object]) -> str:
    return " ".join(f"{k}={mark(v)}" for k, v in detail.items() if k not in ("before",))


async def show_me(rt: Runtime, c: Caller, cmd: Command) -> Outcome:
    return ShowMe()


async def snooze_me(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    until = await people.snooze(rt.db, c.workspace_id, c.user_id, cmd.args["days"], rt.clock)
    local = until.astimezone(
        checkins.zone(await people.timezone_of(rt.db, c.workspace_id, c.user_id))
    )
    return Reply(
        f"Snoozed: no check-ins or nudges until {local:%a} {local.day} {local:%b %H:%M %Z}."
    )


async def opt_in_out(rt: Runtime, c: Caller, cmd: Command) -> Reply:
    out = cmd.name == "optout"
    await people.set_opted_out(rt.db, rt.pseudonyms, c.workspace_id, c.user_id, out)
    if out:
        return Reply(
            "You have opted out: no more check-ins or nudges. `/trust optin` brings them back."
        )
    return Reply("Welcome back: you will get the next check-in.")


async def setup(rt: Runtime, c: Caller, cmd: Command) -> Outcome:
    return OpenSetup()


async def digest(rt: Runtime, c: Caller, cmd: Command) -> Outcome:
    if cmd.args["mode"] == "to":
        team = await teams.update(
            rt.db, c.workspace_id, c.user_id, cmd.args["team"], rt.clock, digest_to=cmd.args["to"]
        )
        where = {
            "channel": "to its channel",
            "dm": "to its managers by DM (not to the channel)",
            "both": "to its channel and to its managers by DM",
        }[team.digest_to]
        return Reply(f"`{mark(team.name)}`'s digest now goes {where}.")
    if cmd.args["mode"] != "at":
        return ShowDigest(team=cmd.args["team"], mode=cmd.args["mode"])
    changes: dict[str, object] = {
        "digest_weekday": cmd.args["weekday"],
        "digest_time": cmd.args["time"],
    }
    if cmd.args.get("timezone"):
        changes["timezone"] = cmd.args["timezone"]
    team = await teams.update(
        rt.db, c.workspace_id, c.user_id, cmd.args["team"], rt.clock, **changes
    )
    return Reply(
        f"`{mark(team.name)}`'s digest is posted every {WEEKDAYS[team.digest_weekday]} at "
        f"{team.digest_time} {team.timezone} (the team's time zone), for the week before, "
        "once its check-ins have closed."
    )


async def rollup(rt: Runtime, c: Caller, cmd: Command) -> Outcome:
    return ShowRollup()


async def export(rt: Runtime, c: Caller, cmd: Command) -> Outcome:
    return SendExport()


async def forget_me(rt: Runtime, c: Caller, cmd: Command) -> Outcome:
    return ConfirmForget()
