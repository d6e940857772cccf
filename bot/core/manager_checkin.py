"""The manager's weekly check-in: the manager takes part (issue #18).

Sent with the team's check-in, one DM per manager of the round (an outbox row of kind
``manager``), it asks two things:

* **estimates**: for every prompt with a ``manager_text`` (``prompts/questions.yaml``), how
  the manager thinks the team answers it on average, 1 to 5. The digest sets the estimate
  beside the team's own mean (the perception gap, :mod:`bot.core.digests.figures`) once ``k``
  reps have answered that prompt;
* **a self-check** on seed 003's leadership behaviours (``prompts/manager.yaml``): yes /
  partly / no, each with a word back and one next step, like a rep's answers.

Both are stored in :class:`ManagerEstimate` under the manager's weekly pseudonym: they are
never a response, so a manager is never counted as a respondent of the team (the digest
counts the reps of the round only), and nobody else ever sees a self-check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar

from bot.core.answers import AnswerError, CheckinClosed
from bot.core.prompts import PromptBank, ScaleAnswer
from bot.runtime import Runtime
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    ManagerEstimate,
    Team,
)

__all__ = [
    "SELF_VALUES",
    "ManagerState",
    "SelfCheck",
    "estimate_items",
    "manager_state",
    "record_manager_answer",
    "self_checks",
]

SELF_VALUES = {"yes": 2, "partly": 1, "no": 0}
"""A self-check answer as stored (``ManagerEstimate.value``)."""
SELF_LABELS = {"yes": "Yes", "partly": "Partly", "no": "Not this week"}
ESTIMATES = ("1", "2", "3", "4", "5")
NOT_YOURS = "That check-in is not yours, or no longer open to answers."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Said(_Strict):
    text: Annotated[str, Field(min_length=1, max_length=300)]
    next: Annotated[str, Field(min_length=1, max_length=300)]


class SelfCheck(_Strict):
    id: Annotated[str, Field(pattern=r"^self\.[a-z_]+$", max_length=80)]
    seed: tuple[Literal["000", "001", "002", "003", "004"], ...]
    text: Annotated[str, Field(min_length=1, max_length=200)]
    answers: dict[Literal["yes", "partly", "no"], Said]


class _File(_Strict):
    self_check: Annotated[list[SelfCheck], Field(min_length=1)]


def _yes_no(value: object) -> object:
    """YAML 1.1 reads ``yes:`` / ``no:`` keys as booleans: take them as the words."""
    if isinstance(value, dict):
        return {
            ("yes" if k is True else "no" if k is False else k): _yes_no(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_yes_no(v) for v in value]
    return value


def load_self_checks(path: Traversable) -> tuple[SelfCheck, ...]:
    """The self-check items of ``path``; ``ValueError`` naming the file and what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        checks = _File.model_validate(_yes_no(raw)).self_check
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise ValueError(f"{path.name}: {error}") from error
    for check in checks:
        if set(check.answers) != set(SELF_VALUES):
            raise ValueError(f"{path.name}: {check.id} needs answers yes, partly and no")
    return tuple(checks)


@cache
def self_checks() -> tuple[SelfCheck, ...]:
    """The self-check of ``prompts/manager.yaml``."""
    return load_self_checks(resources.files("prompts") / "manager.yaml")


@dataclass(frozen=True)
class Estimate:
    """An estimate question: the manager's wording and the team prompt's scale anchors."""

    prompt_id: str
    text: str
    low: str
    high: str


def estimate_items(bank: PromptBank, asked: tuple[str, ...] | None = None) -> list[Estimate]:
    """The estimate questions (of the prompts in ``asked``, when given)."""
    items = []
    for prompt in bank.for_manager_estimate():
        if asked is not None and prompt.id not in asked:
            continue
        answer = prompt.answer
        low, high = ("1", "5")
        if isinstance(answer, ScaleAnswer):
            low, high = answer.low or low, answer.high or high
        items.append(Estimate(prompt.id, prompt.manager_text or prompt.text, low, high))
    return items


@dataclass(frozen=True)
class ManagerState:
    """What the manager's DM shows: the week, the team, their own answers so far."""

    delivery_id: int
    team_name: str
    period_start: date
    chosen: dict[str, str] = field(default_factory=dict)  # item id -> value as answered
    asked: tuple[str, ...] = ()  # the round's prompts: an estimate only of what reps are asked
    open: bool = True
    channel_id: str | None = None
    message_ts: str | None = None


def _valid(item_id: str, value: str, bank: PromptBank) -> int:
    if item_id.startswith("self."):
        if item_id not in {c.id for c in self_checks()} or value not in SELF_VALUES:
            raise AnswerError("That answer could not be read. Please use the buttons.")
        return SELF_VALUES[value]
    if item_id not in {e.prompt_id for e in estimate_items(bank)} or value not in ESTIMATES:
        raise AnswerError("That answer could not be read. Please use the buttons.")
    return int(value)


async def _mine(
    runtime: Runtime, workspace_id: str, user_id: str, delivery_id: int
) -> tuple[Delivery, CheckinRound, Team]:
    async with runtime.db.session() as session:
        delivery = await session.get(Delivery, delivery_id)
        rnd = await session.get(CheckinRound, delivery.round_id) if delivery else None
        team = await session.get(Team, rnd.team_id) if rnd else None
    if (
        delivery is None
        or rnd is None
        or team is None
        or delivery.kind != DeliveryKind.MANAGER
        or delivery.workspace_id != workspace_id
        or delivery.user_id != user_id
    ):
        raise AnswerError(NOT_YOURS)
    return delivery, rnd, team


def _own_estimates(
    runtime: Runtime, workspace_id: str, user_id: str, team: Team, rnd: CheckinRound
) -> tuple[str, SelectOfScalar[ManagerEstimate]]:
    """The manager's weekly pseudonym and the query for their answers of ``rnd``."""
    pseudonym = runtime.pseudonyms.weekly(workspace_id, user_id, rnd.period_start)
    return pseudonym, select(ManagerEstimate).where(
        ManagerEstimate.team_id == team.id,
        ManagerEstimate.period_start == rnd.period_start,
        ManagerEstimate.pseudonym == pseudonym,
    )


async def record_manager_answer(
    runtime: Runtime,
    workspace_id: str,
    user_id: str,
    delivery_id: int,
    item_id: str,
    value: str,
    bank: PromptBank,
) -> None:
    """Store (or change) one answer of the manager's check-in while it is open."""
    stored = _valid(item_id, value, bank)
    delivery, rnd, team = await _mine(runtime, workspace_id, user_id, delivery_id)
    if not item_id.startswith("self.") and item_id not in rnd.prompt_ids:
        raise AnswerError("The team is not asked that question this week.")
    now = runtime.clock.now()
    # open while it is being sent or sent (a click can beat the sender's record of the
    # post by a few milliseconds), closed once expired, skipped or failed
    if delivery.status not in (DeliveryStatus.SENDING, DeliveryStatus.SENT) or (
        delivery.expires_at is not None and delivery.expires_at <= now
    ):
        raise CheckinClosed()
    assert team.id is not None
    pseudonym, mine = _own_estimates(runtime, workspace_id, user_id, team, rnd)
    async with runtime.db.session() as session:
        row = (await session.exec(mine.where(ManagerEstimate.prompt_id == item_id))).first()
        if row is None:
            row = ManagerEstimate(
                workspace_id=workspace_id,
                team_id=team.id,
                period_start=rnd.period_start,
                pseudonym=pseudonym,
                prompt_id=item_id,
                value=stored,
            )
        row.value = stored
        session.add(row)


async def manager_state(
    runtime: Runtime, workspace_id: str, user_id: str, delivery_id: int
) -> ManagerState:
    """The manager's check-in as it stands (their own answers only)."""
    delivery, rnd, team = await _mine(runtime, workspace_id, user_id, delivery_id)
    _, mine = _own_estimates(runtime, workspace_id, user_id, team, rnd)
    async with runtime.db.session() as session:
        rows = (await session.exec(mine)).all()
    words = {v: k for k, v in SELF_VALUES.items()}
    chosen: Mapping[str, str] = {
        r.prompt_id: (words.get(r.value, "") if r.prompt_id.startswith("self.") else str(r.value))
        for r in rows
    }
    now = runtime.clock.now()
    is_open = delivery.status in (
        DeliveryStatus.PENDING,
        DeliveryStatus.SENDING,
        DeliveryStatus.SENT,
    )
    if delivery.expires_at is not None and delivery.expires_at <= now:
        is_open = False
    assert delivery.id is not None
    return ManagerState(
        delivery_id=delivery.id,
        team_name=team.name,
        period_start=rnd.period_start,
        chosen=dict(chosen),
        asked=tuple(rnd.prompt_ids),
        open=is_open,
        channel_id=delivery.channel_id,
        message_ts=delivery.message_ts,
    )
