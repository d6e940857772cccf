"""A rep's own data: export it as CSV, or forget it entirely.

Answers are found through the person's weekly pseudonyms (recomputed with the key for every
week the workspace holds answers for); rows that name the Slack user directly (memberships,
open deliveries, deal events not yet planned, admin grants, audit entries) by user ID."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from bot.core.checkins import week_start
from bot.runtime import Runtime
from bot.storage.models import (
    Admin,
    AuditLog,
    DealEvent,
    Delivery,
    Digest,
    ManagerEstimate,
    Member,
    Note,
    NoteReply,
    Person,
    RecentDeals,
    Response,
)

FORGOTTEN = "(forgotten)"
CSV_COLUMNS = ("week_of", "kind", "prompt_id", "dimension", "answer", "score")
MAX_KEYS = 500  # pseudonyms per IN (...)


async def _weeks(runtime: Runtime, workspace_id: str) -> list[date]:
    """Every week (Monday) the workspace holds answers for, oldest first: a person's answers
    are found through their pseudonym of each of those weeks."""
    bounds: list[date] = []
    async with runtime.db.session() as session:
        for model in (Response, Note, ManagerEstimate):
            low, high = (
                await session.exec(
                    select(
                        func.min(col(model.period_start)), func.max(col(model.period_start))
                    ).where(model.workspace_id == workspace_id)
                )
            ).one()
            bounds += [d for d in (low, high) if d is not None]
    if not bounds:
        return []
    first, last = week_start(min(bounds)), week_start(max(bounds))
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def _chunks(items: Sequence[str]) -> list[list[str]]:
    return [list(items[i : i + MAX_KEYS]) for i in range(0, len(items), MAX_KEYS)]


async def pseudonyms_of(runtime: Runtime, workspace_id: str, user_id: str) -> dict[str, date]:
    """The person's weekly pseudonyms for every week the workspace holds answers for."""
    return runtime.pseudonyms.weeks(workspace_id, user_id, await _weeks(runtime, workspace_id))


async def export_csv(runtime: Runtime, workspace_id: str, user_id: str) -> tuple[str, int]:
    """The person's own answers and notes as CSV text, and how many rows it holds."""
    mine = list(await pseudonyms_of(runtime, workspace_id, user_id))
    answers: list[Response] = []
    notes: list[Note] = []
    async with runtime.db.session() as session:
        for chunk in _chunks(mine):
            answers += (
                await session.exec(select(Response).where(col(Response.pseudonym).in_(chunk)))
            ).all()
            notes += (await session.exec(select(Note).where(col(Note.pseudonym).in_(chunk)))).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in sorted(answers, key=lambda r: (r.period_start, r.moment or "", r.prompt_id)):
        kind = f"deal:{r.moment}" if r.moment else "check-in"
        writer.writerow(
            (
                r.period_start.isoformat(),
                kind,
                r.prompt_id,
                r.dimension,
                r.value,
                "" if r.score is None else r.score,
            )
        )
    for n in sorted(notes, key=lambda n: n.period_start):
        shared = "note (shared anonymously)" if n.shared else "note (private)"
        writer.writerow((n.period_start.isoformat(), shared, "", "", n.text, ""))
    return out.getvalue(), len(answers) + len(notes)


@dataclass(frozen=True)
class SentDm:
    """A DM Trustbot posted to the person that may still be in Slack."""

    channel_id: str
    message_ts: str


@dataclass(frozen=True)
class Forgotten:
    counts: dict[str, int]
    open_dms: list[SentDm] = field(default_factory=list)  # to delete in Slack
    digests: list[int] = field(default_factory=list)  # digests whose figures lost a note

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _without_notes(figures: dict[str, Any], texts: set[str]) -> dict[str, Any] | None:
    """``figures`` with ``texts`` taken out of its shared notes; None if it quoted none."""
    notes = figures.get("notes") or {}
    quoted = list(notes.get("texts") or ())
    kept = [text for text in quoted if text not in texts]
    if len(kept) == len(quoted):
        return None
    return {**figures, "notes": {**notes, "texts": kept}}


async def forget(runtime: Runtime, workspace_id: str, user_id: str) -> Forgotten:
    """Delete every row about the person, in one transaction: their answers, notes and
    estimates (found through their weekly pseudonyms), memberships, DMs still open, admin
    grants; their shared notes leave the stored digest figures too. Deal updates and the
    audit log keep what happened but not who. An opt-out survives only as the keyed hash in
    ``OptOut`` (:mod:`bot.core.recipients`), which names nobody."""
    mine = list(await pseudonyms_of(runtime, workspace_id, user_id))
    counts: dict[str, int] = {"response": 0, "note": 0, "managerestimate": 0}
    async with runtime.db.session() as session:
        shared: set[str] = set()
        for chunk in _chunks(mine):
            shared |= set(
                (
                    await session.exec(
                        select(Note.text).where(col(Note.pseudonym).in_(chunk), col(Note.shared))
                    )
                ).all()
            )
            replies = select(col(Note.id)).where(col(Note.pseudonym).in_(chunk))
            await session.exec(delete(NoteReply).where(col(NoteReply.note_id).in_(replies)))
            for name, model in (
                ("response", Response),
                ("note", Note),
                ("managerestimate", ManagerEstimate),
            ):
                result = await session.exec(delete(model).where(col(model.pseudonym).in_(chunk)))
                counts[name] += int(result.rowcount or 0)
        open_dms = [
            SentDm(channel, ts)
            for channel, ts in (
                await session.exec(
                    select(Delivery.channel_id, Delivery.message_ts).where(
                        Delivery.workspace_id == workspace_id,
                        Delivery.user_id == user_id,
                        col(Delivery.message_ts).is_not(None),
                    )
                )
            ).all()
            if channel and ts
        ]
        statements = {
            "delivery": delete(Delivery).where(
                col(Delivery.workspace_id) == workspace_id, col(Delivery.user_id) == user_id
            ),
            "member": delete(Member).where(
                col(Member.workspace_id) == workspace_id, col(Member.user_id) == user_id
            ),
            "admin": delete(Admin).where(
                col(Admin.workspace_id) == workspace_id, col(Admin.user_id) == user_id
            ),
            "person": delete(Person).where(
                col(Person.workspace_id) == workspace_id, col(Person.user_id) == user_id
            ),
            # the sealed record of the deals their updates named (the check-in's deal)
            "recent deals": delete(RecentDeals).where(
                col(RecentDeals.workspace_id) == workspace_id,
                col(RecentDeals.user_id) == user_id,
            ),
            # deal events keep the deal for the team's history but lose the person
            "dealevent": update(DealEvent)
            .where(
                col(DealEvent.workspace_id) == workspace_id, col(DealEvent.rep_user_id) == user_id
            )
            .values(rep_user_id=None, rep_email=None),
        }
        for name, statement in statements.items():
            result = await session.exec(statement)
            counts[name] = int(result.rowcount or 0)
        changed: list[int] = []
        if shared:  # the notes they shared leave every digest that quoted them
            for digest in (
                await session.exec(select(Digest).where(Digest.workspace_id == workspace_id))
            ).all():
                figures = _without_notes(dict(digest.figures), shared)
                if figures is not None and digest.id is not None:
                    digest.figures = figures
                    session.add(digest)
                    changed.append(digest.id)
        counts["digest notes"] = len(changed)
        # the audit log keeps what happened, not to whom
        entries = (
            await session.exec(select(AuditLog).where(AuditLog.workspace_id == workspace_id))
        ).all()
        scrubbed = 0
        for entry in entries:
            detail = _scrub(entry.detail, user_id)
            if entry.actor == user_id or detail != entry.detail:
                entry.actor = FORGOTTEN if entry.actor == user_id else entry.actor
                entry.detail = detail
                session.add(entry)
                scrubbed += 1
        counts["auditlog"] = scrubbed
    return Forgotten(counts, open_dms, changed)


def _scrub(value: Any, user_id: str) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, user_id) for v in value]
    if isinstance(value, str) and user_id in value:
        return value.replace(user_id, FORGOTTEN)
    return value
