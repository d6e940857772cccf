"""Block Kit for the manager's weekly check-in: estimates of how the team answers, then a
self-check on seed 003's leadership behaviours, each answer with a word back and a next step
(:mod:`bot.core.manager_checkin`)."""

from __future__ import annotations

from typing import Any

from bot.core.manager_checkin import (
    ESTIMATES,
    SELF_LABELS,
    ManagerState,
    estimate_items,
    self_checks,
)
from bot.core.prompts import PromptBank
from bot.slack.kit.blocks import Block, button, context, escape, header, inert, section

__all__ = ["MANAGER_ACTION", "manager_message"]

MANAGER_ACTION = "manager.answer"


def _buttons(state: ManagerState, item_id: str, values: dict[str, str]) -> Block:
    chosen = state.chosen.get(item_id)
    return {
        "type": "actions",
        "block_id": f"a|{item_id}",
        "elements": [
            button(
                f"{MANAGER_ACTION}:{item_id}:{value}",
                f"✓ {label}" if value == chosen else label,
                value=f"{state.delivery_id}|{value}",
                style="primary" if value == chosen else None,
            )
            for value, label in values.items()
        ],
    }


def _answered(chosen: str | None, label: str | None) -> str:
    return f"*{label}*" if chosen is not None and label else "_No answer_"


def manager_message(bank: PromptBank, state: ManagerState) -> dict[str, Any]:
    """``chat.postMessage`` / ``chat.update`` kwargs for the manager's check-in."""
    week = f"week of {state.period_start.day} {state.period_start:%b}"
    team = inert(state.team_name)
    blocks: list[Block] = [
        header(f"Your check-in as a manager · {week}"),
        context(
            f"For the team {team}. Two minutes: how you think the team would answer, then a "
            "look at your own week. Only you see your answers; the digest sets your estimate "
            "beside the team's own answer once enough reps have answered."
        ),
    ]
    number = 0
    for item in estimate_items(bank, state.asked):
        number += 1
        text = f"*{number}. How would your reps answer, on average?*\n“{escape(item.text)}”"
        chosen = state.chosen.get(item.prompt_id)
        if state.open:
            blocks += [
                section(text, block_id=f"q|{item.prompt_id}"),
                _buttons(state, item.prompt_id, {v: v for v in ESTIMATES}),
                context("1 = hardly any of them  ·  5 = all of them, every time"),
            ]
        else:
            blocks.append(section(f"{text}\n{_answered(chosen, chosen)}"))
    for check in self_checks():
        number += 1
        chosen = state.chosen.get(check.id)
        text = f"*{number}. {escape(check.text)}*"
        if state.open:
            blocks += [
                section(text, block_id=f"q|{check.id}"),
                _buttons(state, check.id, dict(SELF_LABELS)),
            ]
        else:
            label = SELF_LABELS.get(chosen or "")
            blocks.append(section(f"{text}\n{_answered(chosen, label)}"))
        said = check.answers.get(chosen) if chosen in check.answers else None
        if said is not None:
            blocks.append(context(f"💡 {escape(said.text)}\n👉 *Next:* {escape(said.next)}"))
    if not state.open:
        blocks.append(context("This check-in has closed. The next one comes with the team's."))
    text = f"Your check-in as a manager, {week}"
    return {"text": text, "blocks": blocks}
