"""The ``/trust`` grammar: the tokens and each command's arguments, or what was wrong with them.

Plain Python; Slack's escaping (``<@U123|ana>``, ``<#C123|sales>``) is parsed here. Which
words name which command, and which parser reads its arguments, is the command's entry in
:mod:`bot.core.trust.registry`."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.anonymity import K_FLOOR
from bot.core.teams import DAY_NAMES, WEEKDAYS
from bot.core.untrusted import invisible, looks_like_link, mark
from bot.storage.models import NAME_KEY_MAX, name_key

USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
CHANNEL = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$")
TEAM_NAME = re.compile(r"^[^\s<>@#|]{1,80}$")
HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
PROMPT_ID = re.compile(r"^[a-z0-9_.\-]{1,80}$")


class CommandError(ValueError):
    """Bad input: ``message`` says what was wrong, ``usage`` shows the right form."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class Command:
    """A parsed ``/trust`` command: ``name`` is an entry of :mod:`bot.core.trust.registry`."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


def tokenize(text: str) -> list[str]:
    """Split like a shell, tolerating curly quotes and an unbalanced quote.

    Slack sends ``&``, ``<`` and ``>`` typed by the user as ``&amp;``, ``&lt;`` and ``&gt;``
    (its formatting reference: they are its control characters), and the users and channels
    picked as ``<@U…|name>`` / ``<#C…|name>``: each word is decoded, except Slack's own
    ``<…>`` markup, which the parsers read as it is."""
    cleaned = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'")
    cleaned = cleaned.replace("\u2019", "'").replace("\u00a0", " ").strip()
    try:
        words = shlex.split(cleaned)
    except ValueError:
        raise CommandError("There is a quote that is never closed.") from None
    return [word if word.startswith("<") else unescape(word) for word in words]


ENTITY = re.compile(r"&(amp|lt|gt);")
ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def unescape(word: str) -> str:
    """Slack's three entities decoded, in one pass (``&amp;lt;`` is the text ``&lt;``)."""
    return ENTITY.sub(lambda m: ENTITIES[m.group(1)], word) if "&" in word else word


def shown(token: str) -> str:
    """What the user typed, echoed back in an error: cut short and marked as outside text."""
    return mark(token.replace("`", "'")[:40])


def arity(usage: str, rest: list[str], count: int) -> None:
    if len(rest) < count:
        raise CommandError("Something is missing.", usage)
    if len(rest) > count:
        extra = " ".join(shown(t) for t in rest[count : count + 5])
        more = " …" if len(rest) > count + 5 else ""  # a huge paste is not echoed back whole
        raise CommandError(f"I didn't expect `{extra}`{more}.", usage)


def team_name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as a team name, or ``None``. A team name is shown in
    Slack as it was typed, so it may not hold invisible characters (a bidi override would
    reorder what follows it) or look like a web address (Slack would link it)."""
    if not TEAM_NAME.match(name) or any(invisible(c) for c in name):
        return "use up to 80 letters, digits or dashes, no spaces, mentions or channels."
    if looks_like_link(name):
        return "it looks like a web address, which Slack would link: use dashes, not dots."
    if len(name_key(name)) > NAME_KEY_MAX:  # a few characters expand a lot under NFKC
        return "it is too long once its letters are normalised: use a shorter name."
    return None


def team_name(token: str, usage: str) -> str:
    problem = team_name_problem(token)
    if problem is not None:
        raise CommandError(f"`{shown(token)}` is not a team name: {problem}", usage)
    return token


def user_id(token: str, usage: str) -> str:
    m = USER.match(token)
    if not m:
        raise CommandError(f"`{shown(token)}` is not a person: mention them, like @ana.", usage)
    return m.group(1)


def channel_id(token: str, usage: str) -> str:
    m = CHANNEL.match(token)
    if not m:
        raise CommandError(
            f"`{shown(token)}` is not a channel: pick one with #, like #sales-managers.",
            usage,
        )
    return m.group(1)


Args = dict[str, Any]
"""A command's parsed arguments."""


def no_args(usage: str, rest: list[str]) -> Args:
    arity(usage, rest, 0)
    return {}


def team_only(usage: str, rest: list[str]) -> Args:
    arity(usage, rest, 1)
    return {"team": team_name(rest[0], usage)}


def team_and_channel(usage: str, rest: list[str]) -> Args:
    arity(usage, rest, 2)
    return {"team": team_name(rest[0], usage), "channel": channel_id(rest[1], usage)}


def team_and_people(usage: str, rest: list[str]) -> Args:
    if len(rest) < 2:
        raise CommandError("Name the team and at least one person.", usage)
    users = list(dict.fromkeys(user_id(t, usage) for t in rest[1:]))
    return {"team": team_name(rest[0], usage), "users": users}


def schedule(usage: str, rest: list[str]) -> Args:
    arity(usage, rest, 3)
    day = rest[1].lower()
    if day in DAY_NAMES:
        day = day[:3]
    if day not in WEEKDAYS:
        raise CommandError(f"`{shown(rest[1])}` is not a day: use mon, tue, … sun.", usage)
    m = HHMM.match(rest[2])
    if not m:
        raise CommandError(f"`{shown(rest[2])}` is not a time: use 24-hour HH:MM.", usage)
    return {
        "team": team_name(rest[0], usage),
        "weekday": WEEKDAYS.index(day),
        "time": f"{int(m.group(1)):02d}:{m.group(2)}",
    }


def anonymity(usage: str, rest: list[str]) -> Args:
    arity(usage, rest, 2)
    if not rest[1].isdecimal() or len(rest[1]) > 4:  # isdigit() takes "²", which int() refuses
        raise CommandError(f"`{shown(rest[1])}` is not a whole number.", usage)
    k = int(rest[1])
    if k < K_FLOOR:
        raise CommandError(
            f"k can never be below {K_FLOOR}: smaller groups could be identified.", usage
        )
    if k > 1000:
        raise CommandError("k above 1000 would hide every figure.", usage)
    return {"team": team_name(rest[0], usage), "k": k}


def team_and_mode(*choices: str) -> Callable[[str, list[str]], Args]:
    """``<team> <mode>`` with a mode among ``choices``."""

    def parse(usage: str, rest: list[str]) -> Args:
        arity(usage, rest, 2)
        mode = rest[1].lower()
        if mode not in choices:
            raise CommandError(f"`{shown(rest[1])}` is not one of {', '.join(choices)}.", usage)
        return {"team": team_name(rest[0], usage), "mode": mode}

    return parse


def digest(usage: str, rest: list[str]) -> Args:
    """``<team> now|preview``, ``<team> at <mon..sun> <HH:MM> [<time zone>]`` (when the
    team's digest is posted, in the team's time zone, e.g. ``Europe/Berlin``), or
    ``<team> to channel|dm|both`` (where it goes)."""
    if len(rest) >= 2 and rest[1].lower() == "at":
        if len(rest) not in (4, 5):
            raise CommandError("Give a day, a time and, if you like, a time zone.", usage)
        when = schedule(usage, [rest[0], rest[2], rest[3]])
        zone_name = rest[4] if len(rest) == 5 else None
        if zone_name is not None and not _zone_ok(zone_name):
            raise CommandError(
                f"`{shown(zone_name)}` is not a time zone: use a name like Europe/Berlin or "
                "America/Los_Angeles.",
                usage,
            )
        return {**when, "mode": "at", "timezone": zone_name}
    if len(rest) >= 2 and rest[1].lower() == "to":
        arity(usage, rest, 3)
        where = rest[2].lower()
        if where not in DIGEST_TO:
            raise CommandError(f"`{shown(rest[2])}` is not one of {', '.join(DIGEST_TO)}.", usage)
        return {"team": team_name(rest[0], usage), "mode": "to", "to": where}
    return team_and_mode("now", "preview")(usage, rest)


DIGEST_TO = ("channel", "dm", "both")


def _zone_ok(name: str) -> bool:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}", name):
        return False  # never a path: ZoneInfo would read files by this name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def admin(usage: str, rest: list[str]) -> Args:
    arity(usage, rest, 2)
    action = rest[0].lower()
    if action not in ("add", "remove"):
        raise CommandError(f"`{shown(rest[0])}` is not add or remove.", usage)
    return {"action": action, "user": user_id(rest[1], usage)}


def prompts(usage: str, rest: list[str]) -> Args:
    action = rest[0].lower() if rest else ""
    if action == "list":
        arity(usage, rest, 1)
        return {"action": "list"}
    if action in ("enable", "disable"):
        arity(usage, rest, 2)
        if not PROMPT_ID.match(rest[1]):
            raise CommandError(
                f"`{shown(rest[1])}` is not a prompt id (see `/trust prompts list`).", usage
            )
        return {"action": action, "prompt": rest[1]}
    raise CommandError("Use list, enable or disable.", usage)


def snooze(usage: str, rest: list[str]) -> Args:
    arity(usage, rest, 1)
    raw = rest[0].lower().removesuffix("d").removesuffix("days").removesuffix("day")
    if not raw.isdecimal() or len(raw) > 4 or not 1 <= int(raw) <= 90:
        raise CommandError(f"`{shown(rest[0])}` is not a number of days from 1 to 90.", usage)
    return {"days": int(raw)}


def stages(usage: str, rest: list[str]) -> Args:
    """``[map <crm> <stage> <moment> | unmap <crm> <stage>]``: a stage name may have spaces
    (``map salesforce Technical Win evaluation``), quoted or not."""
    action = rest[0].lower() if rest else "show"
    if action == "show":
        arity(usage, rest[1:], 0)
        return {"action": "show"}
    if action not in ("map", "unmap"):
        raise CommandError(f"`{shown(rest[0])}` is not show, map or unmap.", usage)
    words = rest[1:]
    needed = 3 if action == "map" else 2
    if len(words) < needed:
        what = (
            "the CRM, the stage and what it means" if action == "map" else "the CRM and the stage"
        )
        raise CommandError(f"Name {what}.", usage)
    stage_words = words[1:-1] if action == "map" else words[1:]
    found: Args = {"action": action, "pipeline": words[0], "stage": " ".join(stage_words)}
    if action == "map":
        found["moment"] = words[-1]
    return found


def delivery(usage: str, rest: list[str]) -> Args:
    """``<team> <#channel>|off``: where the team's reps may flag commitments."""
    arity(usage, rest, 2)
    team = team_name(rest[0], usage)
    if rest[1].lower() == "off":
        return {"team": team, "channel": None}
    return {"team": team, "channel": channel_id(rest[1], usage)}
