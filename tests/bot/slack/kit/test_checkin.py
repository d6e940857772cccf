"""The check-in DM, its note modal and its reminder: Slack's limits, selections, closed state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.prompts import Prompt, PromptBank, default_bank
from bot.slack.kit.checkin import (
    CLOSED_TEXT,
    MAX_PROMPTS,
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
DEFAULT_IDS = [p.id for p in BANK.for_checkin()]
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
) -> dict[str, Any]:
    rnd = make_round(prompt_ids)
    message = checkin_message(
        bank,
        rnd,
        answers or {},
        note,
        state=state,  # type: ignore[arg-type]
        tip=checkin_tip(bank, rnd),
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
    extra = Prompt.model_validate(
        {"seed": "001", "guidance": "Extra guidance.", "use": ["checkin"], **fields}
    )
    return PromptBank(prompts=(*BANK.prompts, extra), moments=BANK.moments, tips=BANK.tips)


# --------------------------------------------------------------------------- open


def test_the_default_checkin_asks_every_question_with_buttons() -> None:
    message = build(DEFAULT_IDS)
    texts = str(message["blocks"])
    assert message["blocks"][0]["type"] == "header"
    questions = [p for p in BANK.for_checkin() if p.kind != "text"]
    for n, prompt in enumerate(questions, start=1):
        assert f"*{n}. {prompt.text}*" in texts
        assert prompt.guidance not in texts  # shown only once answered
    scale = elements(message, "care.interests_first")
    assert [b["text"]["text"] for b in scale] == ["1", "2", "3", "4", "5"]
    assert [b["value"] for b in scale] == [f"7|{n}" for n in range(1, 6)]
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


def test_the_chosen_answer_is_highlighted_with_its_guidance() -> None:
    answers = {"care.interests_first": "4", "goal.trust_or_else": "quota"}
    message = build(DEFAULT_IDS, answers)
    styles = {b["text"]["text"]: b.get("style") for b in elements(message, "care.interests_first")}
    assert styles == {"1": None, "2": None, "3": None, "4": "primary", "5": None}
    (select,) = elements(message, "goal.trust_or_else")
    assert select["initial_option"] in select["options"]
    assert select["initial_option"]["value"] == "7|quota"
    for prompt_id in answers:
        context = str(block(message, f"c|{prompt_id}"))
        assert BANK.prompt(prompt_id).guidance in context
    assert BANK.prompt("candor.forecast_honest").guidance not in str(message["blocks"])


def test_yes_no_and_short_choices_are_buttons() -> None:
    bank = with_prompt(
        id="test.three_ways",
        text="Which way did it go?",
        dimension="care",
        answer={
            "type": "choice",
            "options": [
                {"value": "up", "label": "Up", "score": 5},
                {"value": "flat", "label": "Flat"},
                {"value": "down", "label": "Down", "score": 1},
            ],
        },
    )
    ids = ["candor.told_manager", "test.three_ways"]
    message = build(ids, {"candor.told_manager": "no", "test.three_ways": "flat"}, bank=bank)
    yes_no = elements(message, "candor.told_manager")
    assert [(b["text"]["text"], b["value"], b.get("style")) for b in yes_no] == [
        ("Yes", "7|yes", None),
        ("No", "7|no", "primary"),
    ]
    three = elements(message, "test.three_ways")
    assert [b["type"] for b in three] == ["button"] * 3
    assert [b.get("style") for b in three] == [None, "primary", None]
    assert "c|candor.told_manager" in {b.get("block_id") for b in message["blocks"]}
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
            message = build(ids, {prompt.id: option.value}, make_note("x" * 3000))
            build(ids, {prompt.id: option.value}, make_note("y" * 3000), state="closed")
            shown = [e["text"] for e in block(message, f"c|{prompt.id}")["elements"]]
            assert f":bulb: {prompt.guidance}" in shown


# --------------------------------------------------------------------------- size


def test_a_round_of_twelve_prompts_fits_answered() -> None:
    ids = [*[p.id for p in ANSWERABLE if p.kind == "scale"][:11], "internal_trust.weekly_note"]
    assert len(ids) == 12
    answered = {p: "3" for p in ids[:-1]}
    message = build(ids, answered, make_note("z" * 3000))
    assert len(message["blocks"]) <= 50
    build(ids, answered, make_note(), state="closed")


def test_the_largest_round_fits_and_a_bigger_one_fails_loudly() -> None:
    widest = [p for p in ANSWERABLE if p.kind == "scale"][:MAX_PROMPTS]
    ids = [p.id for p in widest]
    message = build(ids, {p: "5" for p in ids})
    assert len(message["blocks"]) <= 50
    too_many = [p.id for p in ANSWERABLE][:24]
    for count in (MAX_PROMPTS + 1, 24):
        with pytest.raises(ValueError, match="at most"):
            build(too_many[:count])
        with pytest.raises(ValueError, match="at most"):
            build(too_many[:count], state="closed")


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


def test_the_tip_is_stable_and_follows_the_first_prompt() -> None:
    rnd = make_round(["care.interests_first", "goal.trust_or_else"])
    tip = checkin_tip(BANK, rnd)
    assert tip == checkin_tip(BANK, rnd) and tip.dimension == "care"
    assert tip == BANK.pick_tip("care", key="round:7", audience="rep")
    assert checkin_tip(BANK, make_round([])).dimension == "goal"


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
