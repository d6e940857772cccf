"""The question bank's model: dimensions, deal moments, prompts and their answers, coaching
tips, and :class:`PromptBank`, the checked bank with the helpers the app uses."""

from __future__ import annotations

import enum
import zlib
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

# Slack Block Kit limits the bank must respect.
PROMPT_TEXT_MAX = 150  # fits a section / header comfortably
OPTION_LABEL_MAX = 75  # button / option plain_text
OPTION_VALUE_MAX = 150  # option value
PLACEHOLDER_MAX = 150  # input placeholder
GUIDANCE_MAX = 300
TIP_TEXT_MAX = 300
TITLE_MAX = 150  # header block
INTRO_MAX = 300
ID_MAX = 64

QUESTIONS_FILE = "questions.yaml"
MOMENTS_FILE = "moments.yaml"
TIPS_FILE = "tips.yaml"

CHECKIN = "checkin"
"""The ``use`` value for the weekly check-in (the others are :class:`DealChange` values)."""

GOAL_PROMPT_ID = "goal.trust_or_else"
"""The seed-001 question "What is my goal: trust and value, or something else?"."""
TRUST_AND_VALUE = "trust_and_value"
"""The goal question's option value for "trust and value"."""

YES = "yes"
NO = "no"

SEEDS: dict[str, str] = {
    "000": "Trust – a firm belief in the reliability, truth, or ability of someone or something",
    "001": "The fundamentals of all business relationships – It's all about Trust and Value",
    "002": "The role of trust in sales",
    "003": "Why building trust is key to sustainable long-term sales relationships",
    "004": "Your sales force likely has a massive blind spot (trust)",
}
"""The seed articles (``shared/seeds/NNN_*.txt``) every prompt and tip must cite."""

_SLUG = r"^[a-z0-9]+(?:[_-][a-z0-9]+)*(?:\.[a-z0-9]+(?:[_-][a-z0-9]+)*)*$"


class Dimension(enum.StrEnum):
    """The trust dimensions every prompt and tip is tagged with (PRODUCT.md, trust model)."""

    GOAL = "goal"
    INTEGRITY = "integrity"
    COMPETENCE = "competence"
    CARE = "care"
    CANDOR = "candor"
    RELIABILITY = "reliability"
    VALUE_FOCUS = "value_focus"
    INTERNAL_TRUST = "internal_trust"


class DealChange(enum.StrEnum):
    """Deal moments; the values are the deal webhook's ``change`` values."""

    CREATED = "created"
    STAGE_CHANGED = "stage_changed"
    CLOSE_DATE_CHANGED = "close_date_changed"
    AMOUNT_CHANGED = "amount_changed"
    DISCOUNT_REQUESTED = "discount_requested"
    WON = "won"
    LOST = "lost"


class Audience(enum.StrEnum):
    """Who a coaching tip is written for."""

    REP = "rep"
    MANAGER = "manager"


_DIMENSIONS = frozenset(d.value for d in Dimension)
_CHANGES = frozenset(c.value for c in DealChange)
_USES = frozenset({CHECKIN, *_CHANGES})
_AUDIENCES = frozenset(a.value for a in Audience)


class PromptBankError(ValueError):
    """A prompt-bank file is missing, unreadable or invalid.

    ``file`` is the offending file, ``item`` the prompt / tip / moment id when known.
    """

    def __init__(self, message: str, *, file: str | None = None, item: str | None = None):
        super().__init__(message)
        self.file = file
        self.item = item


# --------------------------------------------------------------------------- models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _one_of(value: object, allowed: frozenset[str], what: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(sorted(allowed))}")
    return value


def _seeds(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    if not items:
        raise ValueError("at least one seed number is needed")
    out: list[str] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            raise ValueError(
                f'{item!r} is a number; write seed numbers quoted, like "001" '
                "(an unquoted 001 reads as 1)"
            )
        out.append(_one_of(item, frozenset(SEEDS), "seed number"))
    if len(set(out)) != len(out):
        raise ValueError(f"seed numbers repeat: {out}")
    return tuple(out)


def _fits(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters; at most {limit} allowed: {value!r}")
    return value


class ChoiceOption(_Strict):
    """One option of a ``choice`` prompt; ``score`` (1-5) makes it count in averages."""

    value: Annotated[str, Field(min_length=1, pattern=_SLUG)]
    label: Annotated[str, Field(min_length=1)]
    score: Annotated[int, Field(ge=1, le=5, strict=True)] | None = None

    @field_validator("value")
    @classmethod
    def _value_fits(cls, v: str) -> str:
        return _fits(v, OPTION_VALUE_MAX, "option value")

    @field_validator("label")
    @classmethod
    def _label_fits(cls, v: str) -> str:
        return _fits(v, OPTION_LABEL_MAX, "option label")


class ScaleAnswer(_Strict):
    """A 1-5 scale; ``low`` labels 1 and ``high`` labels 5 (5 is the trustworthy end)."""

    type: Literal["scale"]
    low: Annotated[str, Field(min_length=1)]
    high: Annotated[str, Field(min_length=1)]

    @field_validator("low", "high")
    @classmethod
    def _label_fits(cls, v: str) -> str:
        return _fits(v, OPTION_LABEL_MAX, "scale label")

    def choices(self) -> list[ChoiceOption]:
        """The five buttons, values ``"1"``..``"5"``."""
        return [ChoiceOption(value=str(n), label=str(n), score=n) for n in range(1, 6)]


class ChoiceAnswer(_Strict):
    """Pick one of 2-5 options."""

    type: Literal["choice"]
    options: Annotated[tuple[ChoiceOption, ...], Field(min_length=2, max_length=5)]

    @field_validator("options")
    @classmethod
    def _unique(cls, v: tuple[ChoiceOption, ...]) -> tuple[ChoiceOption, ...]:
        for attr in ("value", "label"):
            seen = [getattr(o, attr) for o in v]
            dupes = sorted({x for x in seen if seen.count(x) > 1})
            if dupes:
                raise ValueError(f"duplicate option {attr}: {', '.join(dupes)}")
        return v

    def choices(self) -> list[ChoiceOption]:
        """The options, in order."""
        return list(self.options)


class YesNoAnswer(_Strict):
    """Yes or no. ``yes_is_positive: false`` marks a negatively-phrased prompt (yes scores 1)."""

    type: Literal["yes_no"]
    yes_is_positive: Annotated[bool, Field(strict=True)] = True

    def choices(self) -> list[ChoiceOption]:
        """Yes / No buttons, values ``"yes"`` / ``"no"``."""
        good, bad = (5, 1) if self.yes_is_positive else (1, 5)
        return [
            ChoiceOption(value=YES, label="Yes", score=good),
            ChoiceOption(value=NO, label="No", score=bad),
        ]


class TextAnswer(_Strict):
    """Free text (a note); optional unless ``optional: false``."""

    type: Literal["text"]
    optional: Annotated[bool, Field(strict=True)] = True
    placeholder: str | None = None

    @field_validator("placeholder")
    @classmethod
    def _placeholder_fits(cls, v: str | None) -> str | None:
        return None if v is None else _fits(v, PLACEHOLDER_MAX, "placeholder")

    def choices(self) -> list[ChoiceOption]:
        """No buttons: free text is typed in a modal."""
        return []


Answer = Annotated[
    ScaleAnswer | ChoiceAnswer | YesNoAnswer | TextAnswer, Field(discriminator="type")
]
"""How a prompt is answered: ``scale``, ``choice``, ``yes_no`` or ``text``."""


class Prompt(_Strict):
    """One reflective question, as a rep would ask themselves."""

    id: Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=_SLUG)]
    text: Annotated[str, Field(min_length=1)]
    dimension: Dimension
    answer: Answer
    seed: tuple[str, ...]
    guidance: Annotated[str, Field(min_length=1)]
    use: Annotated[tuple[str, ...], Field(min_length=1)]
    enabled_by_default: Annotated[bool, Field(strict=True)] = True
    manager_text: str | None = None
    """For perception-gap prompts: how the manager is asked to estimate the team's answer."""

    @field_validator("dimension", mode="before")
    @classmethod
    def _known_dimension(cls, v: object) -> str:
        return _one_of(v, _DIMENSIONS, "dimension")

    @field_validator("seed", mode="before")
    @classmethod
    def _known_seed(cls, v: object) -> tuple[str, ...]:
        return _seeds(v)

    @field_validator("text")
    @classmethod
    def _text_fits(cls, v: str) -> str:
        return _fits(v, PROMPT_TEXT_MAX, "prompt text")

    @field_validator("manager_text")
    @classmethod
    def _manager_text_fits(cls, v: str | None) -> str | None:
        return None if v is None else _fits(v, PROMPT_TEXT_MAX, "manager_text")

    @field_validator("guidance")
    @classmethod
    def _guidance_fits(cls, v: str) -> str:
        return _fits(v, GUIDANCE_MAX, "guidance")

    @field_validator("use", mode="before")
    @classmethod
    def _known_uses(cls, v: object) -> tuple[str, ...]:
        if not isinstance(v, list | tuple):
            raise ValueError(f"use must be a list such as [checkin], not {v!r}")
        out = tuple(_one_of(u, _USES, "use") for u in v)
        if len(set(out)) != len(out):
            raise ValueError(f"use lists something twice: {list(out)}")
        return out

    @model_validator(mode="after")
    def _manager_text_on_scale(self) -> Prompt:
        if self.manager_text is not None and not isinstance(self.answer, ScaleAnswer):
            raise ValueError("manager_text is only allowed on scale prompts")
        return self

    @property
    def in_checkin(self) -> bool:
        """Whether the prompt belongs to the weekly check-in."""
        return CHECKIN in self.use

    @property
    def kind(self) -> str:
        """The answer type: ``scale``, ``choice``, ``yes_no`` or ``text``."""
        return self.answer.type


class Verdict(_Strict):
    """What the seed-000 rule says for one outcome."""

    label: Annotated[str, Field(min_length=1)]
    message: Annotated[str, Field(min_length=1)]

    @field_validator("label")
    @classmethod
    def _label_fits(cls, v: str) -> str:
        return _fits(v, OPTION_LABEL_MAX, "verdict label")

    @field_validator("message")
    @classmethod
    def _message_fits(cls, v: str) -> str:
        return _fits(v, GUIDANCE_MAX, "verdict message")


class InvestmentRule(_Strict):
    """Seed 000: yes to all the questions, go; no to all, stop; otherwise think hard."""

    prompts: Annotated[tuple[str, ...], Field(min_length=1)]
    go: Verdict
    stop: Verdict
    think: Verdict

    def verdict(self, answers: Mapping[str, bool]) -> Literal["go", "stop", "think"]:
        """``go`` / ``stop`` / ``think`` for yes/no answers keyed by prompt id.

        Raises ``ValueError`` if one of the rule's questions is unanswered; other keys
        are ignored.
        """
        missing = [p for p in self.prompts if p not in answers]
        if missing:
            raise ValueError(f"unanswered investment question(s): {', '.join(missing)}")
        values = [bool(answers[p]) for p in self.prompts]
        if all(values):
            return "go"
        if not any(values):
            return "stop"
        return "think"

    def outcome(self, verdict: str) -> Verdict:
        """The label and message for a verdict name."""
        if verdict not in ("go", "stop", "think"):
            raise ValueError(f"unknown verdict {verdict!r}")
        result: Verdict = getattr(self, verdict)
        return result


class Moment(_Strict):
    """A deal moment's nudge: title, one-line intro, ordered prompt ids (and seed-000 rule)."""

    title: Annotated[str, Field(min_length=1)]
    intro: Annotated[str, Field(min_length=1)]
    prompts: Annotated[tuple[str, ...], Field(min_length=1)]
    rule: InvestmentRule | None = None

    @field_validator("title")
    @classmethod
    def _title_fits(cls, v: str) -> str:
        return _fits(v, TITLE_MAX, "title")

    @field_validator("intro")
    @classmethod
    def _intro_fits(cls, v: str) -> str:
        return _fits(v, INTRO_MAX, "intro")


class Tip(_Strict):
    """A coaching tip drawn from a seed; closes check-ins and focuses digests."""

    id: Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=_SLUG)]
    dimension: Dimension
    text: Annotated[str, Field(min_length=1)]
    seed: tuple[str, ...]
    audience: tuple[Audience, ...] = (Audience.REP, Audience.MANAGER)

    @field_validator("dimension", mode="before")
    @classmethod
    def _known_dimension(cls, v: object) -> str:
        return _one_of(v, _DIMENSIONS, "dimension")

    @field_validator("seed", mode="before")
    @classmethod
    def _known_seed(cls, v: object) -> tuple[str, ...]:
        return _seeds(v)

    @field_validator("audience", mode="before")
    @classmethod
    def _known_audience(cls, v: object) -> tuple[str, ...]:
        if not isinstance(v, list | tuple) or not v:
            raise ValueError(f"audience must be a non-empty list such as [rep], not {v!r}")
        return tuple(_one_of(a, _AUDIENCES, "audience") for a in v)

    @field_validator("text")
    @classmethod
    def _text_fits(cls, v: str) -> str:
        return _fits(v, TIP_TEXT_MAX, "tip text")


class QuestionsFile(_Strict):
    prompts: Annotated[list[Prompt], Field(min_length=1)]


class MomentsFile(_Strict):
    moments: dict[DealChange, Moment]

    @field_validator("moments", mode="before")
    @classmethod
    def _known_changes(cls, v: object) -> object:
        if isinstance(v, dict):
            for key in v:
                _one_of(key, _CHANGES, "deal moment")
        return v


class TipsFile(_Strict):
    tips: Annotated[list[Tip], Field(min_length=1)]


class PromptBank(BaseModel):
    """All prompts, moments and tips, cross-checked. Build it with :func:`load_bank`."""

    model_config = ConfigDict(frozen=True)

    prompts: tuple[Prompt, ...]
    moments: dict[DealChange, Moment]
    tips: tuple[Tip, ...]
    _by_id: dict[str, Prompt] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        self._by_id.update({p.id: p for p in self.prompts})

    def prompt(self, prompt_id: str) -> Prompt:
        """The prompt with this id (``KeyError`` if there is none)."""
        try:
            return self._by_id[prompt_id]
        except KeyError:
            raise KeyError(f"no prompt with id {prompt_id!r}") from None

    def has_prompt(self, prompt_id: str) -> bool:
        """Whether a prompt with this id exists."""
        return prompt_id in self._by_id

    def checkin_prompts(self) -> list[Prompt]:
        """Every prompt that may appear in the weekly check-in, enabled or not."""
        return [p for p in self.prompts if p.in_checkin]

    def default_checkin_ids(self) -> set[str]:
        """Ids of the check-in prompts that are on unless an admin changes them."""
        return {p.id for p in self.checkin_prompts() if p.enabled_by_default}

    def for_checkin(self, enabled_ids: AbstractSet[str] | None = None) -> list[Prompt]:
        """The check-in prompts to ask, in bank order with free-text notes last.

        ``enabled_ids=None`` means the defaults; otherwise exactly the check-in prompts
        whose id is in the set (unknown ids are ignored).
        """
        wanted = self.default_checkin_ids() if enabled_ids is None else enabled_ids
        chosen = [p for p in self.checkin_prompts() if p.id in wanted]
        return sorted(chosen, key=lambda p: p.kind == "text")

    def moment(self, change: DealChange | str) -> Moment:
        """The moment (title, intro, prompt ids, rule) for a deal change."""
        return self.moments[DealChange(change)]

    def for_moment(self, change: DealChange | str) -> list[Prompt]:
        """The prompts of a deal moment's nudge, in order."""
        return [self._by_id[pid] for pid in self.moment(change).prompts]

    def for_manager_estimate(self) -> list[Prompt]:
        """Scale prompts whose team average the digest compares with a manager's estimate."""
        return [p for p in self.prompts if p.manager_text is not None]

    def tips_for(
        self, dimension: Dimension | str, audience: Audience | str | None = None
    ) -> list[Tip]:
        """Tips for a dimension, optionally only those written for ``audience``."""
        dim = Dimension(dimension)
        aud = None if audience is None else Audience(audience)
        return [t for t in self.tips if t.dimension is dim and (aud is None or aud in t.audience)]

    def pick_tip(
        self, dimension: Dimension | str, key: str | int, audience: Audience | str | None = None
    ) -> Tip:
        """A tip for the dimension chosen stably from ``key`` (e.g. ``"team:2026-W47"``)."""
        tips = self.tips_for(dimension, audience) or self.tips_for(dimension)
        if not tips:
            raise KeyError(f"no tips for dimension {dimension!r}")
        return tips[zlib.crc32(str(key).encode()) % len(tips)]

    @property
    def investment_rule(self) -> InvestmentRule:
        """The seed-000 rule attached to the ``created`` moment."""
        rule = self.moments[DealChange.CREATED].rule
        assert rule is not None  # guaranteed by load_bank
        return rule

    def investment_verdict(self, answers: Mapping[str, bool]) -> Literal["go", "stop", "think"]:
        """Seed 000: ``'go'`` if all yes, ``'stop'`` if all no, else ``'think'``."""
        return self.investment_rule.verdict(answers)

    def scale_value(self, prompt: Prompt | str, raw: object) -> int | None:
        """A recorded answer as a 1-5 score for averaging, or ``None`` if it has none.

        scale: the number; yes_no: yes=5 / no=1 (reversed for negatively-phrased prompts);
        choice: the option's ``score``; text, unscored options and values the prompt does
        not know: ``None``.
        """
        p = self.prompt(prompt) if isinstance(prompt, str) else prompt
        answer = p.answer
        if isinstance(answer, TextAnswer):
            return None
        if isinstance(answer, YesNoAnswer):
            if isinstance(raw, bool):
                raw = YES if raw else NO
        elif isinstance(answer, ScaleAnswer) and isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            return None
        wanted = raw.strip().lower() if isinstance(answer, YesNoAnswer) else raw.strip()
        for option in answer.choices():
            if option.value == wanted:
                return option.score
        return None
