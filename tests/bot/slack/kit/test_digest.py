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
            "care": DimensionData(bins={4: 6, 5: 6}, score_sum=54, answers=12),
            "candor": DimensionData(bins={2: 5, 3: 7}, score_sum=31, answers=12),
        },
        goal={TRUST_AND_VALUE: 7, "quota": 5},
        gap={"internal_trust.bad_news": {True: 6, False: 6}},
        estimates={"internal_trust.bad_news": (160, 2)},
        reflections={"won": {p: 1 for p in list(people)[:6]}},
        moment_answers={("won", "reliability.won_handover"): {"yes": {p: 1 for p in people}}},
        notes=notes if notes is not None else ["We <@U123> & <!channel> over-promise"],
    )


def text_of(message: dict[str, Any]) -> str:
    return str(message)


def test_a_full_digest_is_valid_block_kit() -> None:
    previous = Trend(periods=["2026-11-02", "2026-11-09"], index={"care": [3.5, 4.0]})
    message = digest_message(figures(full_week(), previous=previous), team_name="Sales EMEA")
    assert validate_blocks(message["blocks"]) == []
    assert len(message["blocks"]) <= MAX_BLOCKS
    body = text_of(message)
    assert "*Participation*: *12* answered · *12* asked" in body
    assert "`4.50` ▲ +0.50" in body  # care 4.0 -> 4.5
    assert "5★ *6* · 4★ *6*" in body
    assert "Trust and value *7* · Something else *5*" in body
    assert "2 managers think *80%*" in body and "the team says *50%*" in body
    assert "Coaching focus for next week: Candor" in body
    assert "From 00" in body  # the seed the tip comes from
    assert message["text"].startswith("Trust digest for Sales EMEA")


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
    assert f"• *Care*: _{NOT_ENOUGH}_" in body
    assert f"*Shared notes*\\n_{NOT_ENOUGH}_" in body
    assert "too few to quote" not in body
    assert "*3* answered · *3* asked" in body
    assert "A focus is chosen once enough people answer." in body


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
    assert "Care 4.50" in alt and "Candor 2.58" in alt


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
