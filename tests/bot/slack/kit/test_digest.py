"""The digest message: rendered from stored figures, valid Block Kit within Slack's limits."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.anonymity import NOT_ENOUGH
from bot.core.digests import DimensionData, PeriodData, Trend, build_figures
from bot.core.prompts import TRUST_AND_VALUE, default_bank
from bot.slack.kit.blocks import escape
from bot.slack.kit.digest import (
    DOWN,
    FLAT,
    MAX_BLOCKS,
    UP,
    arrow,
    chart_alt_text,
    chart_filename,
    digest_message,
)
from slack_emulator import validate_blocks

WEEK = date(2026, 11, 16)
BANK = default_bank()


def figures(data: PeriodData, *, k: int = 5, notes_k: int = 5, previous: Any = None) -> Any:
    return build_figures(
        data,
        period_start=WEEK,
        k=k,
        notes_k=notes_k,
        previous=previous,
        bank=BANK,
        tip_key="1:2026-11-16",
    )


def full_week(notes: list[str] | None = None) -> PeriodData:
    people = {f"p{i}" for i in range(12)}
    return PeriodData(
        asked=12,
        respondents=set(people),
        checkin_respondents=set(people),
        dimensions={
            "care": DimensionData(bins={4: 6, 5: 6}, score_sum=54, square_sum=246, answers=12),
            "candor": DimensionData(bins={2: 5, 3: 7}, score_sum=31, square_sum=83, answers=12),
        },
        goal={TRUST_AND_VALUE: 7, "quota": 5},
        gap={"internal_trust.bad_news": {True: 6, False: 6}},
        gap_scores={"internal_trust.bad_news": (42, 12, 12)},
        estimates={"internal_trust.bad_news": (8, 2)},
        reflections={"won": {p: 1 for p in list(people)[:6]}},
        moment_answers={("won", "reliability.won_handover"): {"yes": {p: 1 for p in people}}},
        notes=notes if notes is not None else ["We <@U123> & <!channel> over-promise"],
    )


def text_of(message: dict[str, Any]) -> str:
    return str(message)


def test_a_full_digest_is_valid_block_kit() -> None:
    previous = Trend(
        periods=["2026-11-02", "2026-11-09"],
        index={"care": [3.5, 3.6], "candor": [3.4, 3.6]},
        overall=[3.5, 3.6],
        answered=[11, 12],
        asked=[12, 12],
    )
    message = digest_message(figures(full_week(), previous=previous), team_name="Sales EMEA")
    assert validate_blocks(message["blocks"]) == []
    assert len(message["blocks"]) <= MAX_BLOCKS
    blocks = [b for b in message["blocks"] if b["type"] == "section"]
    assert blocks[0]["text"]["text"].startswith("*Participation*: *12* of 12")  # first
    body = text_of(message)
    assert "(the weeks before: 11 of 12, 12 of 12)" in body
    assert "*Team trust index*: *3.5* of 5, usual for this team (3.5" in body
    assert "Care 4.5 ▲ · Candor 2.6 ▼" in body  # beyond twice the standard error, both
    assert "5★ *6* · 4★ *6*" in body
    assert "Trust and value *7* · Something else *5* people" in body
    assert "2 managers estimated *4.0*" in body
    assert "*Coaching focus until 13 Dec 2026: Candor* (week 1 of 4" in body
    assert "*This week, do:*" in body
    assert "Drawn from “The role of trust in sales”" in body  # the seed, by its title
    assert message["text"].startswith("Trust digest for Sales EMEA")
    for wording in ("Figures are fixed", "From 00", "split not shown", "a re-run"):
        assert wording not in body  # nothing written for developers reaches a manager


def test_people_s_text_is_escaped() -> None:
    message = digest_message(figures(full_week()), team_name="a<b>&c")
    body = text_of(message)
    assert "<@U123>" not in body and "<!channel>" not in body
    assert "&lt;@U123&gt; &amp; &lt;!channel&gt;" in body
    assert "a&lt;b&gt;&amp;c" in message["text"]


def test_suppressed_figures_say_why() -> None:
    small = PeriodData(
        asked=3,
        respondents={f"p{i}" for i in range(3)},
        checkin_respondents={f"p{i}" for i in range(3)},
        dimensions={"care": DimensionData(bins={4: 3}, score_sum=12, answers=3)},
        goal={TRUST_AND_VALUE: 3},
        notes=["too few to quote"],
    )
    message = digest_message(figures(small), team_name="tiny")
    assert validate_blocks(message["blocks"]) == []
    body = text_of(message)
    assert f"*Team trust index*\\n_{NOT_ENOUGH}_" in body
    assert f"*Shared notes*\\n_{NOT_ENOUGH}_" in body
    assert "too few to quote" not in body
    assert "*Participation*: *3* of 3 asked answered this week." in body
    assert "A focus is chosen once 5 people have answered." in body
    # what is withheld is said once, in one line, never once per figure
    assert body.count("fewer than 5 people") == 1
    assert "Not shown, so that no one can be singled out: Care and the goal mix." in body


def test_arrows() -> None:
    assert arrow(None) == ""
    assert arrow(1.0) == f"{UP} +1.00"
    assert arrow(-2.0) == f"{DOWN} −2.00"
    assert arrow(0.01) == arrow(-0.04) == f"{FLAT} steady"


def test_a_preview_says_it_is_one() -> None:
    message = digest_message(figures(full_week()), team_name="x", preview=True)
    assert "*Preview*, only you can see this." in text_of(message)


def test_chart_names_and_alt_text() -> None:
    assert chart_filename("Sales / EMEA", "2026-11-16") == "trust-index-Sales---EMEA-2026-11-16.png"
    alt = chart_alt_text(figures(full_week()))
    assert "this week 3.5" in alt and "focus dimension Candor at 2.6" in alt
    assert "answered per week: 12 of 12" in alt


@settings(max_examples=40, deadline=None)
@given(
    notes=st.lists(st.text(min_size=1, max_size=3000), max_size=60),
    title=st.text(min_size=1, max_size=80),
)
def test_any_notes_and_team_name_stay_within_slack_limits(notes: list[str], title: str) -> None:
    message = digest_message(figures(full_week(notes)), team_name=title)
    assert validate_blocks(message["blocks"]) == []
    assert len(message["blocks"]) <= MAX_BLOCKS
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


def test_escape() -> None:
    assert escape("a & <b> c") == "a &amp; &lt;b&gt; c"
