"""A manager's anonymous reply to a shared note (bot/core/note_replies.py): stored against the
note, delivered to its writer only (found with the key, in memory), refused to anyone but a
current manager of the team and to forged buttons."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.core import digests, privacy
from bot.core.note_replies import (
    GONE,
    NOT_MANAGER,
    UNREADABLE,
    ReplyError,
    reply,
    reply_ref,
    target,
)
from bot.runtime import Runtime
from bot.storage import Database
from bot.storage.models import NoteReply
from tests.support.teams import W3, WS, checkin_week, make_runtime, make_team, same

NOTE = "We promised a date we knew was tight."


@pytest.fixture
def rt(db: Database) -> Runtime:
    return make_runtime(db)


async def a_digest_with_a_note(rt: Runtime) -> tuple[int, list[str]]:
    team, reps = await make_team(rt, "six", 6, managers=["U0BOSS"])
    notes = {reps[2]: (NOTE, True), reps[3]: ("Kept to myself", False)}
    await checkin_week(rt, team, W3, same(reps, care__interests_first="4"), notes=notes)
    figures = (await digests.digest_for(rt, team, W3, publish=False)).figures
    assert figures.notes.texts == [NOTE]
    assert team.id is not None
    return team.id, reps


async def test_the_reply_is_stored_against_the_note_and_reaches_only_its_writer(
    rt: Runtime,
) -> None:
    team_id, reps = await a_digest_with_a_note(rt)
    ref = reply_ref(team_id, W3, 0)
    assert (await target(rt, WS, "U0BOSS", ref)).text == NOTE
    note, writers = await reply(rt, WS, "U0BOSS", ref, "  Thank you: let's talk dates early.  ")
    assert writers == [reps[2]] and note.text == NOTE
    async with rt.db.session() as s:
        stored = (await s.exec(select(NoteReply))).all()
    assert [r.text for r in stored] == ["Thank you: let's talk dates early."]
    # the row names neither the writer nor the manager, in any column
    row = stored[0].model_dump()
    assert not any(who in str(row) for who in [*reps, "U0BOSS"])


@pytest.mark.parametrize(
    ("who", "ref", "says"),
    [
        ("USIX00", "{team}:2026-11-16:0", NOT_MANAGER),  # a rep of the team
        ("U0OTHER", "{team}:2026-11-16:0", NOT_MANAGER),  # someone outside it
        ("U0BOSS", "{team}:2026-11-16:1", GONE),  # no second note
        ("U0BOSS", "{team}:2026-11-09:0", GONE),  # a week without a digest
        ("U0BOSS", "{team}:2026-13-40:0", UNREADABLE),
        ("U0BOSS", "{team}:2026-11-16:-1", UNREADABLE),
        ("U0BOSS", "USIX02", UNREADABLE),  # a forged value naming a person
        ("U0BOSS", "", UNREADABLE),
    ],
)
async def test_forged_or_foreign_clicks_are_refused(
    rt: Runtime, who: str, ref: str, says: str
) -> None:
    team_id, _ = await a_digest_with_a_note(rt)
    with pytest.raises(ReplyError) as error:
        await reply(rt, WS, who, ref.format(team=team_id), "hello")
    assert error.value.message == says
    async with rt.db.session() as s:
        assert (await s.exec(select(NoteReply))).all() == []


async def test_a_manager_of_another_team_cannot_reply(rt: Runtime) -> None:
    team_id, _ = await a_digest_with_a_note(rt)
    await make_team(rt, "other", 3, managers=["U0ELSE"])
    with pytest.raises(ReplyError, match="Only the team's managers"):
        await reply(rt, WS, "U0ELSE", reply_ref(team_id, W3, 0), "hello")
    with pytest.raises(ReplyError, match="Only the team's managers"):
        await reply(rt, "T0OTHERWS", "U0BOSS", reply_ref(team_id, W3, 0), "hello")


async def test_an_empty_or_huge_reply_says_what_is_wrong(rt: Runtime) -> None:
    team_id, _ = await a_digest_with_a_note(rt)
    with pytest.raises(ReplyError, match="Write a reply first"):
        await reply(rt, WS, "U0BOSS", reply_ref(team_id, W3, 0), "   ")
    with pytest.raises(ReplyError, match="at most 3000"):
        await reply(rt, WS, "U0BOSS", reply_ref(team_id, W3, 0), "x" * 3001)


async def test_forget_me_takes_the_replies_to_the_writer_s_notes(rt: Runtime) -> None:
    team_id, reps = await a_digest_with_a_note(rt)
    await reply(rt, WS, "U0BOSS", reply_ref(team_id, W3, 0), "Thanks")
    await privacy.forget(rt, WS, reps[2])
    async with rt.db.session() as s:
        assert (await s.exec(select(NoteReply))).all() == []
