"""A prompt (one reflective question), seed 000's investment rule and its verdicts, a
deal moment's nudge, and a coaching tip."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from bot.core.prompts.answers import (
    Answer,
    ChoiceAnswer,
    Feedback,
    ScaleAnswer,
    TextAnswer,
)
from bot.core.prompts.vocabulary import (
    _AUDIENCES,
    _SLUG,
    _USES,
    CHECKIN,
    DEAL_FIELD,
    ID_MAX,
    INTRO_MAX,
    NEXT_STEP_MAX,
    NO,
    NOT_SURE,
    NOTE_MAX,
    OPTION_LABEL_MAX,
    PROMPT_TEXT_MAX,
    TIP_TEXT_MAX,
    TITLE_MAX,
    VERDICT_MAX,
    YES,
    Audience,
    KnownDimension,
    KnownMeasures,
    Measures,
    Seeds,
    _fits,
    _one_of,
    _placeholders,
    _Strict,
    _yes_no_keys,
    fits,
)


class Prompt(_Strict):
    """One reflective question, as a rep would ask themselves."""

    id: Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=_SLUG)]
    text: Annotated[str, Field(min_length=1), fits(PROMPT_TEXT_MAX, "prompt text")]
    on_deal: str | None = None
    """The check-in's deal-anchored wording, with ``{deal}`` where the deal's name goes."""
    dimension: KnownDimension
    measures: KnownMeasures
    answer: Answer
    feedback: dict[str, Feedback] = Field(default_factory=dict)
    seed: Seeds
    use: Annotated[tuple[str, ...], Field(min_length=1)]
    enabled_by_default: Annotated[bool, Field(strict=True)] = True
    manager_text: Annotated[str, fits(PROMPT_TEXT_MAX, "manager_text")] | None = None
    """For perception-gap prompts: how the manager is asked to estimate the team's answer."""

    @field_validator("feedback", mode="before")
    @classmethod
    def _feedback_keys(cls, v: object) -> object:
        return _yes_no_keys(v)

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

    label: Annotated[str, Field(min_length=1), fits(OPTION_LABEL_MAX, "verdict label")]
    message: Annotated[str, Field(min_length=1), fits(VERDICT_MAX, "verdict message")]
    next: Annotated[str, fits(NEXT_STEP_MAX, "verdict next step")] | None = None


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
    dimension: KnownDimension
    text: Annotated[str, Field(min_length=1), fits(TIP_TEXT_MAX, "tip text")]
    seed: Seeds
    audience: tuple[Audience, ...] = (Audience.REP, Audience.MANAGER)
    do: Annotated[str, fits(TIP_TEXT_MAX, "tip do")] | None = None
    """Manager tips: one thing to do this week (a question for the 1:1, a habit to model),
    shown as the digest's "This week, do:"."""

    @field_validator("audience", mode="before")
    @classmethod
    def _known_audience(cls, v: object) -> tuple[str, ...]:
        if not isinstance(v, list | tuple) or not v:
            raise ValueError(f"audience must be a non-empty list such as [rep], not {v!r}")
        return tuple(_one_of(a, _AUDIENCES, "audience") for a in v)
