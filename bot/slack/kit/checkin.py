"""Block Kit for the weekly check-in DM: the questions as buttons, the note modal, the reminder.

A rep answers with clicks; every click comes back as a ``block_actions`` payload whose
``action_id`` starts with ``checkin.answer:<prompt_id>`` and whose value is
``"<round_id>|<value>"``. Slack wants action IDs unique within a block, so each button adds
``:<value>`` (``checkin.answer:care.interests_first:4``); a select uses the bare form.
The note button is ``checkin.note`` with value ``"<round_id>"``; the modal's callback_id is
``checkin.note`` with the round id in ``private_metadata``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, Literal

from bot.core.prompts import (
    DIDNT_COME_UP,
    Audience,
    ChoiceAnswer,
    ChoiceOption,
    Dimension,
    Measures,
    Prompt,
    PromptBank,
    ScaleAnswer,
    Tip,
)
from bot.slack.kit.blocks import Block, context, escape, plain, quote, section
from bot.storage.models import CheckinRound, Note

ANSWER_ACTION = "checkin.answer"
NOTE_ACTION = "checkin.note"
NOTE_CALLBACK = "checkin.note"
NOTE_BLOCK, NOTE_INPUT = "note", "text"
SHARE_BLOCK, SHARE_INPUT, SHARE_VALUE = "share", "shared", "shared"
SHARE_LABEL = "Share anonymously with my team's digest"
CLOSED_TEXT = "This check-in has closed."
EMPTY_NOTE_ERROR = "Write something, or close this window."

MAX_BLOCKS = 50
MAX_QUESTIONS = 11
"""Most questions a check-in message can hold: 4 blocks per question (the question, its
buttons, its anchors, the feedback once answered) + 4 around them (header, intro, note,
tip) <= 50. The weekly rotation asks 5 (:data:`bot.core.rotation.MAX_QUESTIONS`)."""
MAX_PROMPTS = MAX_QUESTIONS + 1
"""Most prompts a round can list: the questions and its note (rounds planned before the
rotation asked up to 12)."""

NOT_SCORED = {
    Measures.SITUATION: "_Not scored: it records how things are, not how I did._",
    Measures.DECISION: "_Not scored: it's a call I make, never a grade._",
}
"""Said under every question that is never scored, so admitting a risk feels safe."""
MAX_BUTTONS = 3  # a choice with more options becomes a select
NOTE_EXCERPT = 600

State = Literal["open", "closed"]


# --------------------------------------------------------------------------- values


def answer_value(round_id: int, value: str) -> str:
    """A button / option value: ``"<round_id>|<value>"``."""
    return f"{round_id}|{value}"


def parse_answer(action: Mapping[str, Any], kind: str = ANSWER_ACTION) -> tuple[int, str, str]:
    """``(ref, prompt_id, value)`` from a ``checkin.answer`` action (``ref`` is the round),
    or from another ``kind`` of answer built by :func:`question_blocks`; ``ValueError`` if bad."""
    action_id = str(action.get("action_id") or "")
    head, _, rest = action_id.partition(":")
    prompt_id = rest.split(":", 1)[0]
    if head != kind or not prompt_id:
        raise ValueError(f"not a {kind} action: {action_id!r}")
    selected = action.get("selected_option")
    raw = selected.get("value") if isinstance(selected, Mapping) else action.get("value")
    round_part, sep, value = str(raw or "").partition("|")
    if not sep or not value:
        raise ValueError(f"malformed answer value {raw!r}")
    return parse_round_id(round_part), prompt_id, value


def parse_round_id(raw: object) -> int:
    """A round id from a button value or ``private_metadata``; ``ValueError`` if it is not one."""
    text = str(raw if raw is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) <= 0:
        raise ValueError(f"not a round id: {raw!r}")
    return int(text)


# --------------------------------------------------------------------------- helpers


def _option(option: ChoiceOption, round_id: int) -> dict[str, Any]:
    return {"text": plain(option.label), "value": answer_value(round_id, option.value)}


def answer_label(prompt: Prompt, value: str) -> str | None:
    """How a stored answer reads: the option label (``"4 of 5"`` on a scale)."""
    for option in prompt.answer.choices():
        if option.value == value:
            numbered = isinstance(prompt.answer, ScaleAnswer) and value != DIDNT_COME_UP
            return f"{value} of 5" if numbered else option.label
    return None


def feedback_text(prompt: Prompt, value: str | None) -> str | None:
    """What the rep reads after choosing ``value``: the word back and the one next step."""
    said = prompt.feedback_for(value)
    if said is None:
        return None
    return f":bulb: {said.text}\n:point_right: *Next:* {said.next}"


def _prompts(bank: PromptBank, round: CheckinRound) -> list[Prompt]:
    ids = list(round.prompt_ids)
    if len(ids) > MAX_PROMPTS:
        raise ValueError(
            f"round {round.id} asks {len(ids)} prompts; a check-in message holds at most "
            f"{MAX_PROMPTS} (Slack allows {MAX_BLOCKS} blocks)"
        )
    if len(set(ids)) != len(ids):
        raise ValueError(f"round {round.id} lists a prompt twice: {ids}")
    unknown = [p for p in ids if not bank.has_prompt(p)]
    if unknown:
        raise ValueError(f"round {round.id} asks unknown prompt(s): {', '.join(unknown)}")
    prompts = [bank.prompt(p) for p in ids]
    if sum(p.kind != "text" for p in prompts) > MAX_QUESTIONS:
        raise ValueError(
            f"round {round.id} asks more than {MAX_QUESTIONS} questions; a check-in message "
            f"holds at most {MAX_QUESTIONS} (Slack allows {MAX_BLOCKS} blocks)"
        )
    return prompts


def _answer_element(
    prompt: Prompt, round_id: int, chosen: str | None, action: str = ANSWER_ACTION
) -> list[Block]:
    options = prompt.answer.choices()
    base = f"{action}:{prompt.id}"
    if isinstance(prompt.answer, ChoiceAnswer) and len(options) > MAX_BUTTONS:
        select: Block = {
            "type": "static_select",
            "action_id": base,
            "placeholder": plain("Choose an answer"),
            "options": [_option(o, round_id) for o in options],
        }
        picked = next((o for o in options if o.value == chosen), None)
        if picked is not None:
            select["initial_option"] = _option(picked, round_id)
        return [select]
    buttons = []
    for option in options:
        button: Block = {
            "type": "button",
            "action_id": f"{base}:{option.value}",
            "text": plain(option.label),
            "value": answer_value(round_id, option.value),
        }
        if option.value == chosen:
            button["style"] = "primary"
        buttons.append(button)
    return buttons


def question_blocks(
    prompt: Prompt,
    number: int,
    ref: int,
    chosen: str | None,
    action: str = ANSWER_ACTION,
    *,
    text: str | None = None,
) -> list[Block]:
    """One question: its text (``text`` when it is asked in other words, already escaped, e.g.
    about a deal), a row of buttons (or a select) whose values carry ``ref`` (the round, or
    the nudge's delivery), the scale's anchors or "not scored", and once answered the
    feedback for that very answer."""
    blocks = [
        section(f"*{number}. {text or prompt.text}*", block_id=f"q|{prompt.id}"),
        {
            "type": "actions",
            "block_id": f"a|{prompt.id}",
            "elements": _answer_element(prompt, ref, chosen, action),
        },
    ]
    notes = []
    if isinstance(prompt.answer, ScaleAnswer):
        notes.append(f"1 = {prompt.answer.low}  ·  5 = {prompt.answer.high}")
    if prompt.measures in NOT_SCORED:
        notes.append(NOT_SCORED[prompt.measures])
    if notes:
        blocks.append(context(*notes, block_id=f"c|{prompt.id}"))
    said = feedback_text(prompt, chosen)
    if said is not None:
        blocks.append(context(said, block_id=f"f|{prompt.id}"))
    return blocks


def closed_blocks(prompt: Prompt, number: int, chosen: str | None, text: str) -> list[Block]:
    """A question of a closed check-in or nudge: what was answered, and its next step."""
    label = answer_label(prompt, chosen) if chosen is not None else None
    shown = f"*{label}*" if label else "_No answer_"
    blocks = [section(f"{number}. {text}\n{shown}", block_id=f"q|{prompt.id}")]
    said = prompt.feedback_for(chosen)
    if said is not None:
        blocks.append(context(f":point_right: *Next:* {said.next}", block_id=f"f|{prompt.id}"))
    return blocks


def _note_text(prompt: Prompt, note: Note | None) -> str:
    text = f"*{prompt.text}*"
    if note is None:
        return text + "\n_Optional. Only you see it unless you choose to share it._"
    shared = (
        "_Shared anonymously with your team's digest._"
        if note.shared
        else "_Not shared: it stays out of the digest._"
    )
    return f"{text}\n{quote(note.text, NOTE_EXCERPT)}\n{shared}"


def _week(round: CheckinRound) -> str:
    start = round.period_start
    return f"week of {start.day} {start:%b}"


def checkin_tip(bank: PromptBank, round: CheckinRound) -> Tip:
    """The closing tip of a round, "a practice for next week": from a dimension this week's
    questions did not ask about, so it never comments on an answer; stable per round."""
    asked = {bank.prompt(p).dimension for p in round.prompt_ids if bank.has_prompt(p)}
    others = [d for d in Dimension if d not in asked and bank.tips_for(d, Audience.REP)]
    choices = others or [d for d in Dimension if bank.tips_for(d, Audience.REP)]
    dimension = choices[zlib.crc32(f"round:{round.id}".encode()) % len(choices)]
    return bank.pick_tip(dimension, key=f"round:{round.id}", audience=Audience.REP)


def _anchored(prompts: list[Prompt], deal: str | None) -> dict[str, str]:
    """The question asked about ``deal`` (the first with a deal wording), as it reads."""
    if not deal:
        return {}
    first = next((p for p in prompts if p.on_deal is not None and p.kind != "text"), None)
    return {} if first is None else {first.id: first.text_for(escape(deal))}


# --------------------------------------------------------------------------- messages


def checkin_message(
    bank: PromptBank,
    round: CheckinRound,
    answers: Mapping[str, str],
    note: Note | None,
    *,
    state: State = "open",
    tip: Tip,
    deal: str | None = None,
) -> dict[str, Any]:
    """``chat.postMessage`` / ``chat.update`` kwargs for a rep's check-in.

    ``answers`` is ``{prompt_id: value}``; ``deal`` is the name of the deal the rep touched
    this week (:func:`bot.core.rotation.anchor_deal`), which the first question with a deal
    wording asks about. Open: one row of buttons (or a select) per question, the chosen answer
    highlighted with its own feedback, and an "Add a note" button for a free-text prompt.
    Closed: what was answered and its next step, no buttons. Raises ``ValueError`` for a round
    that cannot fit in one message.
    """
    if round.id is None:
        raise ValueError("the round has no id yet: save it before building its message")
    prompts = _prompts(bank, round)
    questions = [p for p in prompts if p.kind != "text"]
    note_prompt = next((p for p in prompts if p.kind == "text"), None)
    asked = _anchored(questions, deal)
    title = f"Weekly trust check-in · {_week(round)}"
    blocks: list[Block] = [
        {"type": "header", "block_id": "header", "text": plain(title, 150)},
    ]
    practice = context(f":seedling: *A practice for next week:* {tip.text}", block_id="tip")
    if state == "closed":
        for number, prompt in enumerate(questions, start=1):
            said = asked.get(prompt.id, prompt.text)
            blocks.extend(closed_blocks(prompt, number, answers.get(prompt.id), said))
        if note_prompt is not None and note is not None:
            blocks.append(section(_note_text(note_prompt, note), block_id=NOTE_BLOCK))
        blocks.append(context(CLOSED_TEXT + " Thank you for taking the time.", block_id="closed"))
        blocks.append(practice)
        fallback = f"Your trust check-in for the {_week(round)} has closed."
    else:
        count = len(questions)
        plural = "s" if count != 1 else ""
        blocks.append(
            section(
                f"{count} quick question{plural} to ask yourself about this week. A tap saves "
                "your answer; you can change it until the check-in closes.\n"
                "_Only questions about your own conduct are ever scored. Answers are stored "
                "under a pseudonym; your manager only ever sees team figures._",
                block_id="intro",
            )
        )
        for number, prompt in enumerate(questions, start=1):
            blocks.extend(
                question_blocks(
                    prompt, number, round.id, answers.get(prompt.id), text=asked.get(prompt.id)
                )
            )
        if note_prompt is not None:
            button = {
                "type": "button",
                "action_id": NOTE_ACTION,
                "text": plain("Edit note" if note is not None else "Add a note"),
                "value": str(round.id),
            }
            blocks.append(
                section(_note_text(note_prompt, note), block_id=NOTE_BLOCK, accessory=button)
            )
        blocks.append(practice)
        fallback = f"Your weekly trust check-in: {count} quick question{plural}."
    if len(blocks) > MAX_BLOCKS:  # pragma: no cover - guarded by MAX_PROMPTS
        raise ValueError(f"the check-in message needs {len(blocks)} blocks; Slack allows 50")
    return {"text": fallback, "blocks": blocks}


def note_modal(
    round_id: int,
    note_text: str | None,
    shared: bool,
    *,
    question: str | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    """The modal for a check-in's free-text note, with the "share anonymously" checkbox."""
    share_option = {"text": plain(SHARE_LABEL), "value": SHARE_VALUE}
    text_input: Block = {
        "type": "plain_text_input",
        "action_id": NOTE_INPUT,
        "multiline": True,
        "max_length": 3000,
    }
    if note_text:
        text_input["initial_value"] = note_text[:3000]
    if placeholder:
        text_input["placeholder"] = plain(placeholder, 150)
    checkboxes: Block = {"type": "checkboxes", "action_id": SHARE_INPUT, "options": [share_option]}
    if shared:
        checkboxes["initial_options"] = [share_option]
    return {
        "type": "modal",
        "callback_id": NOTE_CALLBACK,
        "private_metadata": str(round_id),
        "title": plain("Your note", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "label": plain(question or "Anything about trust this week worth noting?", 2000),
                "element": text_input,
            },
            {
                "type": "input",
                "block_id": SHARE_BLOCK,
                "optional": True,
                "label": plain("Sharing", 2000),
                "element": checkboxes,
                "hint": plain(
                    "A shared note reaches the team digest without your name, and only when "
                    "enough of the team answered. Unshared, it stays out of every digest.",
                    2000,
                ),
            },
        ],
    }


def reminder_message(round: CheckinRound, permalink: str | None = None) -> dict[str, Any]:
    """A short nudge that the check-in is still open, pointing at the earlier message."""
    where = f"<{permalink}|the check-in message>" if permalink else "the check-in message above"
    text = (
        f":wave: Your trust check-in for the {_week(round)} is still open. "
        f"A few clicks in {where} and you're done."
    )
    return {"text": text, "blocks": [section(text, block_id="reminder")]}


def note_modal_for(bank: PromptBank, round: CheckinRound, note: Note | None) -> dict[str, Any]:
    """:func:`note_modal` for a round, asking its free-text prompt (with its placeholder)."""
    assert round.id is not None
    prompt = next(
        (
            bank.prompt(p)
            for p in round.prompt_ids
            if bank.has_prompt(p) and bank.prompt(p).kind == "text"
        ),
        None,
    )
    placeholder = getattr(prompt.answer, "placeholder", None) if prompt else None
    return note_modal(
        round.id,
        note.text if note else None,
        bool(note and note.shared),
        question=prompt.text if prompt else None,
        placeholder=placeholder,
    )


def note_submission(view: Mapping[str, Any]) -> tuple[int, str, bool]:
    """``(round_id, text, shared)`` from a submitted note modal; ``ValueError`` if the
    ``private_metadata`` is not a round id. The text is returned as typed (maybe empty)."""
    round_id = parse_round_id(view.get("private_metadata"))
    values = (view.get("state") or {}).get("values") or {}
    typed = ((values.get(NOTE_BLOCK) or {}).get(NOTE_INPUT) or {}).get("value")
    ticked = ((values.get(SHARE_BLOCK) or {}).get(SHARE_INPUT) or {}).get("selected_options")
    shared = any(isinstance(o, Mapping) and o.get("value") == SHARE_VALUE for o in ticked or [])
    return round_id, typed if isinstance(typed, str) else "", shared
