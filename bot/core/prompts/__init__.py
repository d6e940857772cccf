"""The question bank, deal moments and coaching tips, loaded from ``prompts/*.yaml``.

Plain Python (no Slack): pydantic models for the three YAML files, a strict loader that
turns every problem into a :class:`PromptBankError` naming the file, the item and what is
wrong, and a few helpers the handlers, the scheduler and the digest use.

Every prompt says what it :class:`Measures`: the rep's own ``behaviour`` (the only kind ever
scored, :meth:`PromptBank.score`), a ``situation`` (evidence about the client, the deal or the
team) or a ``decision`` (seed 000's go / stop, qualifying out); and every answer has its own
:class:`Feedback`, a word back and one next step.
"""

from __future__ import annotations

from bot.core.prompts.answers import (
    Answer,
    ChoiceAnswer,
    ChoiceOption,
    Feedback,
    ScaleAnswer,
    TextAnswer,
    YesNoAnswer,
)
from bot.core.prompts.bank import (
    PromptBank,
)
from bot.core.prompts.loading import default_bank, load_bank
from bot.core.prompts.prompt import (
    VERDICTS,
    InvestmentRule,
    Moment,
    Prompt,
    Tip,
    Verdict,
    VerdictName,
)
from bot.core.prompts.vocabulary import (
    CHECKIN,
    DIDNT_COME_UP,
    DIDNT_COME_UP_LABEL,
    GOAL_PROMPT_ID,
    NO,
    NOT_SURE,
    RULE_MOMENTS,
    SEEDS,
    TRUST_AND_VALUE,
    YES,
    Audience,
    DealChange,
    Dimension,
    Measures,
    MomentKey,
    PromptBankError,
)

__all__ = [
    "CHECKIN",
    "DIDNT_COME_UP",
    "DIDNT_COME_UP_LABEL",
    "GOAL_PROMPT_ID",
    "NO",
    "NOT_SURE",
    "RULE_MOMENTS",
    "SEEDS",
    "TRUST_AND_VALUE",
    "VERDICTS",
    "YES",
    "Answer",
    "Audience",
    "ChoiceAnswer",
    "ChoiceOption",
    "DealChange",
    "Dimension",
    "Feedback",
    "InvestmentRule",
    "Measures",
    "Moment",
    "MomentKey",
    "Prompt",
    "PromptBank",
    "PromptBankError",
    "ScaleAnswer",
    "TextAnswer",
    "Tip",
    "Verdict",
    "VerdictName",
    "YesNoAnswer",
    "default_bank",
    "load_bank",
]
