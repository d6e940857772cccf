"""The question bank, deal moments and coaching tips, loaded from ``prompts/*.yaml``.

Plain Python (no Slack): pydantic models for the three YAML files, a strict loader that
turns every problem into a :class:`PromptBankError` naming the file, the item and what is
wrong, and a few helpers the handlers, the scheduler and the digest use.
"""

from __future__ import annotations

from bot.core.prompts.loading import default_bank, load_bank
from bot.core.prompts.model import (
    CHECKIN,
    GOAL_PROMPT_ID,
    NO,
    SEEDS,
    TRUST_AND_VALUE,
    YES,
    Answer,
    Audience,
    ChoiceAnswer,
    ChoiceOption,
    DealChange,
    Dimension,
    InvestmentRule,
    Moment,
    Prompt,
    PromptBank,
    PromptBankError,
    ScaleAnswer,
    TextAnswer,
    Tip,
    Verdict,
    YesNoAnswer,
)

__all__ = [
    "CHECKIN",
    "GOAL_PROMPT_ID",
    "NO",
    "SEEDS",
    "TRUST_AND_VALUE",
    "YES",
    "Answer",
    "Audience",
    "ChoiceAnswer",
    "ChoiceOption",
    "DealChange",
    "Dimension",
    "InvestmentRule",
    "Moment",
    "Prompt",
    "PromptBank",
    "PromptBankError",
    "ScaleAnswer",
    "TextAnswer",
    "Tip",
    "Verdict",
    "YesNoAnswer",
    "default_bank",
    "load_bank",
]
