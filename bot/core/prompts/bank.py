"""The three files' schemas and :class:`PromptBank`, the checked bank with the helpers the
app uses."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)

from bot.core.prompts.answers import (
    ScaleAnswer,
    TextAnswer,
    YesNoAnswer,
)
from bot.core.prompts.prompt import (
    InvestmentRule,
    Moment,
    Prompt,
    Tip,
    VerdictName,
)
from bot.core.prompts.vocabulary import (
    _MOMENTS,
    NO,
    YES,
    Audience,
    DealChange,
    Dimension,
    MomentKey,
    _one_of,
    _Strict,
)


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
