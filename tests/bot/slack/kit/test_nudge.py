"""The deal nudge DM: every moment, every answer with its own feedback, seed 000's verdict with
a next step for each No and "not sure yet", the blind-spot line, Slack's limits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.deals import NudgeContent
from bot.core.nudges import NudgeState
from bot.core.prompts import DealChange, MomentKey, default_bank
from bot.slack.kit.nudge import CLOSED_TEXT, RULE_HINT, nudge_message
from slack_emulator import validate_blocks
from tests.support.deals import nudge_content

BANK = default_bank()
AT = datetime(2026, 11, 23, 15, tzinfo=UTC)
LIKE, VALUE, WORTH = BANK.investment_rule.prompts


def content(key: MomentKey, change: DealChange = DealChange.STAGE_CHANGED) -> NudgeContent:
    intro = BANK.moment(key).intro_for(days="30", times="second", percent="15%")
    return nudge_content(key, deal_name="Acme <renewal>", change=change, intro=intro)


def build(
    key: MomentKey, given: dict[str, str] | None = None, closed: bool = False
) -> dict[str, Any]:
    state = NudgeState(content(key), given or {}, closed, "D1", "1.2")
    message = nudge_message(BANK, state)
    assert validate_blocks(message["blocks"]) == []
    assert len(message["blocks"]) <= 50 and message["text"]
    return message


def block(message: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in message["blocks"] if b.get("block_id") == block_id)


def test_every_moment_with_every_answer_fits_and_says_its_feedback() -> None:
    for key in MomentKey:
        build(key)
        prompts = BANK.for_moment(key)
        for prompt in prompts:
            for option in prompt.answer.choices():
                message = build(key, {prompt.id: option.value})
                said = prompt.feedback_for(option.value)
                assert said is not None
                shown = str(block(message, f"f|{prompt.id}"))
                assert said.text in shown and said.next in shown
        everything = {p.id: p.answer.choices()[-1].value for p in prompts}
        build(key, everything)
        closed = build(key, everything, closed=True)
        assert CLOSED_TEXT in str(closed["blocks"])
        assert not any(b["type"] == "actions" for b in closed["blocks"])


def test_the_intro_says_how_far_and_how_much() -> None:
    assert "30 days later" in str(build(MomentKey.CLOSE_DATE_PUSHED)["blocks"])
    again = str(build(MomentKey.CLOSE_DATE_PUSHED_AGAIN)["blocks"])
    assert "second time" in again and "30 days" in again
    assert "15% off is a big ask" in str(build(MomentKey.DISCOUNT_LARGE)["blocks"])


def test_the_blind_spot_is_said_once_where_evidence_is_asked() -> None:
    evaluation = build(MomentKey.EVALUATION)
    assert "18%" in str(block(evaluation, "note"))
    assert "18%" not in str(build(MomentKey.WON)["blocks"])


def test_situations_and_decisions_say_they_are_not_scored() -> None:
    message = build(MomentKey.TOWARD_CONTRACT)
    assert "Not scored" in str(block(message, "c|reliability.unsure_promise"))
    assert not any(
        b.get("block_id") == "c|reliability.checked_with_delivery" for b in message["blocks"]
    )
    created = build(MomentKey.CREATED)
    assert "a call I make, never a grade" in str(block(created, f"c|{LIKE}"))


def test_the_verdict_waits_for_all_three_then_names_each_no() -> None:
    hint = block(build(MomentKey.CREATED, {LIKE: "yes"}), "verdict")
    assert hint["elements"][0]["text"] == RULE_HINT
    for given in itertools.product(("yes", "no", "not_sure"), repeat=3):
        answers = dict(zip((LIKE, VALUE, WORTH), given, strict=True))
        verdict = block(build(MomentKey.CREATED, answers), "verdict")["text"]["text"]
        rule = BANK.investment_rule
        outcome = rule.outcome(rule.verdict(answers))
        assert outcome.label in verdict
        for prompt_id, answer in answers.items():
            named = f"*{rule.names[prompt_id]}*"
            if answer == "yes":
                assert named not in verdict
            else:
                said = BANK.prompt(prompt_id).feedback_for(answer)
                assert said is not None and named in verdict and said.next in verdict


def test_think_hard_is_now_decisive() -> None:
    verdict = block(build(MomentKey.CREATED, {LIKE: "yes", VALUE: "no", WORTH: "yes"}), "verdict")
    text = verdict["text"]["text"]
    assert text.startswith(":thinking_face: *A harder call.*")
    assert "*Value or price* (no): Ask once what a wrong choice would cost them" in text
    stop = block(
        build(MomentKey.FIRST_CONTACT, dict.fromkeys((LIKE, VALUE, WORTH), "no")), "verdict"
    )
    assert "*Better to stop.*" in stop["text"]["text"] and "*Next:*" in stop["text"]["text"]
    unsure = block(
        build(MomentKey.CREATED, {LIKE: "not_sure", VALUE: "yes", WORTH: "yes"}), "verdict"
    )
    assert (
        "*Not sure yet.*" in unsure["text"]["text"] and "(not sure yet)" in unsure["text"]["text"]
    )


@pytest.mark.parametrize("key", [MomentKey.WON, MomentKey.LOST, MomentKey.DISQUALIFIED])
def test_moments_without_a_rule_have_no_verdict(key: MomentKey) -> None:
    assert not any(b.get("block_id") == "verdict" for b in build(key)["blocks"])


def test_a_closed_nudge_keeps_its_verdict_and_never_asks_for_more() -> None:
    unanswered = build(MomentKey.CREATED, {LIKE: "yes"}, closed=True)
    assert not any(b.get("block_id") == "verdict" for b in unanswered["blocks"])
    answered = build(MomentKey.CREATED, dict.fromkeys((LIKE, VALUE, WORTH), "yes"), closed=True)
    assert "Good to go" in str(block(answered, "verdict"))
