"""Every ``/trust`` command in one table: its words, usage, who may run it, what it does, how
its arguments are read, what carries it out, and whether it changes the caller's App Home.

``parse`` turns the text Slack sends into a :class:`~bot.core.trust.grammar.Command` (or a
:class:`~bot.core.trust.grammar.CommandError` saying what was wrong and showing the right
form); ``execute`` runs it for a caller. The Slack listener (``handlers/commands.py``) only
acks, asks who is calling and renders the outcome.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from bot.core import admins, teams
from bot.core.anonymity import K_FLOOR
from bot.core.deals import stage_map
from bot.core.trust import commands as run
from bot.core.trust import grammar
from bot.core.trust.commands import Caller, Handler, Outcome, Reply
from bot.core.trust.grammar import Args, Command, CommandError, shown, tokenize
from bot.runtime import Runtime

__all__ = ["COMMANDS", "USAGE", "Spec", "execute", "parse", "spec"]


@dataclass(frozen=True)
class Spec:
    """One ``/trust`` command."""

    words: str  # "team add"
    usage: str  # "/trust team add <team> <@user>..."
    admin: bool  # admins only
    summary: str  # for /trust help
    args: Callable[[str, list[str]], Args]  # (usage, tokens after the words) -> arguments
    run: Handler | None  # None: answered by the listener itself (help)
    refreshes_home: bool = False  # the caller's App Home shows what it changed


COMMANDS: tuple[Spec, ...] = (
    Spec("help", "/trust help", False, "this list", grammar.no_args, None),
    Spec(
        "setup", "/trust setup", True, "create or edit a team in a form", grammar.no_args, run.setup
    ),
    Spec(
        "team create",
        "/trust team create <team> <#channel>",
        True,
        "a team and its digest channel",
        grammar.team_and_channel,
        run.team_create,
    ),
    Spec(
        "team add",
        "/trust team add <team> <@user>...",
        True,
        "add reps to a team",
        grammar.team_and_people,
        run.team_people,
    ),
    Spec(
        "team manager",
        "/trust team manager <team> <@user>...",
        True,
        "add managers to a team",
        grammar.team_and_people,
        run.team_people,
    ),
    Spec(
        "team remove",
        "/trust team remove <team> <@user>...",
        True,
        "take people out of a team",
        grammar.team_and_people,
        run.team_remove,
    ),
    Spec(
        "team list",
        "/trust team list",
        True,
        "every team with its people and schedule",
        grammar.no_args,
        run.team_list,
    ),
    Spec(
        "schedule",
        "/trust schedule <team> <mon..sun> <HH:MM>",
        True,
        "weekly check-in, rep-local",
        grammar.schedule,
        run.set_schedule,
    ),
    Spec(
        "anonymity",
        "/trust anonymity <team> <k>",
        True,
        f"respondents before a figure shows (k ≥ {K_FLOOR})",
        grammar.anonymity,
        run.set_anonymity,
    ),
    Spec(
        "checkin",
        "/trust checkin <team> now",
        True,
        "send this week's check-in now",
        grammar.team_and_mode("now"),
        run.checkin_now,
    ),
    Spec(
        "digest",
        "/trust digest <team> now|preview|at <mon..sun> <HH:MM> [<time zone>]|to channel|dm|both",
        True,
        "post the digest, preview it privately, set when and where it is posted",
        grammar.digest,
        run.digest,
    ),
    Spec(
        "rollup",
        "/trust rollup",
        True,
        "every team at once: participation, trust index, focus (private)",
        grammar.no_args,
        run.rollup,
    ),
    Spec(
        "pause",
        "/trust pause <team>",
        True,
        "stop check-ins and nudges for a team",
        grammar.team_only,
        run.pause,
    ),
    Spec("resume", "/trust resume <team>", True, "start them again", grammar.team_only, run.pause),
    Spec(
        "admin",
        "/trust admin add|remove <@user>",
        True,
        "grant or revoke admin",
        grammar.admin,
        run.admin_grant,
    ),
    Spec(
        "prompts",
        "/trust prompts list|enable <id>|disable <id>",
        True,
        "the question bank",
        grammar.prompts,
        run.prompt_settings,
    ),
    Spec(
        "delivery",
        "/trust delivery <team> <#channel>|off",
        True,
        "where reps may flag commitments and hand over won deals",
        grammar.delivery,
        run.set_delivery,
    ),
    Spec(
        "stages",
        "/trust stages [map <crm> <stage> <moment> | unmap <crm> <stage>]",
        True,
        "what CRM stages mean, for names Trustbot cannot guess",
        grammar.stages,
        run.stage_mapping,
    ),
    Spec(
        "status",
        "/trust status",
        True,
        "schedules, deliveries, errors and the audit log",
        grammar.no_args,
        run.show_status,
    ),
    Spec(
        "me",
        "/trust me",
        False,
        "your own page: trends, evidence, blind spot",
        grammar.no_args,
        run.show_me,
    ),
    Spec(
        "snooze",
        "/trust snooze <days>",
        False,
        "no check-ins or nudges for a while (1-90 days)",
        grammar.snooze,
        run.snooze_me,
        refreshes_home=True,
    ),
    Spec(
        "optout",
        "/trust optout",
        False,
        "stop all check-ins and nudges",
        grammar.no_args,
        run.opt_in_out,
        refreshes_home=True,
    ),
    Spec(
        "optin",
        "/trust optin",
        False,
        "start them again",
        grammar.no_args,
        run.opt_in_out,
        refreshes_home=True,
    ),
    Spec(
        "export", "/trust export", False, "a CSV of your own answers", grammar.no_args, run.export
    ),
    Spec(
        "forget-me",
        "/trust forget-me",
        False,
        "delete everything about you (asks first)",
        grammar.no_args,
        run.forget_me,
    ),
)
_BY_WORDS = {s.words: s for s in COMMANDS}
USAGE = {s.words: s.usage for s in COMMANDS}
HELP_WORDS = ("help", "?", "-h", "--help")
TEAM_USAGE = "\n".join(s.usage for s in COMMANDS if s.words.startswith("team "))


def spec(command: Command) -> Spec:
    return _BY_WORDS[command.name]


def parse(text: str) -> Command:
    """Parse the text after ``/trust``. Raises :class:`CommandError` on bad input."""
    tokens = tokenize(text)
    if not tokens or tokens[0].lower() in HELP_WORDS:
        return Command("help")
    word, rest = tokens[0].lower(), tokens[1:]
    if word == "team":
        if not rest:
            raise CommandError("Which team command?", TEAM_USAGE)
        word, rest = f"team {rest[0].lower()}", rest[1:]
        if word not in _BY_WORDS:
            raise CommandError(f"`team {shown(tokens[1])}` is not a team command.", TEAM_USAGE)
    found = _BY_WORDS.get(word)
    if found is None:
        raise CommandError(f"I don't know `{shown(tokens[0])}`.{_suggest(word)}")
    return Command(found.words, found.args(found.usage, rest))


def _suggest(word: str) -> str:
    heads = sorted({w.split()[0] for w in _BY_WORDS} | {w.split()[-1] for w in _BY_WORDS})
    close = difflib.get_close_matches(word, heads, n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else " Try `/trust help`."


async def execute(runtime: Runtime, caller: Caller, command: Command) -> Outcome:
    """Run ``command``; a refused one (not an admin, a bad team) comes back as a ``Reply``
    with ``ok=False``."""
    entry = spec(command)
    if entry.admin and not caller.is_admin:
        return Reply(
            f"`/trust {command.name}` is for Trustbot admins, and you are not one. "
            "Ask an admin, or a workspace admin, to run it.",
            ok=False,
        )
    if entry.run is None:
        raise ValueError(f"/trust {command.name} is answered by the listener")
    try:
        return await entry.run(runtime, caller, command)
    except (teams.TeamError, admins.AdminError, stage_map.StageMapError) as error:
        return Reply(str(error), ok=False, usage=entry.usage)
