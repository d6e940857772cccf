"""Block Kit for a deal nudge DM: the deal and what changed, the moment's questions as
buttons with each answer's own feedback, and, for a new deal, seed 000's verdict once its
three questions are answered, with a next step for every No and every "not sure yet"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.deals import NudgeContent
from bot.core.deals.follow_through import Action
from bot.core.nudges import NudgeState
from bot.core.prompts import NOT_SURE, DealChange, PromptBank
from bot.core.verdicts import decide
from bot.slack.kit.blocks import Block, context, escape, header, inert, section
from bot.slack.kit.checkin import MAX_BLOCKS, closed_blocks, question_blocks
from bot.slack.kit.follow_through import follow_block

ANSWER_ACTION = "nudge.answer"
"""Action ids ``nudge.answer:<prompt id>[:<value>]``; values ``"<delivery id>|<value>"``."""

CLOSED_TEXT = "This nudge has closed."
VERDICT_ICONS = {
    "go": ":large_green_circle:",
    "stop": ":red_circle:",
    "think": ":thinking_face:",
    "find_out": ":mag:",
}
RULE_HINT = (
    "Answer all three and I'll sum up: yes to all three, go; no to all three, stop (a good "
    'decision, never scored); anything else, a next step for each No or "not sure".'
)


def _deal(content: NudgeContent) -> str:
    return f"*{inert(content.deal_name or content.deal_id)}*"


def _value(text: str | None) -> str:
    return f"`{inert(text)}`" if text else "_unknown_"


def what_changed(content: NudgeContent) -> str:
    """One line saying what happened to the deal, as the CRM told us."""
    deal, before, after = _deal(content), _value(content.from_value), _value(content.to_value)
    lines = {
        DealChange.CREATED: f"New deal {deal}.",
        DealChange.STAGE_CHANGED: f"{deal} moved from stage {before} to {after}.",
        DealChange.CLOSE_DATE_CHANGED: f"The close date of {deal} moved from {before} to {after}.",
        DealChange.AMOUNT_CHANGED: f"The amount of {deal} changed from {before} to {after}.",
        DealChange.DISCOUNT_REQUESTED: f"A discount was requested on {deal}"
        + (f" ({after})." if content.to_value else "."),
        DealChange.WON: f"{deal} was won.",
        DealChange.LOST: f"{deal} was lost.",
    }
    return lines[content.change]


def _verdict_block(content: NudgeContent, given: Mapping[str, str], bank: PromptBank) -> Block:
    found = decide(content.rule, given, bank)
    if found is None:
        return context(RULE_HINT, block_id="verdict")
    lines = [
        f"{VERDICT_ICONS[found.name]} *{escape(found.said.label)}.* {escape(found.said.message)}"
    ]
    for follow in found.follow_ups:
        said = "not sure yet" if follow.answer == NOT_SURE else "no"
        lines.append(f"• *{escape(follow.name)}* ({said}): {escape(follow.next)}")
    if found.said.next:
        lines.append(f":point_right: *Next:* {escape(found.said.next)}")
    return section("\n".join(lines), block_id="verdict")


def nudge_message(
    bank: PromptBank, state: NudgeState, offers: Sequence[Action] = ()
) -> dict[str, Any]:
    """``chat.postMessage`` / ``chat.update`` kwargs for a rep's deal nudge.

    Open: one row of buttons (or a select) per question, the chosen answer highlighted with
    its own feedback, then the follow-through ``offers`` (optional buttons); closed: what was
    answered and its next step, no buttons.
    """
    content, given = state.content, state.answers
    prompts = [bank.prompt(p) for p in content.prompt_ids]
    blocks: list[Block] = [header(content.title), section(what_changed(content))]
    if state.closed:
        for number, prompt in enumerate(prompts, start=1):
            blocks.extend(closed_blocks(prompt, number, given.get(prompt.id), prompt.text))
        blocks.append(context(CLOSED_TEXT + " Thank you for taking the time."))
        fallback = f"Your reflection on {inert(content.deal_name or content.deal_id)} has closed."
    else:
        blocks.append(
            context(
                f"{escape(content.intro)} Tap an answer: it is saved at once and you can change "
                "it until the nudge closes. Your manager only ever sees team figures."
            )
        )
        if content.note:
            blocks.append(context(f":mag: {escape(content.note)}", block_id="note"))
        for number, prompt in enumerate(prompts, start=1):
            blocks.extend(
                question_blocks(
                    prompt, number, content.delivery_id, given.get(prompt.id), ANSWER_ACTION
                )
            )
        fallback = f"{content.title} ({inert(content.deal_name or content.deal_id)})"
    if content.rule is not None and not (
        state.closed and decide(content.rule, given, bank) is None
    ):
        blocks.append(_verdict_block(content, given, bank))  # a closed nudge: only a verdict
    if not state.closed:
        blocks.extend(follow_block(content.delivery_id, offers))
    if len(blocks) > MAX_BLOCKS:  # pragma: no cover - a moment asks a handful of questions
        raise ValueError(f"the nudge message needs {len(blocks)} blocks; Slack allows 50")
    return {"text": fallback[:3000], "blocks": blocks}
