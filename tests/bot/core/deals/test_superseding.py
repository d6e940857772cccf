"""A newer update about a deal supersedes its nudge still waiting in the outbox, and seed 000's
new-deal questions are asked once per deal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import deals, outbox
from bot.core.deals.superseding import SUPERSEDED, superseded_by
from bot.core.prompts import DealChange, MomentKey
from bot.runtime import Runtime
from bot.storage.models import DeliveryStatus
from tests.support.deals import (
    LONDON,
    NEW_YORK,
    accept,
    no_lookup,
    nudges,
    stored_events,
    update,
)

AT_10 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
PUSHED = update(
    "crm-1", rep_user_id=NEW_YORK, occurred_at=AT_10
)  # close date 30 Nov -> 15 Jan, while New York sleeps: deferred to its morning
LOST = update(
    "crm-2",
    rep_user_id=NEW_YORK,
    change=DealChange.LOST,
    from_value="Negotiation/Review",
    to_value="Closed Lost",
    occurred_at=AT_10 + timedelta(hours=1),
)


async def test_a_newer_update_cancels_the_waiting_nudge_with_a_reason(runtime: Runtime) -> None:
    [pushed] = await accept(runtime, PUSHED)
    assert await deals.process_event(runtime, pushed, no_lookup) == deals.DEFERRED
    [lost] = await accept(runtime, LOST)
    assert await deals.process_event(runtime, lost, no_lookup) == deals.DEFERRED
    old, new = await nudges(runtime)
    assert (old.deal_event_id, old.status) == (pushed, DeliveryStatus.SUPERSEDED)
    assert old.last_error == "superseded: the deal changed again (lost) before this nudge went out"
    assert (new.deal_event_id, new.status) == (lost, DeliveryStatus.PENDING)
    # the cancelled nudge no longer holds the deal's 24-hour slot: the new one takes its place
    assert new.planned_at == old.planned_at
    assert [e.status for e in await stored_events(runtime)] == [SUPERSEDED, deals.DEFERRED]
    assert (await outbox.counts(runtime.db, "T1"))["superseded"] == 1
    content = await deals.nudge_context(runtime, new)
    assert content.moment is MomentKey.LOST


async def test_an_update_about_a_state_the_deal_has_left_gets_no_nudge(runtime: Runtime) -> None:
    """Delivered late (a CRM retry), an older change arrives after the newer one."""
    [lost] = await accept(runtime, LOST)
    await deals.process_event(runtime, lost, no_lookup)
    [pushed] = await accept(runtime, PUSHED)
    assert await deals.process_event(runtime, pushed, no_lookup) == SUPERSEDED
    [only] = await nudges(runtime)
    assert (only.deal_event_id, only.status) == (lost, DeliveryStatus.PENDING)


async def test_in_one_batch_only_the_deals_latest_update_is_nudged(runtime: Runtime) -> None:
    ids = await accept(runtime, LOST, PUSHED, update("other", deal_id="D-7", rep_user_id=LONDON))
    done = await deals.process_events(runtime, ids, no_lookup)
    assert [done.statuses[i] for i in ids] == [deals.DEFERRED, SUPERSEDED, deals.NUDGED]
    assert sorted(d.deal_event_id or 0 for d in await nudges(runtime)) == [ids[0], ids[2]]


async def test_of_two_updates_at_the_same_instant_the_later_to_arrive_is_the_newer(
    runtime: Runtime,
) -> None:
    first = update("crm-a", rep_user_id=NEW_YORK, occurred_at=AT_10)
    second = update(
        "crm-b",
        rep_user_id=NEW_YORK,
        change=DealChange.LOST,
        to_value="Closed Lost",
        occurred_at=AT_10,
    )
    [one] = await accept(runtime, first)
    assert await deals.process_event(runtime, one, no_lookup) == deals.DEFERRED
    [two] = await accept(runtime, second)
    assert await deals.process_event(runtime, two, no_lookup) == deals.DEFERRED
    old, new = await nudges(runtime)
    assert (old.deal_event_id, old.status) == (one, DeliveryStatus.SUPERSEDED)
    assert (new.deal_event_id, new.status) == (two, DeliveryStatus.PENDING)


async def test_a_nudge_about_to_go_out_sees_a_newer_update_not_planned_yet(
    runtime: Runtime,
) -> None:
    [pushed] = await accept(runtime, PUSHED)
    await deals.process_event(runtime, pushed, no_lookup)
    [waiting] = await nudges(runtime)
    assert await superseded_by(runtime, waiting) is None
    await accept(runtime, LOST)  # stored, not processed yet
    assert await superseded_by(runtime, waiting) == (
        "superseded: the deal changed again (lost) before this nudge went out"
    )
    older = update("crm-0", rep_user_id=NEW_YORK, occurred_at=AT_10 - timedelta(days=1))
    await accept(runtime, older)  # an older one changes nothing
    assert "(lost)" in (await superseded_by(runtime, waiting) or "")


async def test_a_sent_nudge_is_never_superseded(runtime: Runtime) -> None:
    [pushed] = await accept(runtime, update("crm-1", occurred_at=AT_10))  # London: due now
    await deals.process_event(runtime, pushed, no_lookup)
    [row] = await nudges(runtime)
    assert row.id is not None
    claimed = await outbox.claim_due(runtime.db, runtime.clock, "w1", 10)
    assert [r.id for r in claimed] == [row.id]
    later = update("crm-2", occurred_at=AT_10 + timedelta(hours=1), change=DealChange.LOST)
    [lost] = await accept(runtime, later)
    await deals.process_event(runtime, lost, no_lookup)
    first, _ = await nudges(runtime)
    assert first.status == DeliveryStatus.SENDING  # in a worker's hands: its own check decides


async def _created(runtime: Runtime) -> int:
    """The id of a deal's creation in Qualification, accepted and processed."""
    created = update("crm-1", change=DealChange.CREATED, to_value="Qualification", from_value=None)
    [first] = await accept(runtime, created)
    await deals.process_event(runtime, first, no_lookup)
    return first


async def _moved_two_days_later(runtime: Runtime) -> int:
    """The id of the deal's move to Discovery two days on, accepted (not yet processed)."""
    moved = update(
        "crm-2",
        change=DealChange.STAGE_CHANGED,
        from_value="Qualification",
        to_value="Discovery",
        occurred_at=AT_10 + timedelta(days=2),
    )
    [second] = await accept(runtime, moved)
    return second


async def test_seed_000s_questions_are_asked_once_per_deal(runtime: Runtime) -> None:
    first = await _created(runtime)
    second = await _moved_two_days_later(runtime)
    assert await deals.process_event(runtime, second, no_lookup) == deals.NUDGED
    by_event = {d.deal_event_id: d for d in await nudges(runtime)}
    # the first nudge was superseded before it went out (it was still pending here) ...
    assert by_event[first].status == DeliveryStatus.SUPERSEDED
    # ... so the second asks seed 000's questions: they were never asked
    assert (await deals.nudge_context(runtime, by_event[second])).moment is MomentKey.CREATED


async def test_a_deal_asked_seed_000_already_is_not_asked_again(runtime: Runtime) -> None:
    await _created(runtime)
    [row] = await nudges(runtime)
    assert row.id is not None
    await outbox.claim_due(runtime.db, runtime.clock, "w1", 10)
    await outbox.mark_sent(runtime.db, row.id, "D1", "1.0", runtime.clock)
    second = await _moved_two_days_later(runtime)
    await deals.process_event(runtime, second, no_lookup)
    [_, again] = await nudges(runtime)
    content = await deals.nudge_context(runtime, again)
    assert content.moment is MomentKey.STAGE_CHANGED and content.rule is None
