"""Text from outside, made inert for Slack (bot/slack/kit/blocks.py ``inert``): whatever a
note, a CRM deal name or a team name holds, Slack shows it as text: no link, no mention, no
invisible control reordering what follows, and nothing else lost."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core import untrusted
from bot.core.untrusted import BIDI_CONTROLS, invisible, mark
from bot.slack.kit.blocks import inert, message, plain, quote, render, section
from tests.support.strategies import any_text, fuzz, hostile_text, huge_text

texts = hostile_text | any_text | huge_text

# Independent of untrusted.py's own patterns: what a linkifier (Slack's, a mail client's)
# would take for a link
SCHEME_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*:\s*//")
KNOWN_TLD = re.compile(r"(?i)[^\W_][.\u3002\uff0e\uff61](?:com|org|net|io|co|uk|dev|example)\b")
WWW = re.compile(r"(?i)\bwww[.\u3002\uff0e\uff61][^\W_]")
ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")


def assert_inert(shown: str) -> None:
    """What Slack gets holds no way to link, mention or hide."""
    assert not any(invisible(c) for c in shown), [hex(ord(c)) for c in shown if invisible(c)]
    assert not BIDI_CONTROLS & set(shown)
    assert "<" not in shown and ">" not in shown  # no <links|…>, <!here>, <@U…>
    assert ENTITY.search(shown) is None  # every & begins one of Slack's three entities
    for linkish in (SCHEME_URL, KNOWN_TLD, WWW):
        assert linkish.search(shown) is None, linkish.search(shown)


def restored(shown: str) -> str:
    """``inert``'s output read back: the entities decoded, the broken links mended."""
    text = shown.replace("[.]", ".").replace("[:]//", "://")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@fuzz(800)
@given(text=texts)
@example(text="see https://evil.example/x and\u202e txt.exe")
@example(text="<https://evil.example|Click me> <!channel> R&D")
@example(text="ｅｖｉｌ．ｃｏｍ www.x.org ana@example.com")
@example(text="e.g. U.S. v1.2 3.5%")
def test_any_outside_text_is_inert_and_nothing_else_is_lost(text: str) -> None:
    shown = inert(text)
    assert_inert(shown)
    assert len(shown) <= 5 * len(text)
    if "[" not in text and not set("\u3002\uff0e\uff61") & set(text):
        assert restored(shown) == untrusted.visible(text)  # only the controls are gone


@fuzz(300)
@given(text=texts)
def test_plain_text_is_inert_too(text: str) -> None:
    """plain_text shows entities as written: no escaping there, the rest holds."""
    shown = inert(text, mrkdwn=False)
    assert not any(invisible(c) for c in shown)
    for linkish in (SCHEME_URL, KNOWN_TLD, WWW):
        assert linkish.search(shown) is None


@fuzz(300)
@given(ours=st.sampled_from(["*Teams*: ", "Team `", "<@U0REP1> ", "<#C0SALES> "]), theirs=texts)
def test_the_domains_marked_text_is_rendered_inert_and_its_own_markup_kept(
    ours: str, theirs: str
) -> None:
    body = render(f"{ours}{mark(theirs)}` and {ours}")
    assert body.startswith(ours) and body.endswith(f"` and {ours}")
    assert_inert(body[len(ours) : -len(f"` and {ours}")])


@fuzz(200)
@given(text=texts)
def test_a_quoted_note_is_inert_on_every_line(text: str) -> None:
    for line in quote(text, 700).split("\n"):
        assert line.startswith(">")
        assert_inert(line[1:])


def test_what_slack_gets_for_a_hostile_deal_name() -> None:
    name = "<https://evil.example|Open me>\u202eevil.com"
    block = section(f"*{inert(name)}*")
    assert block["text"] == {
        "type": "mrkdwn",
        "text": "*&lt;https[:]//evil[.]example|Open me&gt;evil[.]com*",
        "verbatim": True,  # Slack links no bare URL or name in it by itself
    }
    assert message(mark(name), [block])["text"] == block["text"]["text"].strip("*")
    assert plain(mark("ana\u2066@example.com"))["text"] == "ana@example[.]com"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("e.g. and i.e.", "e.g. and i.e."),
        ("v1.2 costs 3.5%", "v1.2 costs 3.5%"),
        ("👩\u200d💻 Müller–Lüdenscheidt", "👩\u200d💻 Müller–Lüdenscheidt"),
        ("line one\r\nline two", "line one\nline two"),
    ],
)
def test_ordinary_text_is_left_alone(typed: str, kept: str) -> None:
    assert inert(typed) == kept
