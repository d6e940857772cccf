"""How a prompt is answered (scale, choice, yes/no, free text) and the feedback each
answer gets: a word back and one next step."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from bot.core.prompts.vocabulary import (
    _SLUG,
    DIDNT_COME_UP,
    DIDNT_COME_UP_LABEL,
    FEEDBACK_TEXT_MAX,
    NEXT_STEP_MAX,
    NO,
    NOT_SURE,
    OPTION_LABEL_MAX,
    OPTION_VALUE_MAX,
    PLACEHOLDER_MAX,
    YES,
    _Strict,
    _yes_no_keys,
    fits,
)


class Feedback(_Strict):
    """What a rep reads right after choosing one answer: a short word back (``text``: affirming,
    thanking them for candor when they admit a problem) and ONE concrete ``next`` step from the
    seeds (a question to ask the client, a sentence to say, who to tell)."""

    text: Annotated[str, Field(min_length=1), fits(FEEDBACK_TEXT_MAX, "feedback text")]
    next: Annotated[str, Field(min_length=1), fits(NEXT_STEP_MAX, "next step")]


class ChoiceOption(_Strict):
    """One answer a rep can pick; ``score`` (1-5, behaviour prompts only) makes it count."""

    value: Annotated[
        str, Field(min_length=1, pattern=_SLUG), fits(OPTION_VALUE_MAX, "option value")
    ]
    label: Annotated[str, Field(min_length=1), fits(OPTION_LABEL_MAX, "option label")]
    score: Annotated[int, Field(ge=1, le=5, strict=True)] | None = None


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
    low: Annotated[str, Field(min_length=1), fits(OPTION_LABEL_MAX, "scale label")]
    high: Annotated[str, Field(min_length=1), fits(OPTION_LABEL_MAX, "scale label")]

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


YesNoLabel = Annotated[str, Field(min_length=1), fits(OPTION_LABEL_MAX, "yes/no label")]


class YesNoAnswer(_Strict):
    """Yes or no, with the labels a question reads best with (``no: "Not yet"``), and an
    optional third answer ``not_sure`` ("Not sure yet"), never scored.

    ``yes_is_positive: false`` marks a negatively-phrased behaviour (yes scores 1)."""

    type: Literal["yes_no"]
    yes_is_positive: Annotated[bool, Field(strict=True)] = True
    yes: YesNoLabel = "Yes"
    no: YesNoLabel = "No"
    not_sure: YesNoLabel | None = None

    @model_validator(mode="before")
    @classmethod
    def _words_not_booleans(cls, data: object) -> object:
        return _yes_no_keys(data)

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
    placeholder: Annotated[str, fits(PLACEHOLDER_MAX, "placeholder")] | None = None

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
