"""The weekly check-in's questions: at most five, rotating through the bank week by week.

Plain Python (no Slack). :func:`plan_week` picks a week's questions from the enabled check-in
prompts, deterministically from the workspace and the week, so everyone in a workspace gets
the same check-in in a week and the next week's differs:

- the eight trust dimensions are put in an order of the workspace's own (a keyed hash, stable
  across runs), and each week takes the next :data:`MAX_QUESTIONS` of them round the circle,
  so every dimension comes up once every :attr:`Rotation.cycle_weeks` weeks (two, with all
  eight);
- each time a dimension comes up it asks its next enabled prompt, so its prompts take turns;
- one of the week's questions, when one can, is asked about a deal the rep touched this week
  ("On Acme renewal, did I ...?", :attr:`~bot.core.prompts.Prompt.on_deal`): it comes first,
  and :func:`anchor_deal` finds each rep's deal when their DM is drawn (a rep with no deal
  update that week reads the general wording);
- the optional free-text note is always asked when it is enabled, and never counts toward
  the five.

:func:`describe_change` says what enabling or disabling a prompt does to the rotation, for
``/trust prompts enable|disable``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.core import recent_deals
from bot.core.prompts import Dimension, Prompt, PromptBank
from bot.runtime import Runtime
from bot.storage.models import DealEvent, Delivery, DeliveryKind, PromptSetting

MAX_QUESTIONS = 5
"""Questions a weekly check-in asks at most (the optional note comes on top)."""
_EPOCH = date(2024, 1, 1)  # a Monday: week numbers count from it

DIMENSION_NAMES = {
    Dimension.GOAL: "goal",
    Dimension.INTEGRITY: "integrity",
    Dimension.COMPETENCE: "competence",
    Dimension.CARE: "care",
    Dimension.CANDOR: "candor",
    Dimension.RELIABILITY: "reliability",
    Dimension.VALUE_FOCUS: "value focus",
    Dimension.INTERNAL_TRUST: "internal trust",
}


def week_number(period_start: date) -> int:
    """The week's number, counted in whole weeks from a fixed Monday."""
    return (period_start - _EPOCH).days // 7


def _key(workspace_id: str, name: str) -> bytes:
    return hashlib.sha256(f"rotation:{workspace_id}:{name}".encode()).digest()


def _offset(workspace_id: str, name: str) -> int:
    return int.from_bytes(_key(workspace_id, name)[:4], "big")


@dataclass(frozen=True)
class Rotation:
    """The enabled check-in questions by dimension (bank order), and the note."""

    dimensions: dict[Dimension, list[Prompt]]
    note: Prompt | None

    @property
    def per_week(self) -> int:
        """Questions each check-in asks."""
        return min(MAX_QUESTIONS, len(self.dimensions))

    @property
    def cycle_weeks(self) -> int:
        """Weeks in which every dimension comes up at least once."""
        return math.ceil(len(self.dimensions) / self.per_week) if self.dimensions else 0

    def every_weeks(self, dimension: Dimension) -> float:
        """How often, on average, each of the dimension's prompts is asked (in weeks)."""
        prompts = self.dimensions.get(dimension, [])
        if not prompts:
            return math.inf
        return len(prompts) * len(self.dimensions) / self.per_week


def rotation(bank: PromptBank, enabled_ids: Set[str] | None = None) -> Rotation:
    """The rotation the enabled prompts make (``None``: the bank's defaults)."""
    enabled = bank.for_checkin(enabled_ids)
    by_dimension: dict[Dimension, list[Prompt]] = {}
    for prompt in enabled:
        if prompt.kind != "text":
            by_dimension.setdefault(prompt.dimension, []).append(prompt)
    note = next((p for p in enabled if p.kind == "text"), None)
    return Rotation({d: by_dimension[d] for d in Dimension if d in by_dimension}, note)


@dataclass(frozen=True)
class Week:
    """One week's check-in: its questions in order (the deal-anchored one first, if any) and
    the note."""

    questions: tuple[str, ...]
    anchor: str | None
    note: str | None
    dimensions: tuple[Dimension, ...] = field(default=())

    @property
    def prompt_ids(self) -> list[str]:
        """What the round asks: the questions, then the note."""
        return [*self.questions, *([self.note] if self.note else [])]


def plan_week(
    bank: PromptBank, enabled_ids: Set[str] | None, workspace_id: str, period_start: date
) -> Week:
    """The check-in of ``workspace_id`` for the week starting ``period_start``: at most
    :data:`MAX_QUESTIONS` questions from as many dimensions, the next ones round the
    workspace's circle of dimensions, each asking its next prompt; the note when enabled."""
    rot = rotation(bank, enabled_ids)
    note = rot.note.id if rot.note else None
    if not rot.dimensions:
        return Week((), None, note)
    circle = sorted(rot.dimensions, key=lambda d: _key(workspace_id, d.value))
    n, k = len(circle), rot.per_week
    week = week_number(period_start)
    picks: list[tuple[Dimension, int]] = []  # (dimension, how many times it came up before)
    for i in range(k):
        turn = week * k + i
        picks.append((circle[turn % n], turn // n))

    chosen: list[Prompt] = []
    for dimension, seen in picks:
        prompts = rot.dimensions[dimension]
        chosen.append(prompts[(seen + _offset(workspace_id, dimension.value)) % len(prompts)])

    anchor: Prompt | None = None
    for i in range(k):  # which dimension is asked about a deal also turns week by week
        j = (week + i) % k
        dimension, seen = picks[j]
        anchorable = [p for p in rot.dimensions[dimension] if p.on_deal is not None]
        if anchorable:
            start = seen + _offset(workspace_id, "anchor:" + dimension.value)
            anchor = anchorable[start % len(anchorable)]
            chosen[j] = anchor
            chosen.insert(0, chosen.pop(j))
            break
    return Week(
        tuple(p.id for p in chosen),
        anchor.id if anchor else None,
        note,
        tuple(p.dimension for p in chosen),
    )


async def enabled_ids(runtime: Runtime, bank: PromptBank, workspace_id: str) -> set[str]:
    """The workspace's enabled check-in prompts: its admins' choices over the defaults."""
    async with runtime.db.session() as session:
        rows = await session.exec(
            select(PromptSetting).where(PromptSetting.workspace_id == workspace_id)
        )
        choices = {r.prompt_id: r.enabled for r in rows.all()}
    defaults = bank.default_checkin_ids()
    return {p.id for p in bank.checkin_prompts() if choices.get(p.id, p.id in defaults)}


async def week_prompt_ids(
    runtime: Runtime, bank: PromptBank, workspace_id: str, period_start: date
) -> list[str]:
    """The prompt ids a round of ``workspace_id`` asks in the week of ``period_start``."""
    enabled = await enabled_ids(runtime, bank, workspace_id)
    return plan_week(bank, enabled, workspace_id, period_start).prompt_ids


# --------------------------------------------------------------------------- anchoring


def pick_deal(events: Iterable[tuple[str, str, datetime]]) -> str | None:
    """The deal a rep touched most this week (the latest on a tie): its name as last known.

    ``events`` are ``(deal id, deal name, occurred at)``.
    """
    touched: dict[str, tuple[int, datetime, str]] = {}
    for deal_id, name, at in events:
        count, latest, known = touched.get(deal_id, (0, at, name))
        if at >= latest:
            latest, known = at, name or known
        touched[deal_id] = (count + 1, latest, known)
    if not touched:
        return None
    best = max(touched.values(), key=lambda t: (t[0], t[1]))
    return best[2] or None


def checkin_delivery(workspace_id: str, round_id: int, user_id: str) -> SelectOfScalar[Delivery]:
    """The query for the user's check-in delivery of ``round_id`` (at most one row)."""
    return select(Delivery).where(
        Delivery.workspace_id == workspace_id,
        Delivery.kind == DeliveryKind.CHECKIN,
        Delivery.round_id == round_id,
        Delivery.user_id == user_id,
    )


async def anchor_deal(
    runtime: Runtime, workspace_id: str, user_id: str, round_id: int
) -> str | None:
    """The name of the deal the user's check-in of ``round_id`` asks about (see
    :func:`delivery_deal`); ``None`` when they touched none, or the check-in is not theirs."""
    async with runtime.db.session() as session:
        delivery = (await session.exec(checkin_delivery(workspace_id, round_id, user_id))).first()
    return None if delivery is None else await delivery_deal(runtime, delivery)


async def open_nudge_deals(runtime: Runtime, workspace_id: str, user_id: str) -> list[str]:
    """The names of the deals of the user's nudges still open (they name their rep)."""
    async with runtime.db.session() as session:
        rows = await session.exec(
            select(DealEvent.deal_name)
            .join(Delivery, col(Delivery.deal_event_id) == col(DealEvent.id))
            .where(
                Delivery.workspace_id == workspace_id,
                Delivery.kind == DeliveryKind.NUDGE,
                Delivery.user_id == user_id,
            )
        )
        return sorted({str(name) for name in rows.all() if name})


async def delivery_deal(runtime: Runtime, delivery: Delivery) -> str | None:
    """The deal a check-in DM asks about: the one its rep touched most in the week before
    its round was planned, from the deal updates Trustbot received (picked then and sealed on
    the DM's row, :mod:`bot.core.recent_deals`); ``None`` when they touched none (the
    question then reads in general). Redrawing the DM, or a CRM update arriving later,
    never changes which deal it names."""
    return recent_deals.anchor(runtime.pseudonyms.key, delivery)


# --------------------------------------------------------------------------- admin


def _weeks(every: float) -> str:
    if every <= 1.05:
        return "every week"
    return f"about every {round(every)} weeks"


def _summary(rot: Rotation) -> str:
    if not rot.dimensions:
        return (
            "No question is enabled: check-ins ask only for the note."
            if rot.note
            else ("No question and no note is enabled: there is nothing to send.")
        )
    n = len(rot.dimensions)
    cycle = "every week" if rot.cycle_weeks == 1 else f"every {rot.cycle_weeks} weeks"
    dims = "all 8 dimensions come" if n == len(Dimension) else f"{n} dimensions come"
    note = " plus the optional note" if rot.note else ", and no note"
    return f"Each check-in asks {rot.per_week} questions{note}; {dims} up {cycle}."


def describe(bank: PromptBank, enabled: Set[str]) -> str:
    """The rotation in one line, for ``/trust prompts list``."""
    return _summary(rotation(bank, enabled))


def describe_change(bank: PromptBank, before: Set[str], after: Set[str], prompt_id: str) -> str:
    """What enabling or disabling ``prompt_id`` (``before`` -> ``after``) does to the
    check-in, in a few sentences for the admin."""
    prompt = bank.prompt(prompt_id)
    old, new = rotation(bank, before), rotation(bank, after)
    on = prompt_id in after
    state = "enabled" if on else "disabled"
    if before == after:
        return f"`{prompt_id}` was already {state}: nothing changes. {_summary(new)}"
    head = f"`{prompt_id}` is {state}. From the next check-in on,"
    if prompt.kind == "text":
        if on:
            body = (
                " check-ins end with the optional note again (it never takes a question's place)."
            )
        else:
            body = " there is no free-text note."
        return f"{head}{body} {_summary(new)}"
    dimension = prompt.dimension
    name = DIMENSION_NAMES[dimension]
    mine = new.dimensions.get(dimension, [])
    if not mine:
        body = f" no {name} question is left, so {name} drops out of the check-ins."
    elif on and dimension not in old.dimensions:
        body = f" {name} comes back into the check-ins."
    elif len(mine) == 1:
        body = f" {name} asks only `{mine[0].id}`, {_weeks(new.every_weeks(dimension))}."
    else:
        body = (
            f" {name} questions take turns between {len(mine)} prompts, so each comes up "
            f"{_weeks(new.every_weeks(dimension))}."
        )
    return f"{head}{body} {_summary(new)}"
