"""A manager answers a shared note anonymously, and only its writer reads the answer.

A shared note is stored under its writer's weekly pseudonym only, so nothing at rest says who
wrote it. The "Reply" button of a note in a team's digest names the team, the week and the
note's place among the digest's shared notes (``<team>:<week>:<index>``), never a person. On
a reply, the note is found in the team's frozen digest, the reply is stored against the note,
and the writer is found among the reps of the team's round of that week by recomputing each
one's weekly pseudonym with the key, in memory: the link is never stored, and the manager is
never told who received it. Only a current manager of the team may reply; every other click
or submission (another team's manager, a rep, a forged value) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from bot.core.teams import MANAGER
from bot.runtime import Runtime
from bot.storage.models import CheckinRound, Digest, Member, Note, NoteReply

REPLY_MAX = 3000
_REF = re.compile(r"^(\d{1,12}):(\d{4}-\d{2}-\d{2}):(\d{1,4})$")


class ReplyError(ValueError):
    """A reply that cannot be made; the message is written for the manager."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


UNREADABLE = "This reply button could not be read. Use the Reply button of a digest's note."
NOT_MANAGER = "Only the team's managers can reply to its notes."
GONE = "This note is no longer in the team's digest, so it cannot be answered."


def reply_ref(team_id: int, period_start: date, index: int) -> str:
    """The value of the Reply button of the ``index``-th shared note of a team's week."""
    return f"{team_id}:{period_start.isoformat()}:{index}"


@dataclass(frozen=True)
class NoteTarget:
    """The note a manager is answering: what they may see (its text), nothing of its writer."""

    team_id: int
    period_start: date
    index: int
    text: str


def parse_ref(value: object) -> tuple[int, date, int]:
    found = _REF.match(value) if isinstance(value, str) else None
    if found is None:
        raise ReplyError(UNREADABLE)
    try:
        week = date.fromisoformat(found[2])
    except ValueError:
        raise ReplyError(UNREADABLE) from None
    return int(found[1]), week, int(found[3])


async def target(runtime: Runtime, workspace_id: str, manager_id: str, ref: object) -> NoteTarget:
    """The note behind a Reply button, for a current manager of its team. Raises
    :class:`ReplyError` for anything else."""
    team_id, week, index = parse_ref(ref)
    async with runtime.db.session() as session:
        manages = (
            await session.exec(
                select(Member.id).where(
                    Member.workspace_id == workspace_id,
                    Member.team_id == team_id,
                    Member.user_id == manager_id,
                    Member.role == MANAGER,
                )
            )
        ).first()
        if manages is None:
            raise ReplyError(NOT_MANAGER)
        figures = (
            await session.exec(
                select(Digest.figures).where(
                    Digest.workspace_id == workspace_id,
                    Digest.team_id == team_id,
                    Digest.period_start == week,
                )
            )
        ).first()
    texts = list(((figures or {}).get("notes") or {}).get("texts") or ())
    if not 0 <= index < len(texts):
        raise ReplyError(GONE)
    return NoteTarget(team_id, week, index, str(texts[index]))


async def reply(
    runtime: Runtime, workspace_id: str, manager_id: str, ref: object, text: str
) -> tuple[NoteTarget, list[str]]:
    """Store ``text`` against the note and return it with whom to deliver it to (its
    writer; in memory only, for the Slack layer to DM: never stored, never logged)."""
    body = text.strip()
    if not body:
        raise ReplyError("Write a reply first.")
    if len(body) > REPLY_MAX:
        raise ReplyError(f"A reply is at most {REPLY_MAX} characters.")
    found = await target(runtime, workspace_id, manager_id, ref)
    async with runtime.db.session() as session:
        rounds = (
            await session.exec(
                select(CheckinRound.reps, CheckinRound.managers).where(
                    CheckinRound.team_id == found.team_id,
                    CheckinRound.period_start == found.period_start,
                )
            )
        ).all()
        notes = (
            await session.exec(
                select(Note.id, Note.pseudonym).where(
                    Note.workspace_id == workspace_id,
                    Note.period_start == found.period_start,
                    col(Note.shared),
                    Note.text == found.text,
                )
            )
        ).all()
        weekly = runtime.pseudonyms.weekly
        reps = {u for reps, managers in rounds for u in set(reps) - set(managers)}
        by_pseudonym = {weekly(workspace_id, u, found.period_start): u for u in reps}
        mine = [(note_id, by_pseudonym[p]) for note_id, p in notes if p in by_pseudonym]
        if not mine:
            raise ReplyError(GONE)
        now = runtime.clock.now()
        for note_id, _ in mine:
            assert note_id is not None
            session.add(
                NoteReply(workspace_id=workspace_id, note_id=note_id, text=body, created_at=now)
            )
    return found, sorted({writer for _, writer in mine})
