"""``/trust`` text from the outside world: arbitrary unicode, huge strings, control characters,
every subcommand with random arguments. Always a clear ephemeral answer naming what was wrong
and showing the right form; never an exception, a 500 or a change from a refused command."""

from __future__ import annotations

import re
import shlex
import time
from typing import Any
from urllib.parse import urlencode

from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.trust.grammar import HHMM, PROMPT_ID, TEAM_NAME, Command, CommandError, tokenize
from bot.core.trust.registry import COMMANDS, USAGE, parse, spec
from bot.core.untrusted import mark
from bot.slack.kit.replies import error_message, help_message
from slack_emulator.payloads import command_text
from tests.fuzz.conftest import ADMIN, CHANNEL, REP, FuzzApp
from tests.support.strategies import any_text, fuzz, huge_text, tricky_text
from tests.support.waiting import wait_for

WORDS = [c.words for c in COMMANDS]
TEAM_USAGE = "\n".join(u for w, u in USAGE.items() if w.startswith("team "))
FIXED_COMPLAINTS = (
    "Something is missing.",
    "There is a quote that is never closed.",
    "Which team command?",
    "Name the team and at least one person.",
    "Use list, enable or disable.",
    "k can never be below",
    "k above 1000",
)
"""Errors that name no token: the argument is absent, or the message says which rule broke."""
MAX_ANSWER = 3000  # one section block: a longer answer is cut where Slack shows it

argument = (
    st.sampled_from(
        [
            "sales",
            "Sales",
            "no-such-team",
            f"<#{CHANNEL}|sales>",
            "<#C0SALES>",
            "<#c0sales>",
            "<@U0REP1>",
            "<@U0REP1|ana>",
            "<@u0rep1>",
            "<@>",
            "@ana",
            "#sales",
            "mon",
            "Friday",
            "funday",
            "16:00",
            "9:05",
            "24:00",
            "7:5",
            "3",
            "5",
            "2",
            "1000",
            "1001",
            "0",
            "-1",
            "7d",
            "90days",
            "91",
            "now",
            "preview",
            "later",
            "add",
            "remove",
            "list",
            "enable",
            "disable",
            "goal.trust_or_else",
            "care.interests_first",
            "Not.A.Prompt",
        ]
    )
    | st.sampled_from(["²", "٣", "𝟘", "Ⅻ", "½", "9" * 5000, "0" * 4 + "7", "7" + "d" * 3])
    | tricky_text.filter(bool)
    | st.text(min_size=1, max_size=30)
)
"""One argument token: valid-looking, nearly valid, or hostile."""


@st.composite
def subcommands(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A subcommand's words (maybe upper-cased) and random argument tokens."""
    words = draw(st.sampled_from(WORDS)).split()
    if draw(st.booleans()):
        words = [w.upper() for w in words]
    kind = draw(st.integers(0, 9))  # one in five: a huge paste, as many tokens or as one
    if kind == 0:
        return words, draw(huge_text).split()
    if kind == 1:
        return words, [draw(huge_text)]
    return words, draw(st.lists(argument, max_size=5))


def quoted(words: list[str], args: list[str]) -> str:
    """The command text whose tokens are exactly ``words + args``."""
    return " ".join([*words, *(shlex.quote(a) for a in args)])


def shown(token: str) -> str:
    """A token as an error message echoes it: cut short, marked as outside text."""
    return mark(token.replace("`", "'")[:40])


def check_command(command: Command, words: list[str]) -> None:
    """A parsed command is the one asked for, with arguments that keep every rule."""
    name = " ".join(words).lower()
    assert command.name == ("help" if name == "help" else name)
    args = command.args
    if "team" in args:
        assert TEAM_NAME.match(args["team"])
    for user in [*args.get("users", []), *([args["user"]] if "user" in args else [])]:
        assert re.fullmatch(r"[UW][A-Z0-9]+", user)
    if "channel" in args:
        assert re.fullmatch(r"[CGD][A-Z0-9]+", args["channel"])
    if "weekday" in args:
        assert args["weekday"] in range(7) and HHMM.match(args["time"])
    if "k" in args:
        assert 3 <= args["k"] <= 1000
    if "days" in args:
        assert 1 <= args["days"] <= 90
    if "prompt" in args:
        assert PROMPT_ID.match(args["prompt"])


def check_error(error: CommandError, text: str, words: list[str]) -> None:
    """A refusal shows the subcommand's own usage and names the token that was wrong (or
    says what is missing)."""
    assert error.message.strip() and len(error.message) <= MAX_ANSWER, len(error.message)
    try:
        tokens = tokenize(text)
    except CommandError:
        assert error.message == "There is a quote that is never closed." and error.usage is None
        return
    name = " ".join(words).lower()
    if name.startswith("team"):
        assert error.usage in (USAGE.get(name), TEAM_USAGE)
    else:
        assert error.usage == USAGE[name]
    args = tokens[len(words) :]
    named = any(f"`{shown(t)}" in error.message for t in args)
    assert named or error.message.startswith(FIXED_COMPLAINTS), (error.message, args)


# --------------------------------------------------------------------- the parser, at volume


@fuzz(200)
@given(parts=subcommands())
@example(parts=(["snooze"], ["²"]))  # isdigit() but not int(): was a ValueError
@example(parts=(["anonymity"], ["sales", "²"]))
@example(parts=(["snooze"], ["9" * 4301]))  # past Python's int() digit limit
@example(parts=(["status"], ["a", "b"] * 3000))  # was echoed back whole: 12,000 characters
def test_every_subcommand_with_random_arguments_parses_or_names_the_wrong_one(
    parts: tuple[list[str], list[str]],
) -> None:
    words, args = parts
    text = quoted(words, args)
    try:
        command = parse(text)
    except CommandError as error:
        check_error(error, text, words)
    else:
        check_command(command, words)


@fuzz(200)
@given(text=any_text | huge_text | st.lists(argument, max_size=8).map(" ".join))
def test_any_text_parses_or_is_explained(text: str) -> None:
    try:
        command = parse(text)
    except CommandError as error:
        assert error.message.strip() and len(error.message) <= MAX_ANSWER
        assert error.usage is None or error.usage.startswith("/trust")
        if error.message.startswith("I don't know"):
            assert shown(tokenize(text)[0]) in error.message
            assert "Did you mean" in error.message or "/trust help" in error.message
    else:
        assert command.name in USAGE


# --------------------------------------------------------------------- through the real app


def setup_modals(app: FuzzApp, user: str) -> list[dict[str, Any]]:
    return [v for v in app.emulator.views_opened(user) if v.get("callback_id") == "setup"]


def ask(app: FuzzApp, text: str, user: str) -> dict[str, Any]:
    """``/trust <text>`` over signed HTTP; the answer the user sees, checked to be a valid
    ephemeral message (or the setup modal it opened)."""
    modals = len(setup_modals(app, user))
    reply = app.emulator.send_command("/trust", text, user_id=user, channel_id=CHANNEL)
    assert reply.status == 200 and not reply.timed_out, (reply.status, text[:200])
    assert reply.errors == [], reply.errors
    if isinstance(reply.body, dict) and reply.body.get("blocks"):
        assert reply.body.get("response_type", "ephemeral") == "ephemeral"
        return reply.body
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        posts = app.emulator.response_url_posts(reply.response_url)
        if posts:
            assert posts[0].errors == [], posts[0].errors
            assert posts[0].body.get("response_type") == "ephemeral"
            return posts[0].body
        opened = setup_modals(app, user)[modals:]
        if opened:
            return {"text": "(the setup modal)", "view": opened[0]}
        time.sleep(0.01)
    raise AssertionError(f"no answer to /trust {text[:200]!r}")


command_texts = (
    subcommands().map(lambda p: quoted(*p))
    | any_text
    | huge_text
    | st.lists(argument, max_size=6).map(" ".join)
)


def test_trust_over_http_always_gets_a_clear_ephemeral_answer(fuzz_app: FuzzApp) -> None:
    app = fuzz_app

    @fuzz(60)
    @given(text=command_texts, user=st.sampled_from([ADMIN, REP]))
    @example(text="snooze ²", user=REP)  # crashed before the ack: a 500
    @example(text="anonymity sales ²", user=ADMIN)
    @example(text="me " + "x " * 20_000, user=REP)
    def one(text: str, user: str) -> None:
        before = app.counts()
        sent = command_text(app.emulator.state, text)  # typed text as Slack sends it (escaped)
        try:
            expected: Command | CommandError = parse(sent)
        except CommandError as error:
            expected = error
        answer = ask(app, text, user)
        if isinstance(expected, CommandError):
            assert answer == error_message(expected)
            assert app.counts() == before, "a refused command changed the database"
        elif expected.name == "help":
            assert answer == help_message()
        elif spec(expected).admin and user == REP:
            assert "is for Trustbot admins" in answer["text"]
            assert app.counts() == before, "a non-admin changed the database"
        elif expected.name == "setup":
            assert answer["view"]["title"]["text"] == "Trustbot team setup"
        else:
            assert answer["text"].strip()

    one()
    app.settle()
    app.assert_no_problems()
    assert app.emulator.validation_failures == []


FORM_FIELDS = ("token", "team_id", "channel_id", "user_id", "command", "text")
FORM_FIELDS += ("response_url", "trigger_id", "api_app_id")


def test_a_slash_command_form_with_fields_missing_or_forged_is_refused(fuzz_app: FuzzApp) -> None:
    """The form Slack posts for ``/trust``, signed, with fields dropped or replaced: answered
    (200) or refused (400, 404 for another command), never a 500 or a traceback; a refused
    admin command from a non-admin changes nothing."""
    app = fuzz_app
    reply = app.emulator.send_command("/trust", "pause sales", user_id=REP, channel_id=CHANNEL)
    assert reply.status == 200
    sent = app.emulator.deliveries[-1].payload  # the form as Slack sends it, to copy from

    @fuzz(40)
    @given(
        dropped=st.sets(st.sampled_from(FORM_FIELDS), max_size=3),
        replaced=st.dictionaries(st.sampled_from(FORM_FIELDS), any_text | huge_text, max_size=2),
    )
    @example(dropped={"team_id"}, replaced={})  # was a traceback after the ack
    @example(dropped={"user_id", "response_url"}, replaced={})
    @example(dropped=set(), replaced={"response_url": "0"})  # respond() failed after the ack
    def one(dropped: set[str], replaced: dict[str, str]) -> None:
        before = app.counts()
        form = {k: v for k, v in {**sent, **replaced}.items() if k not in dropped}
        raw = urlencode(form)
        forged = app.emulator.send_command(
            "/trust", "x", user_id=REP, channel_id=CHANNEL, raw_body=raw
        )
        assert forged.status in (200, 400, 404) and not forged.timed_out, forged.status
        if forged.status == 200 and not (isinstance(forged.body, dict) and forged.body):
            wait_for(lambda: app.emulator.response_url_posts(form["response_url"]))  # all done
        after = app.counts()
        for counts in (before, after):  # a forged team_id gets a workspace row, as Slack's would
            del counts["workspace"]
        assert after == before

    one()
    app.settle()
    app.assert_no_problems()
