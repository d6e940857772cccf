"""The ``/trust`` grammar: turn the text Slack sends into a :class:`Command`, or explain what
was wrong. Plain Python; Slack's escaping (``<@U123|ana>``, ``<#C123|sales>``) is parsed here."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
K_FLOOR = 3
USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
CHANNEL = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$")
TEAM_NAME = re.compile(r"^[^\s<>@#|]{1,80}$")
HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
PROMPT_ID = re.compile(r"^[a-z0-9_.\-]{1,80}$")

# (words, usage, admin only, what it does)
GRAMMAR: tuple[tuple[str, str, bool, str], ...] = (
    ("help", "/trust help", False, "this list"),
    ("setup", "/trust setup", True, "create or edit a team in a form"),
    ("team create", "/trust team create <team> <#channel>", True, "a team and its digest channel"),
    ("team add", "/trust team add <team> <@user>...", True, "add reps to a team"),
    ("team manager", "/trust team manager <team> <@user>...", True, "add managers to a team"),
    ("team remove", "/trust team remove <team> <@user>...", True, "take people out of a team"),
    ("team list", "/trust team list", True, "every team with its people and schedule"),
    ("schedule", "/trust schedule <team> <mon..sun> <HH:MM>", True, "weekly check-in, rep-local"),
    (
        "anonymity",
        "/trust anonymity <team> <k>",
        True,
        f"respondents before a figure shows (k ≥ {K_FLOOR})",
    ),
    ("checkin", "/trust checkin <team> now", True, "send this week's check-in now"),
    (
        "digest",
        "/trust digest <team> now|preview",
        True,
        "post the digest, or preview it privately",
    ),
    ("pause", "/trust pause <team>", True, "stop check-ins and nudges for a team"),
    ("resume", "/trust resume <team>", True, "start them again"),
    ("admin", "/trust admin add|remove <@user>", True, "grant or revoke admin"),
    ("prompts", "/trust prompts list|enable <id>|disable <id>", True, "the question bank"),
    ("status", "/trust status", True, "schedules, deliveries, errors and the audit log"),
    ("me", "/trust me", False, "your own check-ins and trend"),
    ("snooze", "/trust snooze <days>", False, "no check-ins or nudges for a while (1-90 days)"),
    ("optout", "/trust optout", False, "stop all check-ins and nudges"),
    ("optin", "/trust optin", False, "start them again"),
    ("export", "/trust export", False, "a CSV of your own answers"),
    ("forget-me", "/trust forget-me", False, "delete everything about you (asks first)"),
)
USAGE = {words: usage for words, usage, _, _ in GRAMMAR}
ADMIN_ONLY = {words for words, _, admin, _ in GRAMMAR if admin}


class CommandError(ValueError):
    """Bad input: ``message`` says what was wrong, ``usage`` shows the right form."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class Command:
    """A parsed ``/trust`` command. ``name`` is a key of :data:`USAGE`."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def admin_only(self) -> bool:
        return self.name in ADMIN_ONLY


def tokenize(text: str) -> list[str]:
    """Split like a shell, tolerating curly quotes and an unbalanced quote."""
    cleaned = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'")
    cleaned = cleaned.replace("\u2019", "'").replace("\u00a0", " ").strip()
    try:
        return shlex.split(cleaned)
    except ValueError:
        raise CommandError("There is a quote that is never closed.") from None


def parse(text: str) -> Command:
    """Parse the text after ``/trust``. Raises :class:`CommandError` on bad input."""
    tokens = tokenize(text)
    if not tokens:
        return Command("help")
    word = tokens[0].lower()
    rest = tokens[1:]
    if word in ("help", "?", "-h", "--help"):
        return Command("help")
    if word == "team":
        return _team(rest)
    parser = _PARSERS.get(word)
    if parser is None:
        raise CommandError(f"I don't know `{_shown(tokens[0])}`.{_suggest(word)}")
    return parser(word, rest)


def _shown(token: str) -> str:
    return token.replace("`", "'")[:40]


def _suggest(word: str) -> str:
    import difflib

    heads = sorted({w.split()[0] for w in USAGE} | {w.split()[-1] for w in USAGE})
    close = difflib.get_close_matches(word, heads, n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else " Try `/trust help`."


def _arity(name: str, rest: list[str], count: int) -> None:
    if len(rest) < count:
        raise CommandError("Something is missing.", USAGE[name])
    if len(rest) > count:
        extra = " ".join(_shown(t) for t in rest[count : count + 5])
        more = " …" if len(rest) > count + 5 else ""  # a huge paste is not echoed back whole
        raise CommandError(f"I didn't expect `{extra}`{more}.", USAGE[name])


def team_name(token: str, name: str) -> str:
    if not TEAM_NAME.match(token):
        raise CommandError(
            f"`{_shown(token)}` is not a team name: use up to 80 letters, digits or dashes, "
            "no spaces, mentions or channels.",
            USAGE[name],
        )
    return token


def user_id(token: str, name: str) -> str:
    m = USER.match(token)
    if not m:
        raise CommandError(
            f"`{_shown(token)}` is not a person: mention them, like @ana.", USAGE[name]
        )
    return m.group(1)


def channel_id(token: str, name: str) -> str:
    m = CHANNEL.match(token)
    if not m:
        raise CommandError(
            f"`{_shown(token)}` is not a channel: pick one with #, like #sales-managers.",
            USAGE[name],
        )
    return m.group(1)


def _team(rest: list[str]) -> Command:
    if not rest:
        raise CommandError(
            "Which team command?", "\n".join(u for w, u in USAGE.items() if w.startswith("team "))
        )
    sub = rest[0].lower()
    name = f"team {sub}"
    if name not in USAGE:
        raise CommandError(
            f"`team {_shown(rest[0])}` is not a team command.",
            "\n".join(u for w, u in USAGE.items() if w.startswith("team ")),
        )
    args = rest[1:]
    if sub == "list":
        _arity(name, args, 0)
        return Command(name)
    if sub == "create":
        _arity(name, args, 2)
        return Command(
            name, {"team": team_name(args[0], name), "channel": channel_id(args[1], name)}
        )
    if len(args) < 2:
        raise CommandError("Name the team and at least one person.", USAGE[name])
    users = list(dict.fromkeys(user_id(t, name) for t in args[1:]))
    return Command(name, {"team": team_name(args[0], name), "users": users})


def _plain(word: str, rest: list[str]) -> Command:
    _arity(word, rest, 0)
    return Command(word)


def _team_only(word: str, rest: list[str]) -> Command:
    _arity(word, rest, 1)
    return Command(word, {"team": team_name(rest[0], word)})


def _schedule(word: str, rest: list[str]) -> Command:
    _arity(word, rest, 3)
    day = rest[1].lower()
    if day in DAY_NAMES:
        day = day[:3]
    if day not in WEEKDAYS:
        raise CommandError(f"`{_shown(rest[1])}` is not a day: use mon, tue, … sun.", USAGE[word])
    m = HHMM.match(rest[2])
    if not m:
        raise CommandError(f"`{_shown(rest[2])}` is not a time: use 24-hour HH:MM.", USAGE[word])
    return Command(
        word,
        {
            "team": team_name(rest[0], word),
            "weekday": WEEKDAYS.index(day),
            "time": f"{int(m.group(1)):02d}:{m.group(2)}",
        },
    )


def _anonymity(word: str, rest: list[str]) -> Command:
    _arity(word, rest, 2)
    if not rest[1].isdecimal() or len(rest[1]) > 4:  # isdigit() takes "²", which int() refuses
        raise CommandError(f"`{_shown(rest[1])}` is not a whole number.", USAGE[word])
    k = int(rest[1])
    if k < K_FLOOR:
        raise CommandError(
            f"k can never be below {K_FLOOR}: smaller groups could be identified.", USAGE[word]
        )
    if k > 1000:
        raise CommandError("k above 1000 would hide every figure.", USAGE[word])
    return Command(word, {"team": team_name(rest[0], word), "k": k})


def _one_of(word: str, rest: list[str], choices: tuple[str, ...]) -> Command:
    _arity(word, rest, 2)
    mode = rest[1].lower()
    if mode not in choices:
        raise CommandError(f"`{_shown(rest[1])}` is not one of {', '.join(choices)}.", USAGE[word])
    return Command(word, {"team": team_name(rest[0], word), "mode": mode})


def _admin(word: str, rest: list[str]) -> Command:
    _arity(word, rest, 2)
    action = rest[0].lower()
    if action not in ("add", "remove"):
        raise CommandError(f"`{_shown(rest[0])}` is not add or remove.", USAGE[word])
    return Command(word, {"action": action, "user": user_id(rest[1], word)})


def _prompts(word: str, rest: list[str]) -> Command:
    action = rest[0].lower() if rest else ""
    if action == "list":
        _arity(word, rest, 1)
        return Command(word, {"action": "list"})
    if action in ("enable", "disable"):
        _arity(word, rest, 2)
        if not PROMPT_ID.match(rest[1]):
            raise CommandError(
                f"`{_shown(rest[1])}` is not a prompt id (see `/trust prompts list`).", USAGE[word]
            )
        return Command(word, {"action": action, "prompt": rest[1]})
    raise CommandError("Use list, enable or disable.", USAGE[word])


def _snooze(word: str, rest: list[str]) -> Command:
    _arity(word, rest, 1)
    raw = rest[0].lower().removesuffix("d").removesuffix("days").removesuffix("day")
    if not raw.isdecimal() or len(raw) > 4 or not 1 <= int(raw) <= 90:
        raise CommandError(
            f"`{_shown(rest[0])}` is not a number of days from 1 to 90.", USAGE[word]
        )
    return Command(word, {"days": int(raw)})


_PARSERS = {
    "setup": _plain,
    "status": _plain,
    "me": _plain,
    "optout": _plain,
    "optin": _plain,
    "export": _plain,
    "forget-me": _plain,
    "pause": _team_only,
    "resume": _team_only,
    "schedule": _schedule,
    "anonymity": _anonymity,
    "checkin": lambda w, r: _one_of(w, r, ("now",)),
    "digest": lambda w, r: _one_of(w, r, ("now", "preview")),
    "admin": _admin,
    "prompts": _prompts,
    "snooze": _snooze,
}
