"""The deal webhooks through the running app: random JSON, bodies that are not JSON, wrong
headers, signatures and timestamps. Only 202, 200, 400, 401 or 413, always with a JSON body
(a 400 naming the field); never a 500; nothing stored from a refused request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from bot.app.webhooks import MAX_BODY, hubspot_signature
from slack_emulator.delivery import slack_signature  # an independent implementation of the scheme
from tests.fuzz.conftest import REP, FuzzApp
from tests.support.deals import deal, signed_headers
from tests.support.stack import WEBHOOK_SECRET
from tests.support.strategies import any_text, fuzz, huge_text, json_values, tricky_text

DEAL = deal("crm-1", {"slack_user_id": REP})
HUBSPOT_EVENT: dict[str, Any] = {
    "eventId": 100,
    "subscriptionId": 7,
    "portalId": 62515,
    "occurredAt": 1764064800000,
    "subscriptionType": "deal.propertyChange",
    "objectId": 987,
    "propertyName": "dealstage",
    "propertyValue": "contractsent",
}
ANSWERS = {200, 202, 400, 401, 413}


@pytest.fixture
def app(fuzz_app: FuzzApp) -> Iterator[FuzzApp]:
    """The app, quiet; after the test, no logged problem."""
    fuzz_app.settle()
    yield fuzz_app
    fuzz_app.settle()
    fuzz_app.assert_no_problems()


@pytest.fixture
def http(fuzz_app: FuzzApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_app.url, timeout=10) as client:
        yield client


_serial = iter(range(10**9))


def fresh_id() -> str:
    return f"fuzz-{next(_serial)}"


def deal_events(app: FuzzApp) -> int:
    return app.counts()["dealevent"]


def signed(app: FuzzApp, body: bytes, ts: str | None = None) -> dict[str, str]:
    timestamp = ts or str(int(app.clock.time()))
    return {**signed_headers(body, timestamp=timestamp), "X-Request-Id": fresh_id()}


def header(value: str) -> bytes:
    """``value`` as the bytes of a header HTTP can carry (UTF-8, no control characters)."""
    raw = value.encode("utf-8", "replace")
    return bytes(b for b in raw if b >= 0x20 and b != 0x7F).strip()


def hubspot_signed(app: FuzzApp, body: bytes, ms: str | None = None) -> dict[str, str]:
    timestamp = ms or str(int(app.clock.time() * 1000))
    url = f"{app.url}/webhooks/hubspot"
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": hubspot_signature(WEBHOOK_SECRET, "POST", url, body, timestamp),
        "X-Request-Id": fresh_id(),
    }


def answer(reply: httpx.Response) -> dict[str, Any]:
    """The JSON answer, checked against the contract."""
    if currently_in_test_context():
        event(f"answer {reply.status_code}")
    assert reply.status_code in ANSWERS, (reply.status_code, reply.text)
    assert reply.headers["content-type"].startswith("application/json")
    data = reply.json()
    assert isinstance(data, dict)
    if reply.status_code >= 400:
        assert isinstance(data["error"], str) and data["error"].strip()
    if reply.status_code == 400:
        field = data["field"]
        assert isinstance(field, str) and field
        assert field in data["error"] or field == "body", data
    return data


# --------------------------------------------------------------------- signed bodies

values = json_values | huge_text | tricky_text | st.sampled_from(["", " ", "\x00", "²"])


@st.composite
def deal_bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """(a body, the top-level field made wrong in it, if one was)."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=300)), None
    if kind == 1:
        return json.dumps(draw(json_values)).encode(), None
    deal = {**DEAL, "event_id": fresh_id()}
    field = draw(st.sampled_from([*DEAL, "rep.slack_user_id", "rep.email"]))
    if field.startswith("rep."):
        deal["rep"] = {field.removeprefix("rep."): draw(values)}
    elif kind == 2:
        del deal[field]
    else:
        deal[field] = draw(values)
    return json.dumps(deal).encode(), field.split(".")[0]


def test_any_signed_body_is_accepted_once_or_names_the_field(
    app: FuzzApp, http: httpx.Client
) -> None:
    @fuzz(60)
    @given(case=deal_bodies())
    @example(case=(b'{"event_id": ', None))
    @example(
        case=(
            json.dumps({**DEAL, "occurred_at": "9999-12-31T23:59:59-23:59"}).encode(),
            "occurred_at",
        )
    )
    def one(case: tuple[bytes, str | None]) -> None:
        body, field = case
        before = deal_events(app)
        reply = http.post("/webhooks/deals", content=body, headers=signed(app, body))
        data = answer(reply)
        if reply.status_code == 202:
            assert data["accepted"] is True and deal_events(app) == before + 1
            again = http.post("/webhooks/deals", content=body, headers=signed(app, body))
            assert again.status_code == 200 and answer(again) == {
                "duplicate": True,
                "id": data["id"],
            }
        else:
            assert reply.status_code in (400, 401), reply.text  # 401: not UTF-8, cannot match
            assert deal_events(app) == before, "a refused request was stored"
            if reply.status_code == 400 and field is not None and data["field"] != "body":
                assert data["field"].split(".")[0].split("[")[0] == field, (data, field)
        assert deal_events(app) == before + (reply.status_code == 202)

    one()


# --------------------------------------------------------------------- headers


@st.composite
def bad_headers(draw: st.DrawFn, app: FuzzApp, body: bytes) -> dict[bytes, bytes]:
    """Headers of ``body`` with the timestamp, the signature or both wrong or missing."""
    now = int(app.clock.time())
    ts = draw(
        st.sampled_from(
            [str(now), str(now - 301), str(now + 301), "", " ", "²", "1e9", str(now) + ".5"]
        )
        | st.integers(-(10**18), 10**18).filter(lambda t: abs(t - now) > 300).map(str)
        | any_text
    )
    good = slack_signature(WEBHOOK_SECRET, ts, body) if ts.strip() else "v0=" + "0" * 64
    sig = draw(
        st.sampled_from(
            [
                good,
                good.upper(),
                good[:-1],
                "v1=" + good[3:],
                slack_signature("wrong-secret", ts, body),
                slack_signature(WEBHOOK_SECRET, ts, body + b" "),
                "",
            ]
        )
        | any_text
    )
    headers = {
        "X-Trustbot-Request-Timestamp": ts,
        "X-Trustbot-Signature": sig,
        "X-Request-Id": fresh_id(),
    }
    for name in ("X-Trustbot-Request-Timestamp", "X-Trustbot-Signature"):
        if draw(st.integers(0, 4)) == 0:
            del headers[name]
    if ts == str(now) and sig == good and len(headers) == 3:  # made right by chance
        headers["X-Trustbot-Signature"] = slack_signature("wrong-secret", ts, body)
    return {k.encode(): header(v) for k, v in headers.items()}


def test_a_wrong_or_missing_signature_or_timestamp_is_401(app: FuzzApp, http: httpx.Client) -> None:
    before = app.counts()
    body = json.dumps({**DEAL, "event_id": "never-stored"}).encode()

    @fuzz(60)
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        headers = data.draw(bad_headers(app, body))
        reply = http.post("/webhooks/deals", content=body, headers=headers)
        assert reply.status_code == 401, (reply.status_code, reply.text, headers)
        error = answer(reply)["error"]
        assert any(word in error for word in ("signature", "timestamp", "Signature", "Timestamp"))

    one()
    assert app.counts() == before


@pytest.mark.parametrize("extra", [-1, 0, 1, 4096])
def test_a_body_over_1_mib_is_413_and_at_the_limit_is_read(
    app: FuzzApp, http: httpx.Client, extra: int
) -> None:
    before = deal_events(app)
    body = json.dumps({**DEAL, "event_id": fresh_id(), "note": ""}).encode()
    body = body[:-2] + b"x" * (MAX_BODY + extra - len(body)) + b'"}'
    reply = http.post("/webhooks/deals", content=body, headers=signed(app, body))
    if extra > 0:
        assert reply.status_code == 413 and reply.text == "Content Too Large"  # Starlette's
    else:
        assert reply.status_code == 202, reply.text  # unknown fields are ignored
    assert deal_events(app) == before + (extra <= 0)


# --------------------------------------------------------------------- HubSpot


@st.composite
def hubspot_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return json.dumps(draw(json_values)).encode()
    events = []
    for _ in range(draw(st.integers(1, 3))):
        event = {**HUBSPOT_EVENT, "eventId": int(fresh_id().split("-")[1])}
        event["propertyName"] = draw(st.sampled_from(["dealstage", "closedate", "amount", "x"]))
        event["propertyValue"] = draw(
            st.sampled_from(["closedwon", "closedlost", "1764064800000", "²", "٣", "9" * 300, ""])
            | any_text
        )
        if kind >= 3:
            field = draw(st.sampled_from(list(HUBSPOT_EVENT)))
            if draw(st.booleans()):
                del event[field]
            else:
                event[field] = draw(values)
        events.append(event)
    return json.dumps(events).encode()


def test_any_signed_hubspot_batch_is_accepted_or_names_the_field(
    app: FuzzApp, http: httpx.Client
) -> None:
    @fuzz(50)
    @given(body=hubspot_bodies())
    @example(
        body=json.dumps(
            [{**HUBSPOT_EVENT, "propertyName": "closedate", "propertyValue": "²"}]
        ).encode()
    )
    def one(body: bytes) -> None:
        before = deal_events(app)
        reply = http.post("/webhooks/hubspot", content=body, headers=hubspot_signed(app, body))
        data = answer(reply)
        if reply.status_code == 202:
            assert deal_events(app) == before + len(data["ids"])
        else:
            assert deal_events(app) == before

    one()


def test_hubspot_with_wrong_headers_is_401(app: FuzzApp, http: httpx.Client) -> None:
    before = app.counts()
    body = json.dumps([HUBSPOT_EVENT]).encode()
    now_ms = int(app.clock.time() * 1000)

    @fuzz(40)
    @given(
        ms=st.sampled_from([str(now_ms - 300_001), str(now_ms + 300_001), "", "²", "x"]) | any_text,
        sig=st.sampled_from(["", "AAAA", "v0=" + "0" * 64, "other-url"]) | any_text,
    )
    def one(ms: str, sig: str) -> None:
        if sig == "other-url":  # right secret and time, signed for another URL
            ms = str(now_ms)
            sig = hubspot_signature(WEBHOOK_SECRET, "POST", f"{app.url}/webhooks/deals", body, ms)
        headers = {
            b"X-HubSpot-Request-Timestamp": header(ms),
            b"X-HubSpot-Signature-v3": header(sig),
        }
        reply = http.post("/webhooks/hubspot", content=body, headers=headers)
        assert reply.status_code == 401, (reply.status_code, reply.text)
        answer(reply)

    one()
    assert app.counts() == before
