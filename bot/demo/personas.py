"""The simulated sales team of ``trustbot demo``: who the reps are and how each one answers.

Every rep follows a :class:`Persona`: a base score per trust dimension that may drift over the
weeks (the newcomer improves, the burned-out rep slides), how they answer the goal question,
whether they answer on time, late (after the reminder) or not at all, and the notes they write.
All randomness comes from a :class:`random.Random` the caller seeds, so a run is repeatable.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.core.prompts import (
    DIDNT_COME_UP,
    NO,
    NOT_SURE,
    YES,
    Prompt,
    ScaleAnswer,
    YesNoAnswer,
)

Timing = Literal["prompt", "late", "skip"]

MIN_TEAM, MAX_TEAM = 3, 12
INVESTMENT = frozenset(
    {"value_focus.like_them", "value_focus.value_not_price", "value_focus.worth_investment"}
)
"""Seed 000's three questions before investing in a deal."""
RISKS = frozenset({"reliability.unsure_promise"})
"""Questions whose "yes" admits a risk on the deal."""


@dataclass(frozen=True)
class Persona:
    """How one kind of rep answers. Scores are 1-5; ``drift`` is added over the whole run."""

    key: str
    label: str
    summary: str
    scores: Mapping[str, float]
    base: float = 3.0
    drift: Mapping[str, float] = field(default_factory=dict)
    default_drift: float = 0.0
    goal_start: Mapping[str, float] = field(default_factory=lambda: {"trust_and_value": 1.0})
    goal_end: Mapping[str, float] | None = None
    on_time: float = 0.9  # answers the check-in the day it arrives
    late: float = 0.1  # answers after the reminder; the rest of the time: skips
    leaves_blank: float = 0.0  # share of questions left unanswered when answering
    note_rate: float = 0.3
    share_rate: float = 0.5
    notes: tuple[str, ...] = ()
    candour: tuple[float, float] = (0.7, 0.7)  # chance of the trustworthy yes/no, start -> end
    answers_nudges: float = 1.0
    choices: Mapping[str, Sequence[str]] = field(default_factory=dict)
    deal_luck: float = 0.5  # chance a deal that closes is won
    discounts: float = 0.3  # chance a deal in play gets a discount request
    slips: float = 0.3  # chance a deal in play gets its close date pushed
    qualifies_out: float = 0.5  # chance of saying No to a poor-fit deal (and walking away)
    admits: float = 0.5  # chance of admitting a risk on a deal (a promise not sure to be kept)
    quiet_weeks: float = 0.06  # chance a check-in question "didn't come up"


PERSONAS: tuple[Persona, ...] = (
    Persona(
        key="quota",
        label="quota-driven",
        summary="chases the number; forecasts what looks good, gives discounts easily",
        scores={
            "integrity": 2.7,
            "competence": 3.4,
            "care": 2.3,
            "candor": 2.2,
            "reliability": 2.9,
            "value_focus": 2.0,
            "internal_trust": 3.3,
        },
        goal_start={"quota": 0.65, "commission": 0.25, "trust_and_value": 0.1},
        on_time=0.95,
        late=0.05,
        note_rate=0.1,
        share_rate=0.2,
        notes=(
            "Gave the extra 10% to get it signed before the quarter closed.",
            "Pulled a deal into this month; not sure the client was ready.",
        ),
        candour=(0.35, 0.4),
        choices={
            "value_focus.discount_reason": ("procurement", "commodity"),
            "value_focus.won_value": ("lower_price", "not_sure"),
        },
        deal_luck=0.45,
        discounts=0.55,
        slips=0.45,
        qualifies_out=0.15,
        admits=0.25,
    ),
    Persona(
        key="advisor",
        label="trusted advisor",
        summary="puts the client first; honest forecasts, turns away bad-fit business",
        scores={
            "integrity": 4.7,
            "competence": 4.4,
            "care": 4.7,
            "candor": 4.5,
            "reliability": 4.4,
            "value_focus": 4.5,
            "internal_trust": 4.1,
        },
        base=4.4,
        goal_start={"trust_and_value": 0.95, "something_else": 0.05},
        note_rate=0.6,
        share_rate=0.85,
        notes=(
            "Told a prospect we were not the right fit for their use case and pointed them to "
            "a partner. They asked us back for the next project.",
            "Spent the call on the client's rollout plan, not our roadmap. It changed the deal.",
            "Asked delivery to join the scoping call before I promised dates. Worth it.",
            "A client asked for 20% off; I asked what they valued instead and we found it.",
        ),
        candour=(0.92, 0.95),
        choices={
            "value_focus.discount_reason": ("value_not_seen", "budget_changed"),
            "value_focus.won_value": ("business_result", "fresh_perspective"),
        },
        deal_luck=0.7,
        discounts=0.15,
        slips=0.2,
        qualifies_out=0.95,
        admits=0.8,
    ),
    Persona(
        key="newcomer",
        label="newcomer, improving",
        summary="new to the team; learns the client's problems and grows more confident",
        scores={
            "integrity": 3.0,
            "competence": 1.8,
            "care": 2.8,
            "candor": 2.4,
            "reliability": 2.3,
            "value_focus": 2.2,
            "internal_trust": 2.5,
        },
        base=2.4,
        default_drift=1.9,
        drift={"competence": 2.6},
        goal_start={"something_else": 0.45, "quota": 0.45, "trust_and_value": 0.1},
        goal_end={"trust_and_value": 0.8, "quota": 0.2},
        on_time=1.0,
        late=0.0,
        note_rate=0.5,
        share_rate=0.4,
        notes=(
            "Still learning the product; I said 'let me check' instead of guessing. Felt odd.",
            "Shadowed a discovery call: we asked about their problem for 40 minutes first.",
            "Asked my manager how to handle a price objection. Got a good answer, no judging.",
            "First time I told a client we could not do something. They thanked me for it.",
        ),
        candour=(0.45, 0.85),
        choices={
            "value_focus.discount_reason": ("not_sure", "value_not_seen"),
            "value_focus.won_value": ("not_sure", "business_result"),
        },
        deal_luck=0.45,
        discounts=0.35,
        slips=0.3,
        qualifies_out=0.6,
        admits=0.6,
        quiet_weeks=0.1,
    ),
    Persona(
        key="burned_out",
        label="burned out",
        summary="overloaded and tired; sometimes answers late, sometimes not at all",
        scores={
            "integrity": 3.6,
            "competence": 3.9,
            "care": 3.0,
            "candor": 3.0,
            "reliability": 2.6,
            "value_focus": 3.0,
            "internal_trust": 2.0,
        },
        default_drift=-0.8,
        goal_start={"something_else": 0.5, "quota": 0.3, "trust_and_value": 0.2},
        on_time=0.3,
        late=0.35,
        leaves_blank=0.3,
        note_rate=0.35,
        share_rate=0.7,
        notes=(
            "Too many deals, not enough time to do any of them properly.",
            "I promised a go-live date I doubt support can hit. No time to check.",
            "Hard to bring bad news upstairs when every review is about the number.",
        ),
        candour=(0.6, 0.45),
        answers_nudges=0.55,
        deal_luck=0.35,
        discounts=0.4,
        slips=0.5,
        qualifies_out=0.4,
        admits=0.5,
        quiet_weeks=0.12,
    ),
    Persona(
        key="veteran",
        label="veteran skeptic",
        summary="knows the clients inside out, but does not trust the forecast meeting",
        scores={
            "integrity": 4.0,
            "competence": 4.7,
            "care": 3.8,
            "candor": 2.9,
            "reliability": 4.0,
            "value_focus": 3.8,
            "internal_trust": 2.1,
        },
        drift={"internal_trust": 0.6},
        goal_start={"trust_and_value": 0.55, "commission": 0.3, "quota": 0.15},
        on_time=0.85,
        late=0.15,
        note_rate=0.3,
        share_rate=0.6,
        notes=(
            "Q1 is slipping on two accounts. Hard to say so in the forecast call.",
            "Walked a client through a competitor's option that suited them better.",
        ),
        candour=(0.6, 0.7),
        choices={"value_focus.won_value": ("business_result", "security")},
        deal_luck=0.6,
        discounts=0.25,
        slips=0.35,
        qualifies_out=0.7,
        admits=0.6,
    ),
    Persona(
        key="builder",
        label="relationship builder",
        summary="warm and client-centred, sometimes over-promises",
        scores={
            "integrity": 4.2,
            "competence": 3.5,
            "care": 4.6,
            "candor": 3.8,
            "reliability": 3.0,
            "value_focus": 4.1,
            "internal_trust": 3.8,
        },
        base=3.8,
        drift={"reliability": 0.8},
        goal_start={"trust_and_value": 0.85, "quota": 0.15},
        note_rate=0.35,
        share_rate=0.75,
        notes=(
            "Checked with support before confirming the onboarding date this time.",
            "Client shared their board deck with us. That is trust.",
        ),
        candour=(0.75, 0.85),
        choices={
            "value_focus.discount_reason": ("budget_changed", "value_not_seen"),
            "value_focus.won_value": ("security", "business_result"),
        },
        deal_luck=0.6,
        discounts=0.25,
        slips=0.25,
        qualifies_out=0.6,
        admits=0.85,  # over-promises, and says so when asked
    ),
)

# (user id, short name, real name, time zone): each rep in a different zone. The first eight
# fall in three bands (Asia, Europe/Africa, Americas), so the clock reaches their local check-in
# times in three moves a week.
PEOPLE: tuple[tuple[str, str, str, str], ...] = (
    ("U0DEMOREP1", "jonas", "Jonas Whitfield", "America/New_York"),
    ("U0DEMOREP2", "priya", "Priya Raman", "Europe/London"),
    ("U0DEMOREP3", "nadia", "Nadia Okafor", "Asia/Kolkata"),
    ("U0DEMOREP4", "lukas", "Lukas Brenner", "Europe/Berlin"),
    ("U0DEMOREP5", "maya", "Maya Castillo", "America/Los_Angeles"),
    ("U0DEMOREP6", "wei", "Wei Lin", "Asia/Singapore"),
    ("U0DEMOREP7", "grace", "Grace Miller", "America/Chicago"),
    ("U0DEMOREP8", "sipho", "Sipho Dlamini", "Africa/Johannesburg"),
    ("U0DEMOREP9", "tom", "Tom Ashworth", "Australia/Sydney"),
    ("U0DEMOREPA", "ines", "Ines Carvalho", "America/Sao_Paulo"),
    ("U0DEMOREPB", "kenji", "Kenji Mori", "Asia/Tokyo"),
    ("U0DEMOREPC", "erin", "Erin Walsh", "America/Denver"),
)


@dataclass(frozen=True)
class Rep:
    user_id: str
    name: str
    real_name: str
    tz: str
    persona: Persona


def team(size: int) -> list[Rep]:
    """``size`` reps (3-12), personas in turn: the first four are always the quota-driven
    rep, the trusted advisor, the improving newcomer and the burned-out one."""
    if not MIN_TEAM <= size <= MAX_TEAM:
        raise ValueError(f"a demo team has {MIN_TEAM} to {MAX_TEAM} reps, not {size}")
    return [
        Rep(user_id, name, real_name, tz, PERSONAS[i % len(PERSONAS)])
        for i, (user_id, name, real_name, tz) in enumerate(PEOPLE[:size])
    ]


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _blend(start: Mapping[str, float], end: Mapping[str, float], t: float) -> dict[str, float]:
    keys = set(start) | set(end)
    return {k: (1 - t) * start.get(k, 0.0) + t * end.get(k, 0.0) for k in sorted(keys)}


class Behaviour:
    """One rep's choices, week by week. ``progress`` runs from 0 (first week) to 1 (last)."""

    def __init__(self, rep: Rep, rng: random.Random, offset: int = 0) -> None:
        self.rep = rep
        self.persona = rep.persona
        self.rng = rng
        self.offset = offset  # two reps of one persona write different notes the same week
        self.fit: str | None = None  # the deal of the nudge being answered, as the rep sees it
        self.candid = False

    def timing(self) -> Timing:
        """When (if at all) this week's check-in is answered."""
        roll = self.rng.random()
        if roll < self.persona.on_time:
            return "prompt"
        if roll < self.persona.on_time + self.persona.late:
            return "late"
        return "skip"

    def answers_question(self) -> bool:
        return self.rng.random() >= self.persona.leaves_blank

    def answers_nudge(self) -> bool:
        return self.rng.random() < self.persona.answers_nudges

    def score(self, dimension: str, progress: float) -> int:
        p = self.persona
        mean = p.scores.get(dimension, p.base) + p.drift.get(dimension, p.default_drift) * progress
        return max(1, min(5, round(mean + self.rng.gauss(0, 0.55))))

    def goal(self, progress: float) -> str:
        p = self.persona
        weights = _blend(p.goal_start, p.goal_end, progress) if p.goal_end else p.goal_start
        return _weighted(self.rng, weights)

    def begin_nudge(self, fit: str | None) -> None:
        """A deal nudge arrives: what this rep sees of the deal (``"poor"``: a price-only buyer
        with little potential), and whether they will be candid about it this time."""
        self.fit = fit
        self.candid = self.rng.random() < self.persona.qualifies_out

    def answer(self, prompt: Prompt, options: Sequence[str], progress: float) -> str:
        """The value this rep picks for ``prompt`` among ``options``."""
        if isinstance(prompt.answer, ScaleAnswer):
            if DIDNT_COME_UP in options and self.rng.random() < self.persona.quiet_weeks:
                return DIDNT_COME_UP
            return str(self.score(str(prompt.dimension), progress))
        if prompt.id == "goal.trust_or_else" and "trust_and_value" in options:
            chosen = self.goal(progress)
            return chosen if chosen in options else options[0]
        if prompt.id in INVESTMENT:
            return self._investment(prompt.id, options)
        if isinstance(prompt.answer, YesNoAnswer) and {YES, NO} <= set(options):
            if NOT_SURE in options and self.rng.random() < 0.1:
                return NOT_SURE
            if prompt.id in RISKS:
                return YES if self.rng.random() < self.persona.admits else NO
            low, high = self.persona.candour
            trustworthy = self.rng.random() < low + (high - low) * progress
            good = YES if prompt.answer.yes_is_positive else NO
            return good if trustworthy else (YES if good == NO else NO)
        liked = [o for o in self.persona.choices.get(prompt.id, ()) if o in options]
        if liked and self.rng.random() < 0.8:
            return self.rng.choice(liked)
        return self.rng.choice(list(options))

    def _investment(self, prompt_id: str, options: Sequence[str]) -> str:
        """Seed 000's three questions: a poor fit gets an honest No from a candid rep (and
        "liking them" a No half the time); a good fit a yes, or early on a "not sure yet"."""
        if self.fit == "poor" and self.candid:
            if prompt_id == "value_focus.like_them" and self.rng.random() < 0.5:
                return YES
            return NO
        if NOT_SURE in options and self.rng.random() < 0.15:
            return NOT_SURE
        return YES

    def note(self, week: int) -> tuple[str, bool] | None:
        """This week's note and whether it is shared anonymously, or None."""
        p = self.persona
        if not p.notes or self.rng.random() >= p.note_rate:
            return None
        return p.notes[(week + self.offset) % len(p.notes)], self.rng.random() < p.share_rate
