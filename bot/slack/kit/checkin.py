"""Block Kit for the weekly check-in DM: the questions as buttons, the note modal, the reminder.

A rep answers with clicks; every click comes back as a ``block_actions`` payload whose
``action_id`` starts with ``checkin.answer:<prompt_id>`` and whose value is
``"<round_id>|<value>"``. Slack wants action IDs unique within a block, so each button adds
``:<value>`` (``checkin.answer:care.interests_first:4``); a select uses the bare form.
The note button is ``checkin.note`` with value ``"<round_id>"``; the modal's callback_id is
``checkin.note`` with the round id in ``private_metadata``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from bot.core.prompts import (
    Audience,
    ChoiceAnswer,
    ChoiceOption,
    Dimension,
    Prompt,
    PromptBank,
    ScaleAnswer,
    Tip,
)
from bot.slack.kit.blocks import Block, context, plain, quote, section
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
MAX_PROMPTS = 15
"""Most prompts a check-in message can hold: 3 blocks per question + 4 around them <= 50."""
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
            return f"{value} of 5" if isinstance(prompt.answer, ScaleAnswer) else option.label
    return None


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
    return [bank.prompt(p) for p in ids]


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
    prompt: Prompt, number: int, ref: int, chosen: str | None, action: str = ANSWER_ACTION
) -> list[Block]:
    """One question: its text, a row of buttons (or a select) whose values carry ``ref``
    (the round, or the nudge's delivery) and, once answered, the prompt's guidance."""
    blocks = [
        section(f"*{number}. {prompt.text}*", block_id=f"q|{prompt.id}"),
        {
            "type": "actions",
            "block_id": f"a|{prompt.id}",
            "elements": _answer_element(prompt, ref, chosen, action),
        },
    ]
    notes = []
    if isinstance(prompt.answer, ScaleAnswer):
        notes.append(f"1 = {prompt.answer.low}  ·  5 = {prompt.answer.high}")
    if chosen is not None and answer_label(prompt, chosen) is not None:
        notes.append(f":bulb: {prompt.guidance}")
    if notes:
        blocks.append(context(*notes, block_id=f"c|{prompt.id}"))
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
    """The closing tip of a round: chosen by the first prompt's dimension, stable per round."""
    first = next((p for p in round.prompt_ids if bank.has_prompt(p)), None)
    dimension = bank.prompt(first).dimension if first else Dimension.GOAL
    return bank.pick_tip(dimension, key=f"round:{round.id}", audience=Audience.REP)


# --------------------------------------------------------------------------- messages


def checkin_message(
    bank: PromptBank,
    round: CheckinRound,
    answers: Mapping[str, str],
    note: Note | None,
    *,
    state: State = "open",
    tip: Tip,
) -> dict[str, Any]:
    """``chat.postMessage`` / ``chat.update`` kwargs for a rep's check-in.

    ``answers`` is ``{prompt_id: value}``. Open: one row of buttons (or a select) per
    question, the chosen answer highlighted, its guidance shown once answered, and an
    "Add a note" button for a free-text prompt. Closed: what was answered, no buttons.
    Raises ``ValueError`` for a round that cannot fit in one message.
    """
    if round.id is None:
        raise ValueError("the round has no id yet: save it before building its message")
    prompts = _prompts(bank, round)
    questions = [p for p in prompts if p.kind != "text"]
    note_prompt = next((p for p in prompts if p.kind == "text"), None)
    title = f"Weekly trust check-in · {_week(round)}"
    blocks: list[Block] = [
        {"type": "header", "block_id": "header", "text": plain(title, 150)},
    ]
    if state == "closed":
        for number, prompt in enumerate(questions, start=1):
            chosen = answers.get(prompt.id)
            label = answer_label(prompt, chosen) if chosen is not None else None
            shown = f"*{label}*" if label else "_No answer_"
            blocks.append(section(f"{number}. {prompt.text}\n{shown}", block_id=f"q|{prompt.id}"))
        if note_prompt is not None and note is not None:
            blocks.append(section(_note_text(note_prompt, note), block_id=NOTE_BLOCK))
        blocks.append(context(CLOSED_TEXT + " Thank you for taking the time.", block_id="closed"))
        blocks.append(context(f":seedling: *Tip:* {tip.text}", block_id="tip"))
        fallback = f"Your trust check-in for the {_week(round)} has closed."
    else:
        blocks.append(
            section(
                "A few quick questions to ask yourself about this week. Tap an answer: it is "
                "saved at once, and you can change it until the check-in closes.\n"
                "_Your answers are stored under a pseudonym; your manager only ever sees "
                "team figures._",
                block_id="intro",
            )
        )
        for number, prompt in enumerate(questions, start=1):
            blocks.extend(question_blocks(prompt, number, round.id, answers.get(prompt.id)))
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
        blocks.append(context(f":seedling: *Tip:* {tip.text}", block_id="tip"))
        count = len(questions)
        plural = "s" if count != 1 else ""
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
