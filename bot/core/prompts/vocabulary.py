"""The bank's vocabulary: Block Kit limits, file names, fixed ids and answer values,
the dimensions, deal changes and moments, what a prompt measures, who a tip is for, the
error every bad file raises, and the small checks every model of the bank shares."""

from __future__ import annotations

import enum
import string
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
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
    CLOSE_DATE_PUSHED_AGAIN = "close_date_pushed_again"  # the second push of a deal
    CLOSE_DATE_PUSHED_REPEATEDLY = "close_date_pushed_repeatedly"  # the third push and on
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
    MomentKey.CLOSE_DATE_PUSHED_REPEATEDLY: frozenset({"days", "times"}),
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


# --------------------------------------------------------------------------- shared checks


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


def fits(limit: int, what: str) -> AfterValidator:
    """A field's annotation: at most ``limit`` characters, or a ``ValueError`` naming ``what``
    (Block Kit refuses longer text)."""
    return AfterValidator(lambda value: _fits(value, limit, what))


KnownDimension = Annotated[
    Dimension, BeforeValidator(lambda value: _one_of(value, _DIMENSIONS, "dimension"))
]
KnownMeasures = Annotated[
    Measures, BeforeValidator(lambda value: _one_of(value, _MEASURES, "measures"))
]
Seeds = Annotated[tuple[str, ...], BeforeValidator(_seeds)]
"""The seed numbers an item cites (quoted: ``"001"``), at least one, none twice."""


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
