"""A rep sharing a note is warned when it names a deal or a person (issue #18)."""

from __future__ import annotations

from bot.core.note_check import named, warning


def test_deals_people_and_addresses_are_found_once_each() -> None:
    text = "Acme Renewal slipped again; <@U0ANA> and @bob said so, mail cfo@acme.com. acme renewal!"
    assert named(text, ["Acme renewal", "Globex"]) == [
        "the deal “Acme renewal”",
        "an e-mail address (cfo@acme.com)",
        "a person (<@U0ANA>)",
        "a person (@bob)",
    ]


def test_only_whole_words_and_real_names_count() -> None:
    assert named("We acmerenewals nothing", ["Acme renewal"]) == []  # part of a word
    assert named("A good week, X marks it", ["A", "X1"]) == []  # names too short to tell
    assert named("email me at work", []) == []
    assert warning([]) is None


def test_the_warning_says_what_was_found_and_what_to_do() -> None:
    said = warning(named("The Globex call went well", ["Globex"]))
    assert said is not None
    assert "names the deal “Globex”" in said and "untick “share anonymously”" in said
