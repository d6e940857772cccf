"""Issue #15: shared notes need ``notes_k`` people who answered the check-in.

Only a check-in respondent can write a note, so only they make a crowd to hide a note in.
With k = notes_k = 5, one rep answers the check-in and shares a note while four others only
answer deal nudges that week: five people answered something, one could have written it.
"""

from __future__ import annotations

from bot.storage import Database
from tests.attacks import _week as week

REPS = [f"U0SOLO{i:04d}" for i in range(1, 7)]
WRITER, NUDGED = REPS[0], REPS[1:5]
NOTE = "My manager pushed me to sandbag the Globex close date"


async def test_a_shared_note_needs_notes_k_checkin_respondents(db: Database) -> None:
    rt = await week.workspace(db)
    solo = await week.team(rt, "solo", REPS, k=5)
    week.move(rt, week.MONDAY.replace(hour=10))  # working hours in London
    assert await week.nudge_and_answer(rt, NUDGED) == set(NUDGED)
    sent = await week.send_checkins(rt, solo)
    assert solo.id is not None
    scores = dict.fromkeys(("integrity", "care", "candor", "internal_trust"), 3)
    assert await week.answer_checkin(rt, WRITER, sent[(solo.id, WRITER)], scores, note=NOTE)
    week.move(rt, week.AFTER)
    notes = (await week.figures(rt, solo))[solo.id].notes
    assert NOTE not in notes.texts, "one check-in respondent's note was published"
