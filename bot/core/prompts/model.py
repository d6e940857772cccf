"""The question bank's model: dimensions, deal moments, prompts and their answers, coaching
tips, and :class:`PromptBank`, the checked bank with the helpers the app uses."""

from __future__ import annotations

import enum
import string
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
FEEDBACK_TEXT_MAX = 220  # what a click is answered with: short enough to read at a glance
NEXT_STEP_MAX = 160  # one concrete next step
NOTE_MAX = 200  # a moment's extra line
VERDICT_MAX = 300
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
NOT_SURE = "not_sure"
"""The value of a yes/no prompt's optional third answer ("Not sure yet")."""
DIDNT_COME_UP = "didnt_come_up"
"""The value of every scale's "Didn't come up" answer: recorded, never scored."""
DIDNT_COME_UP_LABEL = "Didn't come up"
DEAL_FIELD = "deal"
"""The one placeholder of a prompt's ``on_deal`` text: ``{deal}``."""

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


class Measures(enum.StrEnum):
    """What a prompt's answer says, and so whether it is ever scored."""

    BEHAVIOUR = "behaviour"
    """My own conduct: scored 1-5 (5 = the trustworthy end); the only kind that feeds trends,
    digests' indexes and any score."""
    SITUATION = "situation"
    """Evidence about the client, the deal or the team: recorded, never scored against me."""
    DECISION = "decision"
    """A call about the deal (seed 000's go / stop, qualifying out): tracked, never scored."""


class MomentKey(enum.StrEnum):
    """The deal moments the prompt bank has content for (``prompts/moments.yaml``).

    The deal rules (:func:`bot.core.deals.rules.moment_key`) read a CRM change for its
    meaning and name one of these. The seven :class:`DealChange` values are keys too (a
    change whose direction or size is not known keeps its plain moment).
    """

    CREATED = "created"  # a new deal, asked at once (no stage, or a stage past first contact)
    FIRST_CONTACT = "first_contact"  # the first move past a pre-contact stage
    RENEWAL_OR_EXPANSION = "renewal_or_expansion"
    EVALUATION = "evaluation"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    TOWARD_CONTRACT = "toward_contract"
    STAGE_CHANGED = "stage_changed"  # into a stage we cannot place
    BACKWARD_MOVE = "backward_move"
    REOPENED = "reopened"
    CLOSE_DATE_PUSHED = "close_date_pushed"
    CLOSE_DATE_PUSHED_AGAIN = "close_date_pushed_again"
    CLOSE_DATE_PULLED_IN = "close_date_pulled_in"
    CLOSE_DATE_CHANGED = "close_date_changed"  # which way is not known
    AMOUNT_UP = "amount_up"
    AMOUNT_DOWN = "amount_down"
    AMOUNT_CHANGED = "amount_changed"  # which way is not known
    DISCOUNT_SMALL = "discount_small"  # under 10 %
    DISCOUNT_MEDIUM = "discount_medium"  # 10-25 %
    DISCOUNT_LARGE = "discount_large"  # 25 % and more
    DISCOUNT_REQUESTED = "discount_requested"  # no percentage given
    WON = "won"
    LOST = "lost"
    NO_DECISION = "no_decision"
    DISQUALIFIED = "disqualified"


RULE_MOMENTS = frozenset({MomentKey.CREATED, MomentKey.FIRST_CONTACT})
"""The moments that ask seed 000's three questions and give its verdict."""

INTRO_FIELDS: dict[MomentKey, frozenset[str]] = {
    MomentKey.CLOSE_DATE_PUSHED: frozenset({"days"}),
    MomentKey.CLOSE_DATE_PULLED_IN: frozenset({"days"}),
    MomentKey.CLOSE_DATE_PUSHED_AGAIN: frozenset({"days", "times"}),
    MomentKey.DISCOUNT_SMALL: frozenset({"percent"}),
    MomentKey.DISCOUNT_MEDIUM: frozenset({"percent"}),
    MomentKey.DISCOUNT_LARGE: frozenset({"percent"}),
}
"""The placeholders a moment's intro may use (every other moment's intro uses none)."""


class Audience(enum.StrEnum):
    """Who a coaching tip is written for."""

    REP = "rep"
    MANAGER = "manager"


_DIMENSIONS = frozenset(d.value for d in Dimension)
_MEASURES = frozenset(m.value for m in Measures)
_MOMENTS = frozenset(m.value for m in MomentKey)
_USES = frozenset({CHECKIN, *_MOMENTS})
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


def _yes_no_keys(value: object) -> object:
    """YAML 1.1 reads the keys ``yes:`` and ``no:`` as booleans: take them as the words."""
    if isinstance(value, dict):
        return {
            ({True: YES, False: NO}.get(k, k) if isinstance(k, bool) else k): v
            for k, v in value.items()
        }
    return value


def _placeholders(text: str, what: str) -> set[str]:
    """The ``{name}`` fields of ``text``; ``ValueError`` for a stray or malformed brace."""
    try:
        found = {
            field for _, field, spec, conv in string.Formatter().parse(text) if field is not None
        }
    except ValueError as exc:
        raise ValueError(
            f"{what} has a stray brace ({exc}); write {{name}} placeholders only"
        ) from None
    for _, field, spec, conv in string.Formatter().parse(text):
        if field is not None and (not field.isidentifier() or spec or conv):
            raise ValueError(f"{what} has a malformed placeholder {{{field}}}")
    return found


class Feedback(_Strict):
    """What a rep reads right after choosing one answer: a short word back (``text``: affirming,
    thanking them for candor when they admit a problem) and ONE concrete ``next`` step from the
    seeds (a question to ask the client, a sentence to say, who to tell)."""

    text: Annotated[str, Field(min_length=1)]
    next: Annotated[str, Field(min_length=1)]

    @field_validator("text")
    @classmethod
    def _text_fits(cls, v: str) -> str:
        return _fits(v, FEEDBACK_TEXT_MAX, "feedback text")

    @field_validator("next")
    @classmethod
    def _next_fits(cls, v: str) -> str:
        return _fits(v, NEXT_STEP_MAX, "next step")


class ChoiceOption(_Strict):
    """One answer a rep can pick; ``score`` (1-5, behaviour prompts only) makes it count."""

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


SCALE_BANDS: dict[str, str] = {
    "1": "low",
    "2": "low",
    "3": "mid",
    "4": "high",
    "5": "high",
    DIDNT_COME_UP: DIDNT_COME_UP,
}
"""Which piece of a scale's feedback an answer gets: 1-2 low, 3 mid, 4-5 high."""


class ScaleAnswer(_Strict):
    """A 1-5 scale; ``low`` labels 1 and ``high`` labels 5 (5 is the trustworthy end). Every
    scale also offers "Didn't come up" (:data:`DIDNT_COME_UP`), which is never scored."""

    type: Literal["scale"]
    low: Annotated[str, Field(min_length=1)]
    high: Annotated[str, Field(min_length=1)]

    @field_validator("low", "high")
    @classmethod
    def _label_fits(cls, v: str) -> str:
        return _fits(v, OPTION_LABEL_MAX, "scale label")

    def choices(self) -> list[ChoiceOption]:
        """The five buttons, values ``"1"``..``"5"``, then "Didn't come up"."""
        numbers = [ChoiceOption(value=str(n), label=str(n), score=n) for n in range(1, 6)]
        return [*numbers, ChoiceOption(value=DIDNT_COME_UP, label=DIDNT_COME_UP_LABEL)]

    def feedback_keys(self) -> tuple[str, ...]:
        return ("low", "mid", "high", DIDNT_COME_UP)

    def feedback_key(self, value: str) -> str | None:
        return SCALE_BANDS.get(value)


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

    def feedback_keys(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    def feedback_key(self, value: str) -> str | None:
        return value if value in self.feedback_keys() else None


class YesNoAnswer(_Strict):
    """Yes or no, with the labels a question reads best with (``no: "Not yet"``), and an
    optional third answer ``not_sure`` ("Not sure yet"), never scored.

    ``yes_is_positive: false`` marks a negatively-phrased behaviour (yes scores 1)."""

    type: Literal["yes_no"]
    yes_is_positive: Annotated[bool, Field(strict=True)] = True
    yes: Annotated[str, Field(min_length=1)] = "Yes"
    no: Annotated[str, Field(min_length=1)] = "No"
    not_sure: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _words_not_booleans(cls, data: object) -> object:
        return _yes_no_keys(data)

    @field_validator("yes", "no", "not_sure")
    @classmethod
    def _label_fits(cls, v: str | None) -> str | None:
        return None if v is None else _fits(v, OPTION_LABEL_MAX, "yes/no label")

    def choices(self) -> list[ChoiceOption]:
        """Yes / No (/ Not sure) buttons, values ``"yes"`` / ``"no"`` (/ ``"not_sure"``)."""
        good, bad = (5, 1) if self.yes_is_positive else (1, 5)
        found = [
            ChoiceOption(value=YES, label=self.yes, score=good),
            ChoiceOption(value=NO, label=self.no, score=bad),
        ]
        if self.not_sure is not None:
            found.append(ChoiceOption(value=NOT_SURE, label=self.not_sure))
        return found

    def feedback_keys(self) -> tuple[str, ...]:
        return (YES, NO, NOT_SURE) if self.not_sure is not None else (YES, NO)

    def feedback_key(self, value: str) -> str | None:
        return value if value in self.feedback_keys() else None


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

    def feedback_keys(self) -> tuple[str, ...]:
        return ()

    def feedback_key(self, value: str) -> str | None:
        return None


Answer = Annotated[
    ScaleAnswer | ChoiceAnswer | YesNoAnswer | TextAnswer, Field(discriminator="type")
]
"""How a prompt is answered: ``scale``, ``choice``, ``yes_no`` or ``text``."""


class Prompt(_Strict):
    """One reflective question, as a rep would ask themselves."""

    id: Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=_SLUG)]
    text: Annotated[str, Field(min_length=1)]
    on_deal: str | None = None
    """The check-in's deal-anchored wording, with ``{deal}`` where the deal's name goes."""
    dimension: Dimension
    measures: Measures
    answer: Answer
    feedback: dict[str, Feedback] = Field(default_factory=dict)
    seed: tuple[str, ...]
    use: Annotated[tuple[str, ...], Field(min_length=1)]
    enabled_by_default: Annotated[bool, Field(strict=True)] = True
    manager_text: str | None = None
    """For perception-gap prompts: how the manager is asked to estimate the team's answer."""

    @field_validator("dimension", mode="before")
    @classmethod
    def _known_dimension(cls, v: object) -> str:
        return _one_of(v, _DIMENSIONS, "dimension")

    @field_validator("feedback", mode="before")
    @classmethod
    def _feedback_keys(cls, v: object) -> object:
        return _yes_no_keys(v)

    @field_validator("measures", mode="before")
    @classmethod
    def _known_measures(cls, v: object) -> str:
        return _one_of(v, _MEASURES, "measures")

    @field_validator("seed", mode="before")
    @classmethod
    def _known_seed(cls, v: object) -> tuple[str, ...]:
        return _seeds(v)

    @field_validator("text")
    @classmethod
    def _text_fits(cls, v: str) -> str:
        return _fits(v, PROMPT_TEXT_MAX, "prompt text")

    @field_validator("on_deal")
    @classmethod
    def _on_deal_names_the_deal(cls, v: str | None) -> str | None:
        if v is None:
            return None
        _fits(v, PROMPT_TEXT_MAX, "on_deal")
        fields = _placeholders(v, "on_deal")
        if fields != {DEAL_FIELD} or v.count("{" + DEAL_FIELD + "}") != 1:
            raise ValueError(
                f"on_deal must name the deal once as {{{DEAL_FIELD}}} and use no other "
                f"placeholder, not {v!r}"
            )
        return v

    @field_validator("manager_text")
    @classmethod
    def _manager_text_fits(cls, v: str | None) -> str | None:
        return None if v is None else _fits(v, PROMPT_TEXT_MAX, "manager_text")

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
    def _consistent(self) -> Prompt:
        answer = self.answer
        scored = [o.value for o in answer.choices() if o.score is not None]
        if isinstance(answer, ChoiceAnswer) and self.measures is not Measures.BEHAVIOUR and scored:
            raise ValueError(
                f"option(s) {', '.join(scored)} have a score, but only behaviour prompts are "
                f"scored (this one measures {self.measures.value}); remove the scores"
            )
        if self.measures is Measures.BEHAVIOUR:
            if isinstance(answer, TextAnswer):
                raise ValueError("a text prompt cannot measure behaviour: it is never scored")
            if isinstance(answer, ChoiceAnswer) and len(scored) < 2:
                raise ValueError(
                    "a behaviour choice needs a score on at least two options, or it "
                    "measures a situation or a decision"
                )
        if self.manager_text is not None and not (
            isinstance(answer, ScaleAnswer) and self.measures is Measures.BEHAVIOUR
        ):
            raise ValueError("manager_text is only allowed on behaviour scale prompts")
        if self.on_deal is not None and (CHECKIN not in self.use or isinstance(answer, TextAnswer)):
            raise ValueError("on_deal is only allowed on check-in questions that take an answer")
        self._check_feedback()
        return self

    def _check_feedback(self) -> None:
        wanted = self.answer.feedback_keys()
        if not wanted:
            if self.feedback:
                raise ValueError("a text prompt takes no feedback: it has no answers to react to")
            return
        missing = [k for k in wanted if k not in self.feedback]
        if missing:
            raise ValueError(
                f"feedback is missing for answer(s) {', '.join(map(repr, missing))}: every "
                "answer needs its own {text, next}"
            )
        extra = [k for k in self.feedback if k not in wanted]
        if extra:
            raise ValueError(
                f"feedback for {', '.join(map(repr, extra))}, which is not an answer of this "
                f"prompt (its answers: {', '.join(wanted)})"
            )
        for part in ("text", "next"):
            seen: dict[str, str] = {}
            for key in wanted:
                said = getattr(self.feedback[key], part)
                if said in seen:
                    raise ValueError(
                        f"answers {seen[said]!r} and {key!r} share the same feedback {part}; "
                        "answers that mean different things need their own"
                    )
                seen[said] = key

    @property
    def in_checkin(self) -> bool:
        """Whether the prompt belongs to the weekly check-in."""
        return CHECKIN in self.use

    @property
    def kind(self) -> str:
        """The answer type: ``scale``, ``choice``, ``yes_no`` or ``text``."""
        return self.answer.type

    @property
    def scored(self) -> bool:
        """Whether answers to it are ever scored (behaviour prompts only)."""
        return self.measures is Measures.BEHAVIOUR

    def feedback_for(self, value: str | None) -> Feedback | None:
        """The feedback a rep who answered ``value`` reads (``None``: not an answer)."""
        if value is None:
            return None
        key = self.answer.feedback_key(value)
        return None if key is None else self.feedback.get(key)

    def text_for(self, deal: str | None) -> str:
        """The question as asked: anchored on ``deal`` when it has an ``on_deal`` wording and a
        deal is given (the name is put in as given: escape it first for mrkdwn)."""
        if deal and self.on_deal is not None:
            return self.on_deal.replace("{" + DEAL_FIELD + "}", deal)
        return self.text


class Verdict(_Strict):
    """What the seed-000 rule says for one outcome, and the next step when it has one."""

    label: Annotated[str, Field(min_length=1)]
    message: Annotated[str, Field(min_length=1)]
    next: str | None = None

    @field_validator("label")
    @classmethod
    def _label_fits(cls, v: str) -> str:
        return _fits(v, OPTION_LABEL_MAX, "verdict label")

    @field_validator("message")
    @classmethod
    def _message_fits(cls, v: str) -> str:
        return _fits(v, VERDICT_MAX, "verdict message")

    @field_validator("next")
    @classmethod
    def _next_fits(cls, v: str | None) -> str | None:
        return None if v is None else _fits(v, NEXT_STEP_MAX, "verdict next step")


VerdictName = Literal["go", "stop", "think", "find_out"]
VERDICTS: tuple[VerdictName, ...] = ("go", "stop", "think", "find_out")


class InvestmentRule(_Strict):
    """Seed 000: yes to all three questions, go; no to all three, stop. Anything in between is a
    harder call whose every No gets its own next step; a "not sure yet" means find out first.

    ``names`` is a short name for each question, to say which one got the No.
    """

    prompts: Annotated[tuple[str, ...], Field(min_length=1)]
    names: dict[str, str] = Field(default_factory=dict)
    go: Verdict
    stop: Verdict
    think: Verdict
    find_out: Verdict

    @model_validator(mode="after")
    def _named(self) -> InvestmentRule:
        missing = [p for p in self.prompts if p not in self.names]
        extra = [p for p in self.names if p not in self.prompts]
        if missing or extra:
            raise ValueError(
                "names must give a short name to each of the rule's prompts"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; not a rule prompt: {', '.join(extra)}" if extra else "")
            )
        for name in self.names.values():
            _fits(name, OPTION_LABEL_MAX, "rule question name")
        return self

    def verdict(self, answers: Mapping[str, bool | str]) -> VerdictName:
        """``go`` / ``stop`` / ``think`` / ``find_out`` for the answers keyed by prompt id:
        ``True`` / ``"yes"``, ``False`` / ``"no"``, or ``"not_sure"``.

        Raises ``ValueError`` if one of the rule's questions is unanswered; other keys
        are ignored.
        """
        missing = [p for p in self.prompts if p not in answers]
        if missing:
            raise ValueError(f"unanswered investment question(s): {', '.join(missing)}")
        values = [_yes_no(answers[p]) for p in self.prompts]
        if all(v == YES for v in values):
            return "go"
        if all(v == NO for v in values):
            return "stop"
        if NOT_SURE in values:
            return "find_out"
        return "think"

    def open_questions(self, answers: Mapping[str, bool | str]) -> list[tuple[str, str]]:
        """``(prompt id, answer)`` of every question answered No or "not sure", in order: the
        ones the verdict gives a next step for."""
        found = []
        for prompt_id in self.prompts:
            if prompt_id in answers and (value := _yes_no(answers[prompt_id])) != YES:
                found.append((prompt_id, value))
        return found

    def outcome(self, verdict: str) -> Verdict:
        """The label and message for a verdict name."""
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        result: Verdict = getattr(self, verdict)
        return result


def _yes_no(value: bool | str) -> str:
    if isinstance(value, bool):
        return YES if value else NO
    text = str(value).strip().lower()
    return text if text in (YES, NO, NOT_SURE) else NO


class Moment(_Strict):
    """A deal moment's nudge: title, one-line intro (maybe with placeholders the deal fills
    in, :data:`INTRO_FIELDS`), an optional extra line, ordered prompt ids, and for the new-deal
    moments seed 000's rule."""

    title: Annotated[str, Field(min_length=1)]
    intro: Annotated[str, Field(min_length=1)]
    note: str | None = None
    prompts: Annotated[tuple[str, ...], Field(min_length=1)]
    rule: InvestmentRule | None = None

    @field_validator("title")
    @classmethod
    def _title_fits(cls, v: str) -> str:
        _fits(v, TITLE_MAX, "title")
        if _placeholders(v, "title"):
            raise ValueError("title takes no placeholders; put them in the intro")
        return v

    @field_validator("intro")
    @classmethod
    def _intro_fits(cls, v: str) -> str:
        _placeholders(v, "intro")
        return _fits(v, INTRO_MAX, "intro")

    @field_validator("note")
    @classmethod
    def _note_fits(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if _placeholders(v, "note"):
            raise ValueError("note takes no placeholders")
        return _fits(v, NOTE_MAX, "note")

    def intro_fields(self) -> set[str]:
        """The placeholders its intro uses."""
        return _placeholders(self.intro, "intro")

    def intro_for(self, **values: str) -> str:
        """The intro with its placeholders filled in (a missing value reads as "some")."""
        wanted = self.intro_fields()
        return self.intro.format(**{f: values.get(f) or "some" for f in wanted})


class Tip(_Strict):
    """A coaching tip drawn from a seed; closes check-ins and focuses digests."""

    id: Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=_SLUG)]
    dimension: Dimension
    text: Annotated[str, Field(min_length=1)]
    seed: tuple[str, ...]
    audience: tuple[Audience, ...] = (Audience.REP, Audience.MANAGER)
    do: str | None = None
    """Manager tips: one thing to do this week (a question for the 1:1, a habit to model),
    shown as the digest's "This week, do:"."""

    @field_validator("dimension", mode="before")
    @classmethod
    def _known_dimension(cls, v: object) -> str:
        return _one_of(v, _DIMENSIONS, "dimension")

    @field_validator("seed", mode="before")
    @classmethod
    def _known_seed(cls, v: object) -> tuple[str, ...]:
        return _seeds(v)

    @field_validator("do")
    @classmethod
    def _do_fits(cls, v: str | None) -> str | None:
        return None if v is None else _fits(v, TIP_TEXT_MAX, "tip do")

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
    moments: dict[MomentKey, Moment]

    @field_validator("moments", mode="before")
    @classmethod
    def _known_moments(cls, v: object) -> object:
        if isinstance(v, dict):
            for key in v:
                _one_of(key, _MOMENTS, "deal moment")
        return v


class TipsFile(_Strict):
    tips: Annotated[list[Tip], Field(min_length=1)]


class PromptBank(BaseModel):
    """All prompts, moments and tips, cross-checked. Build it with :func:`load_bank`."""

    model_config = ConfigDict(frozen=True)

    prompts: tuple[Prompt, ...]
    moments: dict[MomentKey, Moment]
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
        """The enabled check-in prompts, in bank order with free-text notes last (the pool the
        weekly rotation, :mod:`bot.core.rotation`, picks from).

        ``enabled_ids=None`` means the defaults; otherwise exactly the check-in prompts
        whose id is in the set (unknown ids are ignored).
        """
        wanted = self.default_checkin_ids() if enabled_ids is None else enabled_ids
        chosen = [p for p in self.checkin_prompts() if p.id in wanted]
        return sorted(chosen, key=lambda p: p.kind == "text")

    def moment(self, key: MomentKey | DealChange | str) -> Moment:
        """The moment (title, intro, prompt ids, rule) for a moment key (a deal change's own
        name is one too); ``ValueError`` for a name that is none."""
        return self.moments[MomentKey(key)]

    def for_moment(self, key: MomentKey | DealChange | str) -> list[Prompt]:
        """The prompts of a deal moment's nudge, in order."""
        return [self._by_id[pid] for pid in self.moment(key).prompts]

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
        rule = self.moments[MomentKey.CREATED].rule
        assert rule is not None  # guaranteed by load_bank
        return rule

    def investment_verdict(self, answers: Mapping[str, bool | str]) -> VerdictName:
        """Seed 000: ``'go'`` if all yes, ``'stop'`` if all no, ``'find_out'`` with a "not sure
        yet", else ``'think'``."""
        return self.investment_rule.verdict(answers)

    def scale_value(self, prompt: Prompt | str, raw: object) -> int | None:
        """Where a recorded answer sits on its prompt's own 1-5 scale, whatever the prompt
        measures, or ``None`` if it has no place there. For anything that counts (trends,
        digests, indexes) use :meth:`score`, which is behaviour-only.

        scale: the number ("Didn't come up" has none); yes_no: yes=5 / no=1 (reversed for
        negatively-phrased prompts), "not sure" none; choice: the option's ``score``; text,
        unscored options and values the prompt does not know: ``None``.
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

    def score(self, prompt: Prompt | str, raw: object) -> int | None:
        """The score a recorded answer counts with: :meth:`scale_value` for a behaviour prompt,
        ``None`` for everything else (a situation or a decision is never scored, so admitting
        a risk or qualifying out cannot move a rep's trend)."""
        p = self.prompt(prompt) if isinstance(prompt, str) else prompt
        return self.scale_value(p, raw) if p.scored else None
