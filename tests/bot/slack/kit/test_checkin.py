"""The check-in DM, its note modal and its reminder: Slack's limits, selections, closed state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.prompts import DIDNT_COME_UP, Prompt, PromptBank, default_bank
from bot.slack.kit.checkin import (
    CLOSED_TEXT,
    MAX_PROMPTS,
    MAX_QUESTIONS,
    NOT_SCORED,
    NOTE_ACTION,
    checkin_message,
    checkin_tip,
    note_modal,
    note_modal_for,
    note_submission,
    parse_answer,
    parse_round_id,
    reminder_message,
)
from bot.storage.models import CheckinRound, Note
from slack_emulator import validate_blocks, validate_view
from slack_emulator.payloads import click_action

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
BANK = default_bank()
DEFAULT_IDS = [
    "care.interests_first",
    "goal.trust_or_else",
    "candor.forecast_honest",
    "internal_trust.heard_out_first",
    "integrity.honest_every_interaction",
    "internal_trust.weekly_note",
]  # a week as the rotation asks it: five questions (scales, a choice, a situation), the note
ANSWERABLE = [p for p in BANK.prompts if p.kind != "text"]


def make_round(prompt_ids: list[str], round_id: int = 7) -> CheckinRound:
    return CheckinRound(
        id=round_id,
        workspace_id="T1",
        team_id=1,
        period_start=date(2026, 11, 23),
        period_end=date(2026, 11, 29),
        prompt_ids=prompt_ids,
        created_at=NOW,
    )


def make_note(
    text: str = "A client asked for a discount; I asked what they valued.", shared: bool = True
) -> Note:
    return Note(
        workspace_id="T1",
        team_id=1,
        period_start=date(2026, 11, 23),
        context="round:7",
        pseudonym="p" * 64,
        text=text,
        shared=shared,
        written_at=NOW,
    )


def build(
    prompt_ids: list[str],
    answers: dict[str, str] | None = None,
    note: Note | None = None,
    state: str = "open",
    bank: PromptBank = BANK,
    deal: str | None = None,
) -> dict[str, Any]:
    rnd = make_round(prompt_ids)
    message = checkin_message(
        bank,
        rnd,
        answers or {},
        note,
        state=state,  # type: ignore[arg-type]
        tip=checkin_tip(bank, rnd),
        deal=deal,
    )
    assert validate_blocks(message["blocks"]) == []
    assert len(message["blocks"]) <= 50 and message["text"]
    return message


def block(message: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in message["blocks"] if b.get("block_id") == block_id)


def elements(message: dict[str, Any], prompt_id: str) -> list[dict[str, Any]]:
    return list(block(message, f"a|{prompt_id}")["elements"])


def interactive(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for b in message["blocks"]:
        if b["type"] == "actions":
            found.extend(b["elements"])
        if b.get("accessory"):
            found.append(b["accessory"])
    return found


def with_prompt(**fields: Any) -> PromptBank:
    """The default bank plus one extra check-in prompt."""
    extra = Prompt.model_validate({"seed": "001", "use": ["checkin"], **fields})
    return PromptBank(prompts=(*BANK.prompts, extra), moments=BANK.moments, tips=BANK.tips)


# --------------------------------------------------------------------------- open


def test_the_default_checkin_asks_every_question_with_buttons() -> None:
    message = build(DEFAULT_IDS)
    texts = str(message["blocks"])
    assert message["blocks"][0]["type"] == "header"
    questions = [BANK.prompt(p) for p in DEFAULT_IDS if BANK.prompt(p).kind != "text"]
    for n, prompt in enumerate(questions, start=1):
        assert f"*{n}. {prompt.text}*" in texts
        assert not any(b.get("block_id") == f"f|{prompt.id}" for b in message["blocks"])
    scale = elements(message, "care.interests_first")
    assert [b["text"]["text"] for b in scale] == ["1", "2", "3", "4", "5", "Didn't come up"]
    assert [b["value"] for b in scale] == [*(f"7|{n}" for n in range(1, 6)), "7|didnt_come_up"]
    assert all(b["action_id"].startswith("checkin.answer:care.interests_first:") for b in scale)
    assert not any("style" in b for b in scale)
    labels = block(message, "c|care.interests_first")["elements"][0]["text"]
    prompt = BANK.prompt("care.interests_first")
    assert prompt.answer.low in labels and prompt.answer.high in labels  # type: ignore[union-attr]
    (select,) = elements(message, "goal.trust_or_else")
    assert select["type"] == "static_select" and "initial_option" not in select
    assert select["action_id"] == "checkin.answer:goal.trust_or_else"
    assert {o["value"] for o in select["options"]} == {
        "7|trust_and_value",
        "7|quota",
        "7|commission",
        "7|something_else",
    }
    note = block(message, "note")
    assert note["accessory"]["action_id"] == NOTE_ACTION
    assert note["accessory"]["text"]["text"] == "Add a note" and note["accessory"]["value"] == "7"
    assert "weekly_note" not in texts.replace("internal_trust.weekly_note", "")
    tip = checkin_tip(BANK, make_round(DEFAULT_IDS))
    assert tip.text in block(message, "tip")["elements"][0]["text"]
    assert "5 quick questions" in block(message, "intro")["text"]["text"]


def test_only_questions_about_the_rep_go_unmarked() -> None:
    message = build(DEFAULT_IDS)
    situation = str(block(message, "c|internal_trust.heard_out_first"))
    assert "Not scored" in situation
    goal = str(block(message, "c|goal.trust_or_else"))  # a reflection, not a grade
    assert "Not scored" in goal
    assert "Not scored" not in str(block(message, "c|care.interests_first"))
    assert set(NOT_SCORED) == {"situation", "decision"}


def test_each_answer_gets_its_own_feedback() -> None:
    answers = {"care.interests_first": "4", "goal.trust_or_else": "quota"}
    message = build(DEFAULT_IDS, answers)
    styles = {b["text"]["text"]: b.get("style") for b in elements(message, "care.interests_first")}
    assert styles == {"1": None, "2": None, "3": None, "4": "primary", "5": None} | {
        "Didn't come up": None
    }
    (select,) = elements(message, "goal.trust_or_else")
    assert select["initial_option"] in select["options"]
    assert select["initial_option"]["value"] == "7|quota"
    for prompt_id, value in answers.items():
        said = BANK.prompt(prompt_id).feedback_for(value)
        assert said is not None
        shown = str(block(message, f"f|{prompt_id}"))
        assert said.text in shown and said.next in shown and "*Next:*" in shown
    assert not any(b.get("block_id") == "f|candor.forecast_honest" for b in message["blocks"])
    # the same question answered the other way reads differently
    other = build(DEFAULT_IDS, {"goal.trust_or_else": "trust_and_value"})
    assert str(block(other, "f|goal.trust_or_else")) != str(block(message, "f|goal.trust_or_else"))
    low = build(DEFAULT_IDS, {"candor.forecast_honest": "1"})
    assert "exactly what makes a forecast trustworthy" in str(
        block(low, "f|candor.forecast_honest")
    )


def test_didnt_come_up_is_an_answer_with_its_own_feedback() -> None:
    message = build(DEFAULT_IDS, {"care.interests_first": DIDNT_COME_UP})
    (chosen,) = [b for b in elements(message, "care.interests_first") if b.get("style")]
    assert chosen["text"]["text"] == "Didn't come up"
    said = BANK.prompt("care.interests_first").feedback["didnt_come_up"]
    assert said.text in str(block(message, "f|care.interests_first"))
    closed = build(DEFAULT_IDS, {"care.interests_first": DIDNT_COME_UP}, state="closed")
    assert "*Didn't come up*" in block(closed, "q|care.interests_first")["text"]["text"]


def test_one_question_is_asked_about_the_deal_the_rep_touched() -> None:
    message = build(DEFAULT_IDS, deal="Acme <renewal> & co")
    first = block(message, "q|care.interests_first")["text"]["text"]
    wanted = "On Acme &lt;renewal&gt; &amp; co, did I put the client's interests ahead of my own?"
    assert first == f"*1. {wanted}*"
    # only the first question with a deal wording is anchored; the others read as usual
    honest = block(message, "q|integrity.honest_every_interaction")["text"]["text"]
    assert "Acme" not in honest
    general = build(DEFAULT_IDS)
    assert "On " not in block(general, "q|care.interests_first")["text"]["text"]
    closed = build(DEFAULT_IDS, {"care.interests_first": "5"}, state="closed", deal="Acme")
    assert "On Acme, did I" in block(closed, "q|care.interests_first")["text"]["text"]


def test_yes_no_and_short_choices_are_buttons() -> None:
    feedback = {v: {"text": f"About {v}.", "next": f"Then {v}."} for v in ("up", "flat", "down")}
    bank = with_prompt(
        id="test.three_ways",
        text="Which way did it go?",
        dimension="care",
        measures="behaviour",
        answer={
            "type": "choice",
            "options": [
                {"value": "up", "label": "Up", "score": 5},
                {"value": "flat", "label": "Flat"},
                {"value": "down", "label": "Down", "score": 1},
            ],
        },
        feedback=feedback,
    )
    ids = ["candor.told_manager", "test.three_ways"]
    message = build(ids, {"candor.told_manager": "no", "test.three_ways": "flat"}, bank=bank)
    yes_no = elements(message, "candor.told_manager")
    assert [(b["text"]["text"], b["value"], b.get("style")) for b in yes_no] == [
        ("Yes", "7|yes", None),
        ("Not yet", "7|no", "primary"),
    ]
    three = elements(message, "test.three_ways")
    assert [b["type"] for b in three] == ["button"] * 3
    assert [b.get("style") for b in three] == [None, "primary", None]
    assert "About flat." in str(block(message, "f|test.three_ways"))
    assert "f|candor.told_manager" in {b.get("block_id") for b in message["blocks"]}
    assert not any(b.get("block_id") == "note" for b in message["blocks"])  # no text prompt


def test_a_written_note_can_be_edited_and_is_shown_escaped() -> None:
    note = make_note("Told <!channel> & <@U999> the truth\nsecond line", shared=True)
    message = build(DEFAULT_IDS, note=note)
    section = block(message, "note")
    assert section["accessory"]["text"]["text"] == "Edit note"
    text = section["text"]["text"]
    assert "&lt;!channel&gt; &amp; &lt;@U999&gt;" in text and "<!channel>" not in text
    assert "> second line" in text and "Shared anonymously" in text
    private = block(build(DEFAULT_IDS, note=make_note(shared=False)), "note")
    assert "Not shared" in private["text"]["text"]


def test_a_long_note_is_shortened_in_the_message() -> None:
    message = build(DEFAULT_IDS, note=make_note("word " * 600))
    assert len(block(message, "note")["text"]["text"]) < 1000


def test_every_bank_prompt_with_every_answer_fits() -> None:
    for prompt in ANSWERABLE:
        ids = [prompt.id, "internal_trust.weekly_note"]
        build(ids)
        for option in prompt.answer.choices():
            message = build(ids, {prompt.id: option.value}, make_note("x" * 3000), deal="D" * 300)
            build(ids, {prompt.id: option.value}, make_note("y" * 3000), state="closed")
            said = prompt.feedback_for(option.value)
            assert said is not None
            shown = block(message, f"f|{prompt.id}")["elements"][0]["text"]
            assert shown == f":bulb: {said.text}\n:point_right: *Next:* {said.next}"


# --------------------------------------------------------------------------- size


def test_a_round_of_twelve_prompts_fits_answered() -> None:
    scales = [p.id for p in ANSWERABLE if p.kind == "scale"]
    ids = [*scales[:MAX_QUESTIONS], "internal_trust.weekly_note"]
    assert len(ids) == MAX_PROMPTS == 12
    answered = {p: "3" for p in ids[:-1]}
    message = build(ids, answered, make_note("z" * 3000), deal="Acme")
    assert len(message["blocks"]) <= 50
    build(ids, answered, make_note(), state="closed")


def test_a_bigger_round_fails_loudly() -> None:
    scales = [p.id for p in ANSWERABLE if p.kind == "scale"]
    for ids in (scales[: MAX_QUESTIONS + 1], [p.id for p in ANSWERABLE][:24]):
        with pytest.raises(ValueError, match="at most"):
            build(ids)
        with pytest.raises(ValueError, match="at most"):
            build(ids, state="closed")


def test_bad_rounds_fail_loudly() -> None:
    with pytest.raises(ValueError, match="twice"):
        build(["care.interests_first", "care.interests_first"])
    with pytest.raises(ValueError, match="unknown prompt"):
        build(["care.interests_first", "no.such_prompt"])
    with pytest.raises(ValueError, match="no id"):
        checkin_message(
            BANK,
            make_round(DEFAULT_IDS, round_id=None),  # type: ignore[arg-type]
            {},
            None,
            tip=BANK.tips[0],
        )


# --------------------------------------------------------------------------- closed


def test_a_closed_checkin_shows_what_was_answered_and_no_buttons() -> None:
    answers = {"care.interests_first": "4", "goal.trust_or_else": "trust_and_value"}
    message = build(DEFAULT_IDS, answers, make_note("kept"), state="closed")
    assert interactive(message) == []
    assert not any(b["type"] == "actions" for b in message["blocks"])
    texts = str(message["blocks"])
    assert CLOSED_TEXT in texts and "closed" in message["text"]
    assert "*4 of 5*" in block(message, "q|care.interests_first")["text"]["text"]
    assert "*Trust and value*" in block(message, "q|goal.trust_or_else")["text"]["text"]
    assert "_No answer_" in block(message, "q|candor.forecast_honest")["text"]["text"]
    assert "> kept" in block(message, "note")["text"]["text"]
    said = BANK.prompt("care.interests_first").feedback["high"]
    assert said.next in str(block(message, "f|care.interests_first"))  # the step stays
    assert not any(b.get("block_id") == "f|candor.forecast_honest" for b in message["blocks"])


def test_a_value_the_prompt_no_longer_knows_reads_as_unanswered() -> None:
    message = build(DEFAULT_IDS, {"care.interests_first": "9"})
    assert not any(b.get("style") for b in elements(message, "care.interests_first"))
    closed = build(DEFAULT_IDS, {"care.interests_first": "9"}, state="closed")
    assert "_No answer_" in block(closed, "q|care.interests_first")["text"]["text"]


# --------------------------------------------------------------------------- actions


def test_every_element_clicks_back_to_its_round_prompt_and_value() -> None:
    message = build([*DEFAULT_IDS, "candor.told_manager"])
    for b in message["blocks"]:
        if b["type"] != "actions":
            continue
        prompt_id = b["block_id"].removeprefix("a|")
        for el in b["elements"]:
            wanted = [o["value"] for o in el.get("options", [])] or [el["value"]]
            for value in wanted:
                action = click_action(b["block_id"], el, value)
                round_id, pid, raw = parse_answer(action)
                assert (round_id, pid, f"7|{raw}") == (7, prompt_id, value)
                assert raw in {o.value for o in BANK.prompt(prompt_id).answer.choices()}


@pytest.mark.parametrize(
    "action",
    [
        {"action_id": "checkin.answer:care.interests_first:4", "value": "garbage"},
        {"action_id": "checkin.answer:care.interests_first:4", "value": "x|4"},
        {"action_id": "checkin.answer:care.interests_first:4", "value": "0|4"},
        {"action_id": "checkin.answer:care.interests_first:4", "value": "7|"},
        {"action_id": "checkin.answer:care.interests_first:4"},
        {"action_id": "checkin.answer:", "value": "7|4"},
        {"action_id": "checkin.note", "value": "7|4"},
        {"action_id": "checkin.answer:goal.trust_or_else", "selected_option": None},
        {"action_id": "checkin.answer:goal.trust_or_else", "selected_option": {"value": "7"}},
    ],
)
def test_malformed_actions_are_refused(action: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_answer(action)


@given(st.dictionaries(st.sampled_from(["action_id", "value", "selected_option"]), st.text()))
def test_any_action_parses_or_raises_value_error(action: dict[str, Any]) -> None:
    try:
        round_id, prompt_id, value = parse_answer(action)
    except ValueError:
        return
    assert round_id > 0 and prompt_id and value


@pytest.mark.parametrize("raw", ["", " ", "0", "-3", "abc", "1.5", "٣", "9" * 30, None])
def test_round_ids_must_be_positive_integers(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_round_id(raw)
    assert parse_round_id(" 42 ") == 42


# --------------------------------------------------------------------------- tip


def test_the_tip_is_a_practice_from_a_dimension_not_asked_this_week() -> None:
    rnd = make_round(DEFAULT_IDS)
    tip = checkin_tip(BANK, rnd)
    asked = {BANK.prompt(p).dimension for p in DEFAULT_IDS}
    assert tip == checkin_tip(BANK, rnd) and tip.dimension not in asked
    assert "rep" in tip.audience
    # a rep who answered "Hitting my target" is not told in the same message that revenue
    # should never be the goal: the goal question's week never closes on a goal tip
    for round_id in range(1, 60):
        assert checkin_tip(BANK, make_round(DEFAULT_IDS, round_id)).dimension != "goal"
    assert checkin_tip(BANK, make_round([])).dimension
    message = build(DEFAULT_IDS)
    assert "A practice for next week" in str(block(message, "tip"))


# --------------------------------------------------------------------------- modal


def test_the_note_modal_starts_empty_and_private() -> None:
    view = note_modal(7, None, False)
    assert validate_view(view) == []
    assert (view["type"], view["callback_id"], view["private_metadata"]) == (
        "modal",
        "checkin.note",
        "7",
    )
    assert len(view["title"]["text"]) <= 24 and view["submit"]["text"] == "Save"
    text = view["blocks"][0]["element"]
    assert text["type"] == "plain_text_input" and text["multiline"] is True
    assert "initial_value" not in text
    boxes = view["blocks"][1]["element"]
    assert boxes["type"] == "checkboxes" and "initial_options" not in boxes
    assert boxes["options"][0]["text"]["text"] == "Share anonymously with my team's digest"


def test_the_note_modal_shows_the_note_and_its_sharing() -> None:
    rnd = make_round(DEFAULT_IDS)
    view = note_modal_for(BANK, rnd, make_note("x" * 3000, shared=True))
    assert validate_view(view) == []
    prompt = BANK.prompt("internal_trust.weekly_note")
    assert view["blocks"][0]["label"]["text"] == prompt.text
    assert view["blocks"][0]["element"]["initial_value"] == "x" * 3000
    assert view["blocks"][0]["element"]["placeholder"]["text"] == prompt.answer.placeholder  # type: ignore[union-attr]
    boxes = view["blocks"][1]["element"]
    assert boxes["initial_options"] == boxes["options"]
    assert validate_view(note_modal_for(BANK, make_round(["care.interests_first"]), None)) == []


def submitted(metadata: str, text: str | None, ticked: bool) -> dict[str, Any]:
    share = [{"text": {"type": "plain_text", "text": "S"}, "value": "shared"}] if ticked else []
    return {
        "private_metadata": metadata,
        "state": {
            "values": {
                "note": {"text": {"type": "plain_text_input", "value": text}},
                "share": {"shared": {"type": "checkboxes", "selected_options": share}},
            }
        },
    }


def test_a_submitted_note_is_read_back() -> None:
    assert note_submission(submitted("7", "hello", True)) == (7, "hello", True)
    assert note_submission(submitted("7", None, False)) == (7, "", False)
    assert note_submission({"private_metadata": "7"}) == (7, "", False)
    with pytest.raises(ValueError):
        note_submission(submitted("round:7", "hello", True))


# --------------------------------------------------------------------------- reminder


def test_the_reminder_points_at_the_checkin() -> None:
    rnd = make_round(DEFAULT_IDS)
    plain = reminder_message(rnd)
    assert validate_blocks(plain["blocks"]) == []
    assert "still open" in plain["text"] and "week of 23 Nov" in plain["text"]
    linked = reminder_message(rnd, permalink="https://acme.slack.com/archives/D1/p1")
    assert "<https://acme.slack.com/archives/D1/p1|the check-in message>" in linked["text"]
    assert validate_blocks(linked["blocks"]) == []
