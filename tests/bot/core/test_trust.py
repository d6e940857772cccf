"""The /trust grammar: Slack's escaping, case, spaces, quotes, and helpful errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.trust.grammar import Command, CommandError, tokenize
from bot.core.trust.registry import COMMANDS, USAGE, parse, spec
from bot.core.untrusted import unmarked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command("help")),
        ("  HELP  ", Command("help")),
        (
            "team create sales <#C123ABC|sales-managers>",
            Command("team create", {"team": "sales", "channel": "C123ABC"}),
        ),
        (
            "Team Add sales <@U1AAA|ana>   <@U2BBB> <@U1AAA>",
            Command("team add", {"team": "sales", "users": ["U1AAA", "U2BBB"]}),
        ),
        (
            "team manager sales <@U9ZZZ>",
            Command("team manager", {"team": "sales", "users": ["U9ZZZ"]}),
        ),
        (
            "team remove sales <@W1AAA>",
            Command("team remove", {"team": "sales", "users": ["W1AAA"]}),
        ),
        ("team list", Command("team list")),
        (
            "schedule sales FRI 9:05",
            Command("schedule", {"team": "sales", "weekday": 4, "time": "09:05"}),
        ),
        (
            "schedule sales monday 16:30",
            Command("schedule", {"team": "sales", "weekday": 0, "time": "16:30"}),
        ),
        ("anonymity sales 5", Command("anonymity", {"team": "sales", "k": 5})),
        ("checkin sales NOW", Command("checkin", {"team": "sales", "mode": "now"})),
        ("digest sales preview", Command("digest", {"team": "sales", "mode": "preview"})),
        ("pause sales", Command("pause", {"team": "sales"})),
        ("resume 'sales'", Command("resume", {"team": "sales"})),
        ("admin add <@U1AAA>", Command("admin", {"action": "add", "user": "U1AAA"})),
        ("prompts list", Command("prompts", {"action": "list"})),
        (
            "prompts disable goal.trust_or_else",
            Command("prompts", {"action": "disable", "prompt": "goal.trust_or_else"}),
        ),
        ("status", Command("status")),
        ("me", Command("me")),
        ("snooze 7", Command("snooze", {"days": 7})),
        ("snooze 14d", Command("snooze", {"days": 14})),
        ("optout", Command("optout")),
        ("optin", Command("optin")),
        ("export", Command("export")),
        ("forget-me", Command("forget-me")),
        ("\u201csales\u201d", None),
    ],
)
def test_parses(text: str, expected: Command | None) -> None:
    if expected is None:
        with pytest.raises(CommandError):
            parse(text)
    else:
        assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "says", "usage"),
    [
        ("helo", "Did you mean `help`?", None),
        ("frobnicate", "Try `/trust help`", None),
        ("anonymity sales 2", "never be below 3", "/trust anonymity <team> <k>"),
        ("anonymity sales many", "not a whole number", "/trust anonymity <team> <k>"),
        ("schedule sales someday 9:00", "not a day", "/trust schedule"),
        ("schedule sales fridge 9:00", "not a day", "/trust schedule"),
        ("schedule sales fri 25:00", "not a time", "/trust schedule"),
        ("schedule sales fri", "missing", "/trust schedule"),
        ("team create sales #sales", "not a channel", "/trust team create"),
        ("team add sales ana", "not a person", "/trust team add"),
        ("team add sales", "at least one person", "/trust team add"),
        ("team explode", "not a team command", "/trust team list"),
        ("status now", "didn't expect `now`", "/trust status"),
        ("digest sales tomorrow", "not one of now, preview", "/trust digest"),
        ("snooze 0", "1 to 90", "/trust snooze"),
        ("snooze forever", "1 to 90", "/trust snooze"),
        ("admin promote <@U1AAA>", "not add or remove", "/trust admin"),
        ('team create "sales team" <#C1>', "not a team name", "/trust team create"),
        ('pause "sales', "never closed", None),
    ],
)
def test_bad_input_says_what_and_shows_the_form(text: str, says: str, usage: str | None) -> None:
    with pytest.raises(CommandError) as info:
        parse(text)
    assert says in unmarked(info.value.message)
    if usage:
        assert info.value.usage is not None and usage in info.value.usage


def test_every_grammar_line_has_a_parser() -> None:
    heads = {c.words.split()[0] for c in COMMANDS}
    for head in heads - {"team", "help"}:
        with pytest.raises(CommandError) as info:
            parse(f"{head} a b c d e")
        assert "don't know" not in info.value.message


def test_admin_only_flags() -> None:
    assert spec(parse("status")).admin
    assert spec(parse("team list")).admin
    assert spec(parse("rollup")).admin
    assert not spec(parse("me")).admin
    assert not spec(parse("help")).admin
    assert set(USAGE) == {c.words for c in COMMANDS}


def test_every_command_but_help_has_a_handler_and_only_self_service_refreshes_home() -> None:
    assert [c.words for c in COMMANDS if c.run is None] == ["help"]
    assert {c.words for c in COMMANDS if c.refreshes_home} == {"snooze", "optout", "optin"}


slackish = st.one_of(
    st.text(max_size=80),
    st.lists(
        st.sampled_from(
            [
                "team",
                "create",
                "add",
                "schedule",
                "<@U1AAA>",
                "<#C1|x>",
                "now",
                "fri",
                "9:00",
                '"',
                "'",
                "\u201c",
                "5",
                "2",
                "sales",
                "  ",
                "<@",
                "|",
                ">",
                "prompts",
                "snooze",
            ]
        ),
        max_size=8,
    ).map(" ".join),
)


@given(slackish)
def test_any_text_parses_or_explains(text: str) -> None:
    try:
        command = parse(text)
    except CommandError as error:
        assert error.message.strip()
        assert error.usage is None or error.usage.startswith("/trust")
    else:
        assert command.name in USAGE


def test_slacks_escaping_is_read_back_and_its_markup_kept() -> None:
    """Slack sends a typed ``&``, ``<``, ``>`` as entities and picked users as markup."""
    command = parse("team add R&amp;D <@U1AAA|tom&amp;jerry> <@U2BBB>")
    assert command.args == {"team": "R&D", "users": ["U1AAA", "U2BBB"]}
    assert tokenize("&amp;lt; a&gt;b &amp;amp;") == ["&lt;", "a>b", "&amp;"]


@pytest.mark.parametrize(
    "name", ["evil.example", "https://x", "sales\u202e", "a\u200bb", "ops\u2066"]
)
def test_a_team_name_slack_would_link_or_that_hides_a_control_is_refused(name: str) -> None:
    with pytest.raises(CommandError, match="is not a team name"):
        parse(f"team create {name} <#C1>")
