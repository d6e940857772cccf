"""Recording check-in answers and notes: pseudonyms, upserts, validation and expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.core import answers
from bot.core.answers import AnswerError, CheckinClosed
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.pseudonyms import Pseudonyms
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import CheckinRound, Delivery, Note, Response
from tests.support.checkins import PERIOD, add_round, checkin_delivery

KEY = "unit-test-pseudonym-key-0123"
WS = "T0UNIT"
REP, OTHER = "U0REP1", "U0REP2"
PROMPTS = [
    "goal.trust_or_else",  # choice, 4 options
    "care.interests_first",  # scale
    "reliability.unsure_promise",  # yes_no, yes is the untrustworthy answer
    "internal_trust.weekly_note",  # text
]


@pytest.fixture
def runtime(db: Database, clock: ManualClock) -> Runtime:
    settings = load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY)
    return Runtime(settings=settings, db=db, clock=clock)


async def make_round(
    rt: Runtime,
    prompt_ids: list[str] | None = None,
    reps: tuple[str, ...] = (REP, OTHER),
    workspace: str = WS,
) -> CheckinRound:
    now = rt.clock.now()
    async with rt.db.session() as s:
        prompts = PROMPTS if prompt_ids is None else prompt_ids
        rnd = await add_round(s, workspace, now, prompt_ids=prompts, status="fanned_out")
        for n, user in enumerate(reps):
            sent = checkin_delivery(
                rnd,
                user,
                "sent",
                now,
                channel_id=f"D0{user}",
                message_ts=f"1700000000.00000{n}",
                sent_at=now,
                remind_at=now + timedelta(days=1),
                expires_at=now + timedelta(days=3),
            )
            s.add(sent)
    return rnd


async def all_rows(rt: Runtime, model: type[Any]) -> list[Any]:
    async with rt.db.session() as s:
        return list((await s.exec(select(model))).all())


def rid(rnd: CheckinRound) -> int:
    assert rnd.id is not None
    return rnd.id


async def test_an_answer_is_stored_under_the_pseudonym(runtime: Runtime) -> None:
    rnd = await make_round(runtime)
    got = await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "4")
    assert got == {"care.interests_first": "4"}
    (row,) = await all_rows(runtime, Response)
    assert row.pseudonym == Pseudonyms(KEY).weekly(WS, REP, PERIOD)  # this week's only
    assert row.pseudonym != Pseudonyms(KEY).weekly(WS, REP, PERIOD + timedelta(days=7))
    assert (row.context, row.period_start) == (f"checkin:{PERIOD.isoformat()}", PERIOD)
    assert (row.prompt_id, row.dimension, row.value, row.score) == (
        "care.interests_first",
        "care",
        "4",
        4,
    )
    stored = row.model_dump()
    assert set(stored) == {  # the week and the kind of answer, nothing finer: no team, no time
        "id",
        "workspace_id",
        "period_start",
        "context",
        "moment",
        "pseudonym",
        "prompt_id",
        "dimension",
        "value",
        "score",
    }
    flat = " ".join(str(v) for v in stored.values())
    assert REP not in flat and "D0" not in flat


async def test_only_behaviour_is_scored(runtime: Runtime) -> None:
    """A quota goal (a reflection) and an admitted risk (a situation) are recorded with no
    score, so they can never pull a rep's trend down; a behaviour answer keeps its score, and
    "didn't come up" has none."""
    rnd = await make_round(runtime)
    await answers.record_answer(runtime, WS, REP, rid(rnd), "goal.trust_or_else", "quota")
    await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "2")
    got = await answers.record_answer(
        runtime, WS, REP, rid(rnd), "reliability.unsure_promise", "yes"
    )
    assert got == {
        "goal.trust_or_else": "quota",
        "care.interests_first": "2",
        "reliability.unsure_promise": "yes",
    }
    scores = {r.prompt_id: r.score for r in await all_rows(runtime, Response)}
    assert scores == {
        "goal.trust_or_else": None,
        "care.interests_first": 2,
        "reliability.unsure_promise": None,
    }
    await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "didnt_come_up")
    scores = {r.prompt_id: r.score for r in await all_rows(runtime, Response)}
    assert scores["care.interests_first"] is None


async def test_clicking_again_changes_the_answer_in_place(
    runtime: Runtime, clock: ManualClock
) -> None:
    rnd = await make_round(runtime)
    await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "4")
    clock.advance(timedelta(hours=2))
    got = await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "2")
    assert got == {"care.interests_first": "2"}
    (row,) = await all_rows(runtime, Response)
    assert (row.value, row.score) == ("2", 2)


async def test_each_rep_has_their_own_answers(runtime: Runtime) -> None:
    rnd = await make_round(runtime)
    await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "5")
    got = await answers.record_answer(runtime, WS, OTHER, rid(rnd), "care.interests_first", "1")
    assert got == {"care.interests_first": "1"}
    mine, note = await answers.current_answers(runtime, WS, REP, rid(rnd))
    assert mine == {"care.interests_first": "5"} and note is None
    assert len({r.pseudonym for r in await all_rows(runtime, Response)}) == 2


@pytest.mark.parametrize(
    ("prompt_id", "value", "message"),
    [
        ("care.interests_first", "6", "not one of the answers"),
        ("care.interests_first", "", "not one of the answers"),
        ("goal.trust_or_else", "Trust and value", "not one of the answers"),
        ("candor.forecast_honest", "3", "not part of this check-in"),
        ("no.such_prompt", "3", "not part of this check-in"),
        ("internal_trust.weekly_note", "hello", "note"),
    ],
)
async def test_bad_answers_are_refused(
    runtime: Runtime, prompt_id: str, value: str, message: str
) -> None:
    rnd = await make_round(runtime)
    with pytest.raises(AnswerError, match=message):
        await answers.record_answer(runtime, WS, REP, rid(rnd), prompt_id, value)
    assert await all_rows(runtime, Response) == []


async def test_only_the_rep_it_was_sent_to_in_that_workspace_can_answer(
    runtime: Runtime,
) -> None:
    rnd = await make_round(runtime, reps=(REP,))
    with pytest.raises(AnswerError, match="not sent to you"):
        await answers.record_answer(runtime, WS, OTHER, rid(rnd), "care.interests_first", "3")
    with pytest.raises(AnswerError, match="no longer exists"):
        await answers.record_answer(runtime, "T0ELSE", REP, rid(rnd), "care.interests_first", "3")
    with pytest.raises(AnswerError, match="no longer exists"):
        await answers.record_answer(runtime, WS, REP, 999_999, "care.interests_first", "3")
    with pytest.raises(AnswerError):
        await answers.checkin_state(runtime, WS, OTHER, rid(rnd))
    assert await all_rows(runtime, Response) == []


async def test_a_closed_checkin_refuses_changes(runtime: Runtime, clock: ManualClock) -> None:
    rnd = await make_round(runtime)
    await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "4")
    await answers.record_note(runtime, WS, REP, rid(rnd), "kept", False)
    clock.advance(timedelta(days=3))  # exactly expires_at: closed
    with pytest.raises(CheckinClosed, match=r"^This check-in has closed"):
        await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "1")
    with pytest.raises(CheckinClosed):
        await answers.record_note(runtime, WS, REP, rid(rnd), "changed", True)
    (row,) = await all_rows(runtime, Response)
    (note,) = await all_rows(runtime, Note)
    assert (row.value, note.text, note.shared) == ("4", "kept", False)
    state = await answers.checkin_state(runtime, WS, REP, rid(rnd))
    assert state.closed and state.answers == {"care.interests_first": "4"}


async def test_an_expired_status_closes_it_too(runtime: Runtime) -> None:
    rnd = await make_round(runtime)
    async with runtime.db.session() as s:
        delivery = (await s.exec(select(Delivery).where(Delivery.user_id == REP))).one()
        delivery.status = "expired"
        s.add(delivery)
    with pytest.raises(CheckinClosed):
        await answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", "1")
    assert await answers.record_answer(runtime, WS, OTHER, rid(rnd), "care.interests_first", "1")


async def test_a_note_is_stored_stripped_and_can_be_rewritten(runtime: Runtime) -> None:
    rnd = await make_round(runtime)
    note = await answers.record_note(runtime, WS, REP, rid(rnd), "  I told a client no.  \n", True)
    assert (note.text, note.shared) == ("I told a client no.", True)
    await answers.record_note(runtime, WS, REP, rid(rnd), "Second thoughts", False)
    (row,) = await all_rows(runtime, Note)
    assert (row.text, row.shared, row.pseudonym) == (
        "Second thoughts",
        False,
        Pseudonyms(KEY).weekly(WS, REP, PERIOD),
    )
    assert (row.context, row.period_start) == (f"checkin:{PERIOD.isoformat()}", PERIOD)
    assert REP not in " ".join(str(v) for v in row.model_dump().values())
    got, mine = await answers.current_answers(runtime, WS, REP, rid(rnd))
    assert got == {} and mine is not None and mine.text == "Second thoughts"


@pytest.mark.parametrize(
    ("text", "message"), [("", "empty"), (" \n\t ", "empty"), ("x" * 3001, "3000")]
)
async def test_bad_notes_are_refused(runtime: Runtime, text: str, message: str) -> None:
    rnd = await make_round(runtime)
    with pytest.raises(AnswerError, match=message):
        await answers.record_note(runtime, WS, REP, rid(rnd), text, True)
    assert await all_rows(runtime, Note) == []


async def test_a_note_of_3000_characters_fits(runtime: Runtime) -> None:
    rnd = await make_round(runtime)
    note = await answers.record_note(runtime, WS, REP, rid(rnd), "é" * 3000, False)
    assert len(note.text) == 3000


async def test_a_note_needs_a_free_text_prompt_in_the_round(runtime: Runtime) -> None:
    rnd = await make_round(runtime, prompt_ids=["care.interests_first"])
    with pytest.raises(AnswerError, match="does not ask for a note"):
        await answers.record_note(runtime, WS, REP, rid(rnd), "hello", False)


async def test_quick_clicks_race_to_one_row(runtime: Runtime) -> None:
    rnd = await make_round(runtime)
    values = ["1", "2", "3", "4", "5"] * 2
    await asyncio.gather(
        *(
            answers.record_answer(runtime, WS, REP, rid(rnd), "care.interests_first", v)
            for v in values
        ),
        *(
            answers.record_note(runtime, WS, REP, rid(rnd), f"note {n}", n % 2 == 0)
            for n in range(6)
        ),
    )
    (row,) = await all_rows(runtime, Response)
    assert row.value in values and row.score == int(row.value)
    assert len(await all_rows(runtime, Note)) == 1


async def test_state_says_where_the_message_is(runtime: Runtime) -> None:
    rnd = await make_round(runtime)
    await answers.record_answer(runtime, WS, REP, rid(rnd), "goal.trust_or_else", "trust_and_value")
    state = await answers.checkin_state(runtime, WS, REP, rid(rnd))
    assert state.round.id == rnd.id and not state.closed
    assert state.answers == {"goal.trust_or_else": "trust_and_value"} and state.note is None
    assert (state.channel_id, state.message_ts) == (f"D0{REP}", "1700000000.000000")


async def test_without_the_key_nothing_is_stored(db: Database, clock: ManualClock) -> None:
    rt = Runtime(settings=load_settings(TRUSTBOT_PSEUDONYM_KEY=None), db=db, clock=clock)
    rnd = await make_round(rt)
    with pytest.raises(RuntimeError, match="TRUSTBOT_PSEUDONYM_KEY"):
        await answers.record_answer(rt, WS, REP, rid(rnd), "care.interests_first", "3")


def test_every_checkin_prompt_can_be_answered_with_each_of_its_choices() -> None:
    bank = default_bank()
    for prompt in bank.checkin_prompts():
        for option in prompt.answer.choices():
            assert bank.scale_value(prompt, option.value) == option.score
