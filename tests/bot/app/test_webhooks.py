"""The deal webhooks over HTTP: every answer code, signatures, sizes, and crash safety."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select
from starlette.applications import Starlette

from bot.app.webhooks import MAX_BODY, DealWebhooks, hubspot_signature, hubspot_uri
from bot.core import deals
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import DealEvent
from slack_emulator.delivery import slack_signature  # an independent implementation
from tests.support.deals import (
    KEY,
    LONDON,
    SECRET,
    VALID,
    Directory,
    deal,
    deals_runtime,
    hubspot_event,
    no_lookup,
    nudges,
    planned_for,
    signed_headers,
    stored_events,
)

PUBLIC = "https://trustbot.example.com"
DEALS_URL = "/webhooks/deals"
HUBSPOT_URL = "/webhooks/hubspot"


def signed(
    clock: ManualClock, body: bytes, *, ts: int | str | None = None, secret: str = SECRET
) -> dict[str, str]:
    return signed_headers(body, secret, str(int(clock.time()) if ts is None else ts))


def hubspot_signed(
    clock: ManualClock,
    body: bytes,
    *,
    url: str = PUBLIC + HUBSPOT_URL,
    ms: int | None = None,
    secret: str = SECRET,
) -> dict[str, str]:
    timestamp = str(int(clock.time() * 1000) if ms is None else ms)
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": hubspot_signature(secret, "POST", url, body, timestamp),
        "X-HubSpot-Signature-Version": "v3",
    }


def encode(data: Any) -> bytes:
    return json.dumps(data).encode()


@pytest.fixture
async def runtime(db: Database, clock: ManualClock) -> Runtime:
    return await deals_runtime(db, clock)


@pytest.fixture
async def hooks(runtime: Runtime) -> AsyncIterator[DealWebhooks]:
    webhooks = DealWebhooks(
        runtime, workspace=deals.single_workspace(runtime), resolve_email=no_lookup
    )
    yield webhooks
    await webhooks.aclose()


def client_for(webhooks: DealWebhooks, base_url: str = PUBLIC) -> httpx.AsyncClient:
    app = Starlette(routes=webhooks.routes())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def client(hooks: DealWebhooks) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(hooks) as c:
        yield c


async def count(rt: Runtime) -> int:
    async with rt.db.session() as s:
        return int((await s.exec(select(func.count()).select_from(DealEvent))).one())


async def refused(reply: httpx.Response, runtime: Runtime, status: int) -> None:
    """Answered ``status`` with a JSON error, and nothing stored."""
    assert reply.status_code == status, reply.text
    assert isinstance(reply.json()["error"], str)
    assert await count(runtime) == 0


async def post(client: httpx.AsyncClient, clock: ManualClock, data: Any) -> httpx.Response:
    body = encode(data)
    return await client.post(DEALS_URL, content=body, headers=signed(clock, body))


# --------------------------------------------------------------------------- 202 / 200


async def test_accepted_202_is_in_the_database_when_answered(
    client: httpx.AsyncClient, hooks: DealWebhooks, runtime: Runtime, clock: ManualClock
) -> None:
    reply = await post(client, clock, VALID)
    assert reply.status_code == 202
    assert reply.json() == {"accepted": True, "id": reply.json()["id"]}
    [event] = await stored_events(runtime)
    assert (event.id, event.source, event.event_id) == (reply.json()["id"], "webhook", "crm-123")
    await hooks.drain()
    [event] = await stored_events(runtime)
    assert event.status == deals.NUDGED
    [nudge] = await nudges(runtime)
    assert (nudge.kind, nudge.deal_event_id, nudge.user_id) == ("nudge", event.id, LONDON)


async def test_a_repeat_is_200_duplicate_also_after_a_restart(
    client: httpx.AsyncClient, hooks: DealWebhooks, runtime: Runtime, clock: ManualClock
) -> None:
    first = await post(client, clock, VALID)
    again = await post(client, clock, deal(deal_name="changed"))  # same event_id
    assert again.status_code == 200
    assert again.json() == {"duplicate": True, "id": first.json()["id"]}
    second_db = Database(runtime.db.url)
    restarted = Runtime(settings=runtime.settings, db=second_db, clock=clock)
    webhooks = DealWebhooks(
        restarted, workspace=deals.single_workspace(restarted), resolve_email=no_lookup
    )
    try:
        async with client_for(webhooks) as other:
            late = await post(other, clock, VALID)
    finally:
        await webhooks.aclose()
        await second_db.dispose()
    assert late.status_code == 200 and late.json()["duplicate"] is True
    await hooks.drain()
    assert await count(runtime) == 1
    assert len(await nudges(runtime)) == 1


async def test_the_slack_lookup_happens_after_the_answer(
    runtime: Runtime, clock: ManualClock
) -> None:
    gate = asyncio.Event()
    directory = Directory({"ana@example.com": LONDON})

    async def slow_lookup(workspace_id: str, email: str) -> str | None:
        await gate.wait()  # Slack answers only once we have our 202
        return await directory(workspace_id, email)

    webhooks = DealWebhooks(
        runtime, workspace=deals.single_workspace(runtime), resolve_email=slow_lookup
    )
    try:
        async with client_for(webhooks) as client:
            body = deal(rep={"email": "ana@example.com"})
            reply = await asyncio.wait_for(post(client, clock, body), timeout=10)
            assert reply.status_code == 202
            [event] = await stored_events(runtime)
            assert event.status == deals.ACCEPTED and directory.calls == []
            gate.set()
            await webhooks.drain()
    finally:
        await webhooks.aclose()
    await planned_for(runtime, LONDON)
    assert directory.calls == ["ana@example.com"]


async def test_an_event_accepted_before_a_crash_is_processed_after_restart(
    database_url: str, clock: ManualClock
) -> None:
    first = Database(database_url)
    rt = await deals_runtime(first, clock)
    crashed = DealWebhooks(
        rt, workspace=deals.single_workspace(rt), resolve_email=no_lookup, background=False
    )
    try:
        async with client_for(crashed) as client:
            reply = await post(client, clock, VALID)
        assert reply.status_code == 202
        [event] = await stored_events(rt)
        assert event.status == deals.ACCEPTED  # answered, not yet processed
    finally:
        await first.dispose()  # the process dies here
    second = Database(database_url)
    try:
        restarted = Runtime(settings=rt.settings, db=second, clock=clock)
        assert await deals.process_pending(restarted, no_lookup) == {deals.NUDGED: 1}
        [event] = await stored_events(restarted)
        assert event.id == reply.json()["id"] and event.status == deals.NUDGED
        assert len(await nudges(restarted)) == 1
    finally:
        await second.dispose()


# --------------------------------------------------------------------------- 400


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event_id": ...}, "event_id"),
        ({"deal_id": 42}, "deal_id"),
        ({"deal_name": ""}, "deal_name"),
        ({"rep": {"phone": "+1"}}, "rep"),
        ({"rep": {"email": "ana"}}, "rep.email"),
        ({"change": "moved"}, "change"),
        ({"from": {"a": 1}}, "from"),
        ({"occurred_at": "2026-11-22T10:00:00"}, "occurred_at"),
    ],
)
async def test_a_bad_field_is_400_naming_it_and_nothing_is_stored(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: ManualClock,
    changes: dict[str, Any],
    field: str,
) -> None:
    reply = await post(client, clock, deal(**changes))
    assert reply.status_code == 400
    assert reply.json()["field"] == field
    assert field in reply.json()["error"]
    assert await count(runtime) == 0


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b'"deal"'])
async def test_a_body_that_is_no_object_is_400(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock, body: bytes
) -> None:
    reply = await client.post(DEALS_URL, content=body, headers=signed(clock, body))
    assert reply.status_code == 400
    assert reply.json()["field"] == "body"
    assert await count(runtime) == 0


# --------------------------------------------------------------------------- 401


def _drop(name: str) -> Any:
    def change(headers: dict[str, str], body: bytes, clock: ManualClock) -> bytes:
        del headers[name]
        return body

    return change


def _set(name: str, value: str) -> Any:
    def change(headers: dict[str, Any], body: bytes, clock: ManualClock) -> bytes:
        headers[name] = value.encode("latin-1")  # HTTP header bytes, as a client may send
        return body

    return change


def _stale(seconds: int) -> Any:
    def change(headers: dict[str, str], body: bytes, clock: ManualClock) -> bytes:
        headers.update(signed(clock, body, ts=int(clock.time()) + seconds))
        return body

    return change


def _tamper(headers: dict[str, str], body: bytes, clock: ManualClock) -> bytes:
    return body.replace(b"Acme", b"Acne")


def _other_secret(headers: dict[str, str], body: bytes, clock: ManualClock) -> bytes:
    headers.update(signed(clock, body, secret="not-the-secret"))
    return body


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_drop("X-Trustbot-Signature"), id="missing-signature"),
        pytest.param(_drop("X-Trustbot-Request-Timestamp"), id="missing-timestamp"),
        pytest.param(_set("X-Trustbot-Signature", "v0=" + "0" * 64), id="forged"),
        pytest.param(_set("X-Trustbot-Signature", "v1=abc"), id="malformed-signature"),
        pytest.param(_set("X-Trustbot-Signature", "v0=" + "é" * 64), id="non-ascii-signature"),
        pytest.param(_set("X-Trustbot-Request-Timestamp", "yesterday"), id="malformed-ts"),
        pytest.param(_set("X-Trustbot-Request-Timestamp", "-5"), id="negative-ts"),
        pytest.param(_set("X-Trustbot-Request-Timestamp", "9" * 40), id="huge-ts"),
        pytest.param(_stale(-301), id="stale"),
        pytest.param(_stale(301), id="future"),
        pytest.param(_tamper, id="tampered-body"),
        pytest.param(_other_secret, id="other-secret"),
    ],
)
async def test_bad_stale_or_missing_signatures_are_401(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock, change: Any
) -> None:
    body = encode(VALID)
    headers = signed(clock, body)
    body = change(headers, body, clock)
    reply = await client.post(DEALS_URL, content=body, headers=headers)
    await refused(reply, runtime, 401)


async def test_the_window_is_five_minutes_on_our_clock(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = encode(VALID)
    headers = signed(clock, body)
    clock.advance(300)
    assert (await client.post(DEALS_URL, content=body, headers=headers)).status_code == 202
    body = encode(deal(event_id="crm-124"))
    headers = signed(clock, body)
    clock.advance(301)
    assert (await client.post(DEALS_URL, content=body, headers=headers)).status_code == 401
    assert await count(runtime) == 1


async def test_a_body_that_is_not_utf8_cannot_be_verified(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = b'{"event_id": "\xff"}'
    ts = str(int(clock.time()))
    headers = {
        "X-Trustbot-Request-Timestamp": ts,
        "X-Trustbot-Signature": slack_signature(SECRET, ts, body.decode("latin-1")),
    }
    reply = await client.post(DEALS_URL, content=body, headers=headers)
    await refused(reply, runtime, 401)


# --------------------------------------------------------------------------- 413 / 503 / 405


async def test_a_declared_body_over_1mb_is_413_unread(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = encode(deal(deal_name="x" * MAX_BODY))
    reply = await client.post(DEALS_URL, content=body, headers=signed(clock, body))
    await refused(reply, runtime, 413)


async def test_a_streamed_body_over_1mb_is_413(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = encode(deal(deal_name="x" * MAX_BODY))

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    reply = await client.post(DEALS_URL, content=chunks(), headers=signed(clock, body))
    await refused(reply, runtime, 413)


async def test_a_body_of_exactly_1mb_is_read(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    base = encode(deal(unused=""))
    body = encode(deal(unused="x" * (MAX_BODY - len(base))))
    assert len(body) == MAX_BODY
    reply = await client.post(DEALS_URL, content=body, headers=signed(clock, body))
    assert reply.status_code == 202


async def test_no_workspace_yet_is_503_and_nothing_is_stored(
    db: Database, clock: ManualClock
) -> None:
    settings = load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY, TRUSTBOT_WEBHOOK_SECRET=SECRET)
    rt = Runtime(settings=settings, db=db, clock=clock)
    webhooks = DealWebhooks(rt, workspace=deals.single_workspace(rt), resolve_email=no_lookup)
    async with client_for(webhooks) as client:
        reply = await post(client, clock, VALID)
    assert reply.status_code == 503
    assert "workspace" in reply.json()["error"]
    assert await count(rt) == 0


async def test_without_a_secret_nothing_is_accepted(runtime: Runtime, clock: ManualClock) -> None:
    rt = Runtime(settings=load_settings(), db=runtime.db, clock=clock)
    webhooks = DealWebhooks(rt, workspace=deals.single_workspace(rt), resolve_email=no_lookup)
    async with client_for(webhooks) as client:
        reply = await post(client, clock, VALID)
        body = encode([hubspot_event()])
        hub = await client.post(HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body))
    assert reply.status_code == hub.status_code == 503
    assert "TRUSTBOT_WEBHOOK_SECRET" in reply.json()["error"]
    assert await count(rt) == 0


async def test_only_post(client: httpx.AsyncClient) -> None:
    assert (await client.get(DEALS_URL)).status_code == 405
    assert (await client.get(HUBSPOT_URL)).status_code == 405


# --------------------------------------------------------------------------- hypothesis

HEADER_NAMES = st.sampled_from(
    ["X-Trustbot-Request-Timestamp", "X-Trustbot-Signature", "Content-Type", "X-Other"]
)
HEADER_VALUES = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=80,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=st.binary(max_size=512), headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES))
async def test_arbitrary_requests_get_a_json_4xx_and_store_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    body: bytes,
    headers: dict[str, str],
) -> None:
    for url in (DEALS_URL, HUBSPOT_URL):
        raw = {name: value.encode("latin-1") for name, value in headers.items()}
        reply = await client.post(url, content=body, headers=raw)
        assert 400 <= reply.status_code < 500, reply.text
        assert isinstance(reply.json()["error"], str)
    assert await count(runtime) == 0


@FUZZ
@given(body=st.binary(max_size=512) | JSON.map(encode))
async def test_signed_garbage_is_400_json_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock, body: bytes
) -> None:
    reply = await client.post(DEALS_URL, content=body, headers=signed(clock, body))
    assert reply.status_code in (400, 401), reply.text  # 401: bytes that are not UTF-8
    assert isinstance(reply.json()["error"], str)
    hub = await client.post(HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body))
    assert hub.status_code in (200, 400), hub.text  # 200: an empty array of events
    assert await count(runtime) == 0


@FUZZ
@given(field=st.sampled_from([*VALID, "rep.email", "rep.slack_user_id"]), value=JSON)
async def test_one_field_replaced_by_anything_never_fails_the_server(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock, field: str, value: Any
) -> None:
    before = await count(runtime)
    data = json.loads(json.dumps(VALID))
    data["event_id"] = f"fuzz-{before}"
    if field.startswith("rep."):
        data["rep"] = {field.removeprefix("rep."): value}
    else:
        data[field] = value
    reply = await post(client, clock, data)
    assert reply.status_code in (200, 202, 400), reply.text
    if reply.status_code == 400:
        assert reply.json()["field"].split(".")[0] in (field.split(".")[0], "body")
    if reply.status_code == 202:
        assert await count(runtime) == before + 1
    else:  # refused, or an event_id seen in an earlier example
        assert await count(runtime) == before


# --------------------------------------------------------------------------- HubSpot


def test_hubspot_v3_signature_matches_hubspots_own_example() -> None:
    # the example of HubSpot's client library (hubspot-api-python, tests/spec/utils)
    got = hubspot_signature(
        "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
        "POST",
        "https://www.example.com/webhook_uri",
        b"{'example_field':'example_value'}",
        "15000000",
    )
    assert got == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="


def test_hubspot_uri_decodes_the_listed_escapes_only() -> None:
    uri = "https://h.example.com/hook?a=%3a%2F%3F%40%21%24%27%28%29%2A%2C%3B&b=%20%2B"
    assert hubspot_uri(uri) == "https://h.example.com/hook?a=:/?@!$'()*,;&b=%20%2B"


async def test_hubspot_batch_is_202_then_duplicate(
    client: httpx.AsyncClient, hooks: DealWebhooks, runtime: Runtime, clock: ManualClock
) -> None:
    events = [
        hubspot_event(eventId=1),
        hubspot_event(eventId=2, propertyName="amount", propertyValue="5000"),
        hubspot_event(eventId=3, subscriptionType="contact.creation"),
    ]
    body = encode(events)
    reply = await client.post(HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body))
    assert reply.status_code == 202
    assert reply.json()["accepted"] is True
    assert (reply.json()["duplicates"], reply.json()["ignored"]) == (0, 1)
    assert len(reply.json()["ids"]) == 2
    again = await client.post(HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body))
    assert again.status_code == 200 and again.json() == {"duplicate": True}
    mixed = encode([*events, hubspot_event(eventId=4, propertyValue="closedlost")])
    third = await client.post(HUBSPOT_URL, content=mixed, headers=hubspot_signed(clock, mixed))
    assert third.status_code == 202
    assert (len(third.json()["ids"]), third.json()["duplicates"]) == (1, 2)
    await hooks.drain()
    stored = {e.event_id: e for e in await stored_events(runtime)}
    assert {e.change for e in stored.values()} == {"stage_changed", "amount_changed", "lost"}
    assert {e.source for e in stored.values()} == {"hubspot"}
    # HubSpot names no owner: kept as unknown_rep, reported in /trust status
    assert {e.status for e in stored.values()} == {deals.UNKNOWN_REP}
    assert (await deals.unknown_reps(runtime, "T1")).total == 3


async def test_hubspot_events_we_do_not_map_are_200(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = encode([hubspot_event(subscriptionType="contact.propertyChange")])
    reply = await client.post(HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body))
    assert reply.status_code == 200
    assert reply.json() == {"accepted": False, "ignored": 1}
    assert await count(runtime) == 0


async def test_hubspot_owner_email_is_resolved_after_the_answer(
    runtime: Runtime, clock: ManualClock
) -> None:
    directory = Directory({"ana@example.com": LONDON})
    webhooks = DealWebhooks(
        runtime, workspace=deals.single_workspace(runtime), resolve_email=directory
    )
    try:
        async with client_for(webhooks) as client:
            body = encode([hubspot_event(hubspot_owner_email="ana@example.com")])
            reply = await client.post(
                HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body)
            )
            assert reply.status_code == 202
            await webhooks.drain()
    finally:
        await webhooks.aclose()
    await planned_for(runtime, LONDON)


@pytest.mark.parametrize(
    "how", ["forged", "stale", "future", "seconds-not-ms", "missing", "other-url"]
)
async def test_hubspot_bad_signatures_are_401(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock, how: str
) -> None:
    body = encode([hubspot_event()])
    now_ms = int(clock.time() * 1000)
    headers = {
        "forged": lambda: {**hubspot_signed(clock, body), "X-HubSpot-Signature-v3": "AAAA"},
        "stale": lambda: hubspot_signed(clock, body, ms=now_ms - 301_000),
        "future": lambda: hubspot_signed(clock, body, ms=now_ms + 301_000),
        "seconds-not-ms": lambda: hubspot_signed(clock, body, ms=now_ms // 1000),
        "missing": lambda: {"Content-Type": "application/json"},
        "other-url": lambda: hubspot_signed(clock, body, url="https://evil.example/hook"),
    }[how]()
    reply = await client.post(HUBSPOT_URL, content=body, headers=headers)
    await refused(reply, runtime, 401)


async def test_hubspot_signature_covers_the_query_string(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = encode([hubspot_event()])
    url = PUBLIC + HUBSPOT_URL + "?portal=62515&tag=a%3Ab"
    reply = await client.post(
        HUBSPOT_URL + "?portal=62515&tag=a%3Ab",
        content=body,
        headers=hubspot_signed(clock, body, url=url),
    )
    assert reply.status_code == 202


async def test_hubspot_behind_a_proxy_uses_the_public_url(
    runtime: Runtime, clock: ManualClock
) -> None:
    public = "https://crm-hooks.example.com/webhooks/hubspot"
    webhooks = DealWebhooks(
        runtime,
        workspace=deals.single_workspace(runtime),
        resolve_email=no_lookup,
        hubspot_url=public,
    )
    try:
        async with client_for(webhooks, base_url="http://10.0.0.5:3000") as client:
            body = encode([hubspot_event()])
            reply = await client.post(
                HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body, url=public)
            )
    finally:
        await webhooks.aclose()
    assert reply.status_code == 202


async def test_hubspot_bad_body_is_400_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = encode([hubspot_event(), hubspot_event(eventId="two")])
    reply = await client.post(HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body))
    assert reply.status_code == 400
    assert reply.json()["field"] == "[1].eventId"
    assert await count(runtime) == 0  # the good first event is not stored either


async def test_hubspot_body_over_1mb_is_413(
    client: httpx.AsyncClient, runtime: Runtime, clock: ManualClock
) -> None:
    body = encode([hubspot_event(propertyValue="x" * MAX_BODY)])
    reply = await client.post(HUBSPOT_URL, content=body, headers=hubspot_signed(clock, body))
    await refused(reply, runtime, 413)


def test_our_sign_matches_slacks_scheme() -> None:
    from bot.app.webhooks import sign as our_sign

    body = b'{"a": 1}'
    assert our_sign(SECRET, "1700000000", body) == slack_signature(SECRET, "1700000000", body)
