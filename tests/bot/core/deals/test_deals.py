"""Deal updates: the one normalised model, its three sources, storage, rules and processing."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func as sa_func
from sqlalchemy import select as sa_select

from bot.core import deals
from bot.core.deals import PayloadError
from bot.core.deals import planning as deal_planning
from bot.core.deals import storing as deal_store
from bot.core.prompts import DealChange, MomentKey, default_bank
from bot.core.untrusted import unmarked
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.pseudonyms import Pseudonyms
from bot.runtime.settings import load_settings
from bot.storage import Database, deal_writer
from bot.storage.models import Workspace
from tests.support.deals import (
    KEY,
    LONDON,
    NEW_YORK,
    VALID,
    WS,
    Directory,
    accept,
    deal,
    deals_runtime,
    hubspot_event,
    no_lookup,
    nudges,
    stored_events,
    update,
)

# --------------------------------------------------------------------------- the webhook schema


def test_the_product_example_parses_into_the_normalised_model() -> None:
    got = deals.parse_webhook(json.dumps(VALID))
    assert got == update("crm-123")  # the PRODUCT.md example, normalised


def test_unknown_fields_are_ignored_and_times_become_utc() -> None:
    body = deal(extra={"crm": "pipedrive"}, occurred_at="2026-11-22T12:00:00+02:00")
    got = deals.parse_webhook(json.dumps(body))
    assert got.occurred_at == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_rep_by_email_and_numbers_as_values() -> None:
    body = deal(rep={"email": "ana@example.com"}, change="amount_changed", to=12500.5)
    body["from"] = 10000
    got = deals.parse_webhook(json.dumps(body))
    assert (got.rep_user_id, got.rep_email) == (None, "ana@example.com")
    assert (got.from_value, got.to_value) == ("10000", "12500.5")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event_id": ...}, "event_id"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": 123}, "event_id"),
        ({"event_id": "x" * 201}, "event_id"),
        ({"event_id": "a\x00b"}, "event_id"),
        ({"deal_id": None}, "deal_id"),
        ({"deal_name": ...}, "deal_name"),
        ({"rep": ...}, "rep"),
        ({"rep": {}}, "rep"),
        ({"rep": "U123"}, "rep"),
        ({"rep": {"slack_user_id": "ana"}}, "rep.slack_user_id"),
        ({"rep": {"email": "not-an-address"}}, "rep.email"),
        ({"change": "probability_changed"}, "change"),
        ({"change": ...}, "change"),
        ({"from": True}, "from"),
        ({"to": ["2027-01-15"]}, "to"),
        ({"to": "x" * 301}, "to"),
        ({"to": 10**40}, "to"),
        ({"occurred_at": ...}, "occurred_at"),
        ({"occurred_at": "2026-11-22T10:00:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": 1763805600}, "occurred_at"),
        ({"occurred_at": "0001-01-01T00:00:00+10:00"}, "occurred_at"),
    ],
)
def test_a_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        deals.parse_webhook(json.dumps(deal(**changes)))
    assert caught.value.field == field
    assert field in caught.value.message


@pytest.mark.parametrize("body", [b"", b"nope", b"[]", b"[1]", b'"x"', b"\xff\xfe", b"{"])
def test_a_body_that_is_no_json_object_is_refused_as_body(body: bytes) -> None:
    with pytest.raises(PayloadError) as caught:
        deals.parse_webhook(body)
    assert caught.value.field == "body"


# --------------------------------------------------------------------------- HubSpot mapping


@pytest.mark.parametrize(
    ("changes", "change", "to"),
    [
        ({}, DealChange.STAGE_CHANGED, "contractsent"),
        ({"propertyValue": "closedwon"}, DealChange.WON, "closedwon"),
        ({"propertyValue": "closedlost"}, DealChange.LOST, "closedlost"),
        (
            {"propertyName": "closedate", "propertyValue": "1768435200000"},
            DealChange.CLOSE_DATE_CHANGED,
            "2026-01-15",
        ),
        ({"propertyName": "amount", "propertyValue": "12000"}, DealChange.AMOUNT_CHANGED, "12000"),
        (
            {"subscriptionType": "deal.creation", "propertyName": ..., "propertyValue": ...},
            DealChange.CREATED,
            None,
        ),
    ],
)
def test_hubspot_events_map_to_deal_changes(
    changes: dict[str, Any], change: DealChange, to: str | None
) -> None:
    event = {k: v for k, v in hubspot_event(**changes).items() if v is not ...}
    batch = deals.parse_hubspot(json.dumps([event]))
    assert batch.ignored == 0
    [got] = batch.updates
    assert got.change is change
    assert got.to_value == to
    assert got.deal_id == "987" and got.deal_name == "HubSpot deal 987"
    assert got.occurred_at == datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
    assert got.rep_user_id is None and got.rep_email is None  # HubSpot names no owner


def test_hubspot_events_we_do_not_map_are_counted_not_stored() -> None:
    events = [
        hubspot_event(propertyName="hs_priority", propertyValue="high"),
        hubspot_event(subscriptionType="contact.creation"),
        hubspot_event(eventId=101, propertyName="amount", propertyValue="10"),
    ]
    batch = deals.parse_hubspot(json.dumps(events))
    assert batch.ignored == 2
    assert [u.change for u in batch.updates] == [DealChange.AMOUNT_CHANGED]


def test_hubspot_owner_email_names_the_rep_and_the_key_survives_retries() -> None:
    first = hubspot_event(hubspot_owner_email="ana@example.com")
    retry = {**first, "attemptNumber": 3}
    [a] = deals.parse_hubspot(json.dumps([first])).updates
    [b] = deals.parse_hubspot(json.dumps([retry])).updates
    assert a.rep_email == "ana@example.com"
    assert a.event_id == b.event_id == "62515:100:987:dealstage:1764064800000"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventId": 1}, "body"),
        ([hubspot_event(eventId="100")], "[0].eventId"),
        ([hubspot_event(), hubspot_event(objectId=None)], "[1].objectId"),
        ([hubspot_event(occurredAt=-1)], "[0].occurredAt"),
        ([hubspot_event(propertyValue=5)], "[0].propertyValue"),
        ([hubspot_event(hubspot_owner_email="nope")], "[0].hubspot_owner_email"),
        ([1], "[0]"),
    ],
)
def test_bad_hubspot_bodies_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        deals.parse_hubspot(json.dumps(body))
    assert caught.value.field == field


# --------------------------------------------------------------------------- Slack metadata


def test_metadata_carries_the_webhook_payload() -> None:
    got = deals.parse_metadata({"event_type": "deal_updated", "event_payload": VALID})
    assert got == deals.parse_webhook(json.dumps(VALID))


def test_other_metadata_is_not_ours_and_bad_payloads_name_the_field() -> None:
    assert deals.parse_metadata({"event_type": "task_created", "event_payload": {}}) is None
    assert deals.parse_metadata(None) is None
    with pytest.raises(PayloadError) as caught:
        deals.parse_metadata({"event_type": "deal_updated", "event_payload": deal(rep={})})
    assert caught.value.field == "event_payload.rep"


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("change", "to", "moment"),
    [
        ("created", None, DealChange.CREATED),
        ("close_date_changed", "2027-01-15", DealChange.CLOSE_DATE_CHANGED),
        ("amount_changed", "9000", DealChange.AMOUNT_CHANGED),
        ("discount_requested", None, DealChange.DISCOUNT_REQUESTED),
        ("won", None, DealChange.WON),
        ("lost", None, DealChange.LOST),
        ("stage_changed", "Contract sent", DealChange.STAGE_CHANGED),
        ("stage_changed", "negotiation", DealChange.STAGE_CHANGED),
        ("stage_changed", None, DealChange.STAGE_CHANGED),
        ("stage_changed", "Closed Won", DealChange.WON),
        ("stage_changed", "closed-lost", DealChange.LOST),
        ("stage_changed", "Qualification", DealChange.CREATED),
        ("stage_changed", "qualifiedtobuy", DealChange.CREATED),
        ("stage_changed", "appointmentscheduled", DealChange.CREATED),
        ("stage_changed", "Discovery", DealChange.CREATED),
    ],
)
def test_moment_for_a_change(change: str, to: str | None, moment: DealChange) -> None:
    assert deals.moment_for(change, to) is moment


async def test_nudge_context_gives_the_moments_prompts(runtime: Runtime) -> None:
    bank = default_bank()
    first = update(change=DealChange.STAGE_CHANGED, from_value="Lead", to_value="Qualification")
    [event_id] = await accept(runtime, first)
    assert await deals.process_event(runtime, event_id, no_lookup) == deals.NUDGED
    [delivery] = await nudges(runtime)
    content = await deals.nudge_context(runtime, delivery)
    assert content.moment is MomentKey.FIRST_CONTACT
    assert content.change is DealChange.STAGE_CHANGED
    assert content.prompt_ids == tuple(p.id for p in bank.for_moment(MomentKey.FIRST_CONTACT))
    assert content.rule == bank.investment_rule
    assert content.title == bank.moment(MomentKey.FIRST_CONTACT).title
    assert (content.deal_name, content.to_value, content.user_id) == (
        "Acme renewal",
        "Qualification",
        LONDON,
    )
    assert content.team_id is not None
    assert content.answer_context == deals.answer_context(Pseudonyms(KEY), WS, event_id)
    assert content.answer_context != deals.answer_context(
        Pseudonyms("another-key-0123456"), WS, event_id
    )


async def test_a_new_deal_before_first_contact_waits_for_it(runtime: Runtime) -> None:
    """Seed 000's questions are asked after the first conversation, not when a lead is keyed
    into the CRM: a deal created at a pre-contact stage gets no nudge, the first move past it
    does."""
    created = update("crm-1", change=DealChange.CREATED, to_value="Prospecting")
    [waiting] = await accept(runtime, created)
    assert await deals.process_event(runtime, waiting, no_lookup) == deals.WAITING
    assert await nudges(runtime) == []
    moves = (  # booked: still before contact; met: the first conversation
        ("crm-2", "Prospecting", "Appointment Scheduled", deals.WAITING),
        ("crm-3", "Appointment Scheduled", "Discovery", deals.NUDGED),
    )
    for event, before, after, outcome in moves:
        moved = update(event, change=DealChange.STAGE_CHANGED, from_value=before, to_value=after)
        [event_id] = await accept(runtime, moved)
        assert await deals.process_event(runtime, event_id, no_lookup) == outcome
    [delivery] = await nudges(runtime)
    content = await deals.nudge_context(runtime, delivery)
    assert content.moment is MomentKey.FIRST_CONTACT and content.rule is not None


async def test_a_new_deal_past_first_contact_is_asked_at_once(runtime: Runtime) -> None:
    [event_id] = await accept(runtime, update(change=DealChange.CREATED, to_value="Discovery"))
    assert await deals.process_event(runtime, event_id, no_lookup) == deals.NUDGED
    [delivery] = await nudges(runtime)
    assert (await deals.nudge_context(runtime, delivery)).moment is MomentKey.CREATED


async def _slip(runtime: Runtime, n: int, before: str, after: str) -> deals.NudgeContent:
    """What the nudge of deal ``crm-{n}``'s close date moved from ``before`` to ``after`` asks."""
    pushed = update(
        f"crm-{n}", change=DealChange.CLOSE_DATE_CHANGED, from_value=before, to_value=after
    )
    [event_id] = await accept(runtime, pushed)
    await deals.process_event(runtime, event_id, no_lookup)
    delivery = next(d for d in await nudges(runtime) if d.deal_event_id == event_id)
    return await deals.nudge_context(runtime, delivery)


async def test_a_repeated_slip_is_its_own_moment(runtime: Runtime) -> None:
    bank = default_bank()
    pushes = [("2026-11-30", "2026-12-31"), ("2026-12-31", "2027-02-15")]
    first, again = [await _slip(runtime, n, *push) for n, push in enumerate(pushes)]
    assert first.moment is MomentKey.CLOSE_DATE_PUSHED and "31 days later" in first.intro
    assert again.moment is MomentKey.CLOSE_DATE_PUSHED_AGAIN
    assert "second time" in again.intro and "46 days" in again.intro
    assert again.prompt_ids == bank.moment(MomentKey.CLOSE_DATE_PUSHED_AGAIN).prompts


async def test_a_third_slip_is_not_asked_like_the_first(runtime: Runtime) -> None:
    """Seed 002: a forecast says what I believe. The first push asks whether the date is
    honest, the second what is holding the deal up, the third and later whether I still
    believe in it at all."""
    dates = ["2026-11-30", "2026-12-31", "2027-01-31", "2027-02-21", "2027-03-31"]
    seen = [await _slip(runtime, n, *push) for n, push in enumerate(itertools.pairwise(dates))]
    assert [c.moment for c in seen] == [
        MomentKey.CLOSE_DATE_PUSHED,
        MomentKey.CLOSE_DATE_PUSHED_AGAIN,
        MomentKey.CLOSE_DATE_PUSHED_REPEATEDLY,
        MomentKey.CLOSE_DATE_PUSHED_REPEATEDLY,
    ]
    third, fourth = seen[2], seen[3]
    assert "third time" in third.intro and "21 days" in third.intro
    assert "fourth time" in fourth.intro
    assert third.prompt_ids[0] == "candor.still_believe"
    assert set(third.prompt_ids).isdisjoint(seen[0].prompt_ids[:1])  # not the first's question


@pytest.mark.parametrize("change", list(DealChange))
async def test_every_change_plans_a_nudge_with_its_moment(
    runtime: Runtime, change: DealChange
) -> None:
    [event_id] = await accept(runtime, update(change=change, to_value=None))
    assert await deals.process_event(runtime, event_id, no_lookup) == deals.NUDGED
    [delivery] = await nudges(runtime)
    content = await deals.nudge_context(runtime, delivery)
    # with nothing known about its direction or size, a change keeps its plain moment
    assert content.moment == change.value
    assert content.prompt_ids == default_bank().moment(change).prompts


# --------------------------------------------------------------------------- storing


async def test_a_repeat_is_recognised_even_after_a_restart(runtime: Runtime) -> None:
    [first] = await deals.store(runtime, WS, deals.WEBHOOK, [update("crm-1")])
    assert first.created
    again = Database(runtime.db.url)  # a new process on the same database
    try:
        restarted = Runtime(settings=runtime.settings, db=again, clock=runtime.clock)
        [second] = await deals.store(restarted, WS, deals.WEBHOOK, [update("crm-1")])
        [other_source] = await deals.store(restarted, WS, deals.SLACK, [update("crm-1")])
    finally:
        await again.dispose()
    assert (second.id, second.created) == (first.id, False)
    assert other_source.created and other_source.id != first.id
    assert len(await stored_events(runtime)) == 2


async def test_a_batch_with_a_repeat_inside_stores_it_once(runtime: Runtime) -> None:
    receipts = await deals.store(runtime, WS, deals.HUBSPOT, [update("h1"), update("h1")])
    assert [r.created for r in receipts] == [True, False]
    assert receipts[0].id == receipts[1].id


async def test_the_same_event_id_in_two_workspaces_is_two_events(runtime: Runtime) -> None:
    """An event_id is its source's within one workspace: another workspace's CRM may use the
    same one, and that is not a repeat (the batch path and the one-by-one path alike)."""
    await ensure_workspace(runtime.db, "T0OTHER", runtime.clock)
    [ours] = await deals.store(runtime, WS, deals.SLACK, [update("same-id")])
    [theirs] = await deals.store(runtime, "T0OTHER", deals.SLACK, [update("same-id")])
    assert ours.created and theirs.created and ours.id != theirs.id
    recorder = deals.Recorder(runtime)
    again = await asyncio.gather(
        recorder.store(WS, deals.SLACK, [update("same-id")]),
        recorder.store("T0OTHER", deals.SLACK, [update("same-id")]),
    )
    assert [(r.id, r.created) for [r] in again] == [(ours.id, False), (theirs.id, False)]
    assert sorted(e.workspace_id for e in await stored_events(runtime)) == sorted([WS, "T0OTHER"])


async def test_an_accepted_event_is_stored_with_everything(runtime: Runtime) -> None:
    await accept(runtime, update("crm-9", rep_user_id=None, rep_email="ana@example.com"))
    [event] = await stored_events(runtime)
    assert (event.source, event.event_id, event.status) == (deals.WEBHOOK, "crm-9", "accepted")
    assert (event.deal_id, event.change, event.from_value, event.to_value) == (
        "D-42",
        "close_date_changed",
        "2026-11-30",
        "2027-01-15",
    )
    assert (event.rep_user_id, event.rep_email) == (None, "ana@example.com")
    assert event.received_at == runtime.clock.now()


async def test_requests_read_in_the_writers_turn_share_its_commit(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request whose handler runs just after the writer was started still joins its
    transaction (the writer lets the loop turn once before it takes the queue)."""
    batches: list[int] = []
    store_batches = deal_store.store_batches

    async def spy(rt: Runtime, batch: Any) -> Any:
        batches.append(len(batch))
        return await store_batches(rt, batch)

    monkeypatch.setattr(deal_store, "store_batches", spy)
    recorder = deals.Recorder(runtime)
    first = asyncio.ensure_future(recorder.store(WS, deals.WEBHOOK, [update("a")]))
    await asyncio.sleep(0)  # the first has queued itself and started the writer
    second = asyncio.ensure_future(recorder.store(WS, deals.WEBHOOK, [update("b")]))
    [a], [b] = await asyncio.gather(first, second)
    assert a.created and b.created and a.id != b.id
    assert batches == [2]


async def test_the_batch_insert_stores_what_sqlalchemy_would(
    database_url: str, clock: ManualClock
) -> None:
    """The INSERT of a batch is SQL text for SQLite's driver and one array per column on
    PostgreSQL; every column, the instants above all, must be stored exactly as SQLAlchemy's
    own INSERT stores it (SQLite's queries compare instants as text), also past one SQLite
    statement's row limit."""
    db = Database(database_url)
    try:
        rt = await deals_runtime(db, clock)
        at = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Paris"))
        ours = [update(f"d{n}", occurred_at=at, rep_email="ana@example.com") for n in range(3)]
        ours += [update(f"bulk{n}", from_value=None) for n in range(deal_writer.SQLITE_ROWS + 5)]
        receipts = await deals.store(rt, WS, deals.WEBHOOK, ours)
        assert len({r.id for r in receipts}) == len(ours) and all(r.created for r in receipts)
        reference = deal_store.row(WS, deals.WEBHOOK, update("ref", occurred_at=at), clock.now())
        reference["rep_email"] = "ana@example.com"
        table = deal_writer.DEAL_EVENTS
        async with db.engine.begin() as connection:
            await connection.execute(table.insert(), [reference])
            columns = [c for c in table.c if c.name not in ("id", "event_id")]
            query = sa_select(*columns).where(table.c.event_id.in_(["d0", "ref"]))
            stored = (await connection.execute(query)).all()
            nulls = await connection.scalar(
                sa_select(sa_func.count()).where(table.c.from_value.is_(None))
            )
        assert len(stored) == 2 and stored[0] == stored[1]
        assert nulls == deal_writer.SQLITE_ROWS + 5
    finally:
        await db.dispose()
    if database_url.startswith("sqlite"):
        raw = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        sql = "SELECT occurred_at, received_at FROM dealevent WHERE event_id IN ('d0', 'ref')"
        texts = raw.execute(sql).fetchall()
        raw.close()
        assert texts[0] == texts[1]
        assert texts[0][0] == "2026-11-22 09:00:00.123456"  # UTC, as SQLAlchemy writes it


async def test_sqlite_writes_run_on_the_loop_unless_the_database_is_busy(
    sqlite_url: str, clock: ManualClock
) -> None:
    """A short write runs on the event loop (no hand-over to a thread); when another
    connection holds the write lock it goes to the writer thread, which waits for the lock
    while the loop keeps running, and then stores it."""
    db = Database(sqlite_url)
    try:
        rt = await deals_runtime(db, clock)
        threads: list[int] = []

        def work(connection: Any, event_id: str) -> int:
            threads.append(threading.get_ident())
            row = deal_store.row(WS, deals.WEBHOOK, update(event_id), clock.now())
            new, _ = deal_writer.insert_new(connection, [row], [(WS, deals.WEBHOOK, event_id)])
            return len(new)

        assert await deal_writer.sqlite_write(rt.db, work, "free", inline=True) == 1
        assert threads == [threading.get_ident()]

        holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        holder.execute("BEGIN IMMEDIATE")  # another process's writer, say
        asyncio.get_running_loop().call_later(0.3, holder.rollback)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        ticker = asyncio.create_task(tick())
        threads.clear()
        assert await deal_writer.sqlite_write(rt.db, work, "busy", inline=True) == 1
        ticker.cancel()
        holder.close()
        assert threads[0] == threading.get_ident() and threads[-1] != threading.get_ident()
        assert ticks >= 5  # the loop ran while the thread waited for the lock
        assert len(await stored_events(rt)) == 2
    finally:
        await db.dispose()


# --------------------------------------------------------------------------- processing


async def test_a_rep_in_working_hours_is_nudged_now(runtime: Runtime) -> None:
    [event_id] = await accept(runtime, update())
    assert await deals.process_event(runtime, event_id, no_lookup) == deals.NUDGED
    [d] = await nudges(runtime)
    now = runtime.clock.now()
    assert (d.kind, d.deal_event_id, d.user_id, d.status) == ("nudge", event_id, LONDON, "pending")
    assert d.planned_at == d.next_attempt_at == now
    assert d.expires_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 3 working days


async def test_a_rep_outside_working_hours_is_deferred_to_their_morning(runtime: Runtime) -> None:
    [event_id] = await accept(runtime, update(rep_user_id=NEW_YORK))
    assert await deals.process_event(runtime, event_id, no_lookup) == deals.DEFERRED
    [d] = await nudges(runtime)
    local = d.next_attempt_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-11-23", 9, 0)
    assert d.planned_at == d.next_attempt_at


async def test_processing_twice_plans_one_nudge(runtime: Runtime) -> None:
    [event_id] = await accept(runtime, update())
    assert await deals.process_event(runtime, event_id, no_lookup) == deals.NUDGED
    assert await deals.process_event(runtime, event_id, no_lookup) == deals.NUDGED
    assert len(await nudges(runtime)) == 1


async def test_a_rep_by_email_is_looked_up_once_thanks_to_the_cache(runtime: Runtime) -> None:
    directory = Directory({"ana@example.com": LONDON})
    resolve = deals.EmailCache(runtime.clock).resolver(directory)
    ids = await accept(
        runtime,
        update("a", rep_user_id=None, rep_email="ana@example.com"),
        update("b", rep_user_id=None, rep_email="ANA@example.com", deal_id="D-7"),
    )
    for event_id in ids:
        assert await deals.process_event(runtime, event_id, resolve) == deals.NUDGED
    assert directory.calls == ["ana@example.com"]
    assert {e.rep_user_id for e in await stored_events(runtime)} == {None}  # planned: forgotten
    assert {d.user_id for d in await nudges(runtime)} == {LONDON}


async def test_the_email_cache_forgets_after_its_ttl(clock: ManualClock) -> None:
    directory = Directory({"ana@example.com": LONDON})
    cache = deals.EmailCache(clock, ttl=timedelta(hours=1), miss_ttl=timedelta(minutes=5))
    for _ in range(2):
        assert await cache.resolve(WS, "ana@example.com", directory) == LONDON
        assert await cache.resolve(WS, "bo@example.com", directory) is None
    assert directory.calls == ["ana@example.com", "bo@example.com"]
    clock.advance(timedelta(minutes=6))  # the miss is forgotten, the hit is not
    await cache.resolve(WS, "ana@example.com", directory)
    await cache.resolve(WS, "bo@example.com", directory)
    assert directory.calls[2:] == ["bo@example.com"]
    clock.advance(timedelta(hours=1))
    await cache.resolve(WS, "ana@example.com", directory)
    assert directory.calls[3:] == ["ana@example.com"]


@pytest.mark.parametrize(
    ("rep", "label"),
    [
        ({"rep_user_id": None, "rep_email": "nobody@example.com"}, "no such Slack user"),
        ({"rep_user_id": "U0STRANGER"}, "not a rep of any team"),
        ({"rep_user_id": None}, "no rep given"),
    ],
)
async def test_an_unknown_rep_is_kept_and_reported(
    runtime: Runtime, rep: dict[str, Any], label: str
) -> None:
    [event_id] = await accept(runtime, update(**rep))
    status = await deals.process_event(runtime, event_id, Directory({}))
    assert status == deals.UNKNOWN_REP
    assert await nudges(runtime) == []
    report = await deals.unknown_reps(runtime, WS)
    assert report.total == 1
    assert report.recent[0].id == event_id
    assert unmarked(report.recent[0].label).startswith("Acme renewal (")
    assert label in report.recent[0].label


async def test_unknown_reps_are_per_workspace_and_newest_first(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    for n in range(3):
        [event_id] = await accept(runtime, update(f"u{n}", rep_user_id=f"U0NOBODY{n}"))
        await deals.process_event(runtime, event_id, no_lookup)
        clock.advance(60)
    report = await deals.unknown_reps(runtime, WS, limit=2)
    assert report.total == 3
    assert [r.rep_user_id for r in report.recent] == ["U0NOBODY2", "U0NOBODY1"]
    assert (await deals.unknown_reps(runtime, "T0OTHER")).total == 0


async def test_a_failed_lookup_leaves_the_event_accepted_for_later(runtime: Runtime) -> None:
    [event_id] = await accept(runtime, update(rep_user_id=None, rep_email="ana@example.com"))
    with pytest.raises(ConnectionError):
        await deals.process_event(runtime, event_id, Directory({}, fail=True))
    [event] = await stored_events(runtime)
    assert event.status == deals.ACCEPTED
    outcome = await deals.process_pending(runtime, Directory({}, fail=True))
    assert outcome == {"failed": 1}
    outcome = await deals.process_pending(runtime, Directory({"ana@example.com": LONDON}))
    assert outcome == {deals.NUDGED: 1}


async def test_without_lookups_an_email_only_rep_waits_for_a_later_pass(runtime: Runtime) -> None:
    """``lookups=False`` (the webhook said no rep is given by e-mail alone) plans the events
    named by Slack ID and leaves an e-mail-only one accepted, without asking Slack."""
    ids = await accept(
        runtime,
        update("by-id"),
        update("by-email", rep_user_id=None, rep_email="ana@example.com", deal_id="D-2"),
        update("nobody", rep_user_id=None, rep_email=None, deal_id="D-3"),
    )
    directory = Directory({"ana@example.com": LONDON})
    done = await deals.process_events(runtime, ids, directory, lookups=False)
    assert [done.statuses[i] for i in ids] == [deals.NUDGED, deals.ACCEPTED, deals.UNKNOWN_REP]
    assert directory.calls == []
    assert await deals.process_pending(runtime, directory) == {deals.NUDGED: 1}
    assert directory.calls == ["ana@example.com"]


async def test_after_a_restart_pending_events_are_processed(
    database_url: str, clock: ManualClock
) -> None:
    first = Database(database_url)
    try:
        rt = await deals_runtime(first, clock)
        await accept(rt, update("a"), update("b", deal_id="D-2", rep_user_id=NEW_YORK))
    finally:
        await first.dispose()  # the process stops before the background step ran
    second = Database(database_url)
    try:
        rt = Runtime(settings=rt.settings, db=second, clock=clock)
        clock.advance(30)
        assert await deals.process_pending(rt, no_lookup, min_age=timedelta(minutes=1)) == {}
        outcome = await deals.process_pending(rt, no_lookup, min_age=timedelta(seconds=10))
        assert outcome == {deals.NUDGED: 1, deals.DEFERRED: 1}
        assert await deals.process_pending(rt, no_lookup) == {}
        assert len(await nudges(rt)) == 2
    finally:
        await second.dispose()


async def test_the_pipeline_processes_in_the_background(runtime: Runtime) -> None:
    pipeline = deals.Pipeline(runtime, no_lookup, workers=2)
    ids = await accept(runtime, *(update(f"p{n}", deal_id=f"D-{n}") for n in range(5)))
    for event_id in ids:
        pipeline.submit(event_id)
    await pipeline.drain()
    await pipeline.aclose()
    statuses = sorted(e.status for e in await stored_events(runtime))
    assert statuses == [deals.DEFERRED] * 2 + [deals.NUDGED] * 3  # 3 a day, the rest tomorrow


async def test_the_pipeline_gathers_a_burst_even_when_events_are_waiting(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load a worker wakes to a non-empty queue; it still lets the burst gather, so
    events arriving one by one are planned in one batch, not in one batch each."""
    batches: list[list[int]] = []

    async def record(rt: Runtime, ids: list[int], resolve: object, **_: object) -> deals.Processed:
        batches.append(list(ids))
        return deals.Processed({}, {})

    monkeypatch.setattr(deal_planning, "process_events", record)
    pipeline = deals.Pipeline(runtime, no_lookup, workers=1, linger=0.3)
    try:
        pipeline.submit(1)
        pipeline.submit(2)  # waiting when the worker takes the first
        for n in range(3, 8):
            await asyncio.sleep(0.02)
            pipeline.submit(n)
        await pipeline.drain()
    finally:
        await pipeline.aclose()
    assert batches == [[1, 2, 3, 4, 5, 6, 7]]


async def test_metadata_is_stored_once_and_processed(runtime: Runtime) -> None:
    metadata = {"event_type": "deal_updated", "event_payload": VALID}
    first = await deals.receive_metadata(runtime, WS, metadata, no_lookup)
    again = await deals.receive_metadata(runtime, WS, metadata, no_lookup)
    assert first is not None and first.created
    assert again is not None and not again.created and again.id == first.id
    [event] = await stored_events(runtime)
    assert (event.source, event.status) == (deals.SLACK, deals.NUDGED)
    bad = {"event_type": "deal_updated", "event_payload": {"event_id": "x"}}
    assert await deals.receive_metadata(runtime, WS, bad, no_lookup) is None
    assert len(await stored_events(runtime)) == 1


# --------------------------------------------------------------------------- workspace


async def test_single_workspace_uses_the_only_row(db: Database, clock: ManualClock) -> None:
    rt = Runtime(settings=load_settings(), db=db, clock=clock)
    resolve = deals.single_workspace(rt)
    assert await resolve() is None
    await ensure_workspace(db, "T1", clock)
    assert await resolve() == "T1"
    await ensure_workspace(db, "T2", clock)
    assert await resolve() == "T1"  # remembered
    assert await deals.single_workspace(rt)() is None  # two: a webhook cannot tell which


async def test_single_workspace_asks_auth_test_once(db: Database, clock: ManualClock) -> None:
    rt = Runtime(settings=load_settings(), db=db, clock=clock)
    calls = []

    async def auth_test() -> dict[str, Any]:
        calls.append(1)
        return {"ok": True, "team_id": "T0AUTH", "team": "Acme"}

    resolve = deals.single_workspace(rt, auth_test)
    assert await resolve() == "T0AUTH"
    assert await resolve() == "T0AUTH"
    assert calls == [1]
    async with db.session() as s:
        row = await s.get(Workspace, "T0AUTH")
    assert row is not None and row.name == "Acme"


async def test_single_workspace_falls_back_when_slack_is_down(
    db: Database, clock: ManualClock
) -> None:
    rt = Runtime(settings=load_settings(), db=db, clock=clock)

    async def auth_test() -> dict[str, Any]:
        raise ConnectionError("down")

    await ensure_workspace(db, "T1", clock)
    assert await deals.single_workspace(rt, auth_test)() == "T1"


async def test_two_processes_racing_plan_each_event_once(
    database_url: str, clock: ManualClock
) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        rt1 = await deals_runtime(first, clock)
        rt2 = Runtime(settings=rt1.settings, db=second, clock=clock)
        await accept(rt1, *(update(f"r{n}", deal_id=f"D-{n}") for n in range(5)))
        await asyncio.gather(
            deals.process_pending(rt1, no_lookup), deals.process_pending(rt2, no_lookup)
        )
        await deals.process_pending(rt1, no_lookup)  # whatever lost a race is done now
        planned = await nudges(rt1)
        assert sorted(d.deal_event_id or 0 for d in planned) == [
            e.id for e in await stored_events(rt1)
        ]
        per_day = Counter(d.next_attempt_at.date() for d in planned)
        assert sorted(per_day.values()) == [2, 3]  # the daily cap held
    finally:
        await first.dispose()
        await second.dispose()
