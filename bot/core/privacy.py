"""A rep's own data: export it as CSV, or forget it entirely.

Answers are found through the person's keyed pseudonym; rows that name the Slack user
directly (memberships, deliveries, deal events, admin grants, audit entries) by user ID."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select

from bot.runtime import Runtime
from bot.storage.models import (
    Admin,
    AuditLog,
    DealEvent,
    Delivery,
    ManagerEstimate,
    Member,
    Note,
    Person,
    Response,
    Team,
)

FORGOTTEN = "(forgotten)"
CSV_COLUMNS = (
    "answered_at",
    "team",
    "week_of",
    "kind",
    "prompt_id",
    "dimension",
    "answer",
    "score",
)


async def export_csv(runtime: Runtime, workspace_id: str, user_id: str) -> tuple[str, int]:
    """The person's own answers and notes as CSV text, and how many rows it holds."""
    me = runtime.pseudonyms.of(workspace_id, user_id)
    async with runtime.db.session() as session:
        names = {
            t.id: t.name
            for t in (
                await session.exec(select(Team).where(Team.workspace_id == workspace_id))
            ).all()
        }
        answers = (
            await session.exec(
                select(Response)
                .where(Response.workspace_id == workspace_id, Response.pseudonym == me)
                .order_by(col(Response.answered_at))
            )
        ).all()
        notes = (
            await session.exec(
                select(Note)
                .where(Note.workspace_id == workspace_id, Note.pseudonym == me)
                .order_by(col(Note.written_at))
            )
        ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in answers:
        kind = f"deal:{r.moment}" if r.moment else "check-in"
        writer.writerow(
            (
                r.answered_at.isoformat(),
                names.get(r.team_id, ""),
                r.period_start.isoformat(),
                kind,
                r.prompt_id,
                r.dimension,
                r.value,
                "" if r.score is None else r.score,
            )
        )
    for n in notes:
        shared = "note (shared anonymously)" if n.shared else "note (private)"
        writer.writerow(
            (
                n.written_at.isoformat(),
                names.get(n.team_id, ""),
                n.period_start.isoformat(),
                shared,
                "",
                "",
                n.text,
                "",
            )
        )
    return out.getvalue(), len(answers) + len(notes)


@dataclass(frozen=True)
class Forgotten:
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def forget(runtime: Runtime, workspace_id: str, user_id: str) -> Forgotten:
    """Delete every row about the person, in one transaction. An opt-out survives only as
    the keyed hash in ``OptOut`` (see :mod:`bot.people`), which names nobody."""
    me = runtime.pseudonyms.of(workspace_id, user_id)
    counts: dict[str, int] = {}

    statements = {
        "response": delete(Response).where(
            col(Response.workspace_id) == workspace_id, col(Response.pseudonym) == me
        ),
        "note": delete(Note).where(
            col(Note.workspace_id) == workspace_id, col(Note.pseudonym) == me
        ),
        "managerestimate": delete(ManagerEstimate).where(
            col(ManagerEstimate.workspace_id) == workspace_id, col(ManagerEstimate.pseudonym) == me
        ),
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
        # deal events keep the deal for the team's history but lose the person
        "dealevent": update(DealEvent)
        .where(col(DealEvent.workspace_id) == workspace_id, col(DealEvent.rep_user_id) == user_id)
        .values(rep_user_id=None, rep_email=None),
    }
    async with runtime.db.session() as session:
        for name, statement in statements.items():
            result = await session.exec(statement)
            counts[name] = int(result.rowcount or 0)
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
    return Forgotten(counts)


def _scrub(value: Any, user_id: str) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, user_id) for v in value]
    if isinstance(value, str) and user_id in value:
        return value.replace(user_id, FORGOTTEN)
    return value
