"""The outbox's storage side (on SQLite and the real PostgreSQL) and the sender's pure parts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import outbox
from bot.core.outbox import RetryPolicy
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.slack.client import make_client
from bot.slack.failures import classify, retry_after
from bot.slack.sender import OutboxWorker, make_outbox_client
from bot.slack.throttle import Throttle
from bot.storage import Database
from bot.storage.models import Delivery
from tests.support.outbox import WS, all_rows, seed


async def one(db: Database, delivery_id: int) -> Delivery:
    async with db.session() as s:
        row = await s.get(Delivery, delivery_id)
    assert row is not None
    return row


# -- claiming -----------------------------------------------------------------


async def test_claim_takes_due_rows_oldest_first(db: Database, clock: ManualClock) -> None:
    late = await seed(db, clock, ["U2"], due=clock.now() + timedelta(seconds=1))
    early = await seed(db, clock, ["U1"], due=clock.now() - timedelta(minutes=5))
    later = await seed(db, clock, ["U3"], due=clock.now() + timedelta(hours=1))
    clock.advance(1)
    claimed = await outbox.claim_due(db, clock, "w1", 10)
    assert [r.id for r in claimed] == early + late
    assert {r.status for r in claimed} == {"sending"}
    assert {r.claimed_by for r in claimed} == {"w1"}
    assert {r.claimed_at for r in claimed} == {clock.now()}
    assert await outbox.claim_due(db, clock, "w2", 10) == []
    assert (await one(db, later[0])).status == "pending"


async def test_claim_respects_the_limit(db: Database, clock: ManualClock) -> None:
    ids = await seed(db, clock, [f"U{i}" for i in range(5)])
    first = await outbox.claim_due(db, clock, "w1", 2)
    second = await outbox.claim_due(db, clock, "w1", 2)
    third = await outbox.claim_due(db, clock, "w1", 2)
    assert [r.id for r in first + second + third] == ids
    assert [len(batch) for batch in (first, second, third)] == [2, 2, 1]
    assert await outbox.claim_due(db, clock, "w1", 0) == []


async def test_concurrent_claimers_never_share_a_row(database_url: str, clock: ManualClock) -> None:
    """Four claimers, each with its own engine (connections), race for 600 rows."""
    setup = Database(database_url)
    ids = await seed(setup, clock, [f"U{i:04d}" for i in range(600)])
    claimers = [Database(database_url) for _ in range(4)]

    async def drain(db: Database, name: str) -> list[int]:
        taken: list[int] = []
        while batch := await outbox.claim_due(db, clock, name, 7):
            assert len(batch) <= 7
            taken.extend(r.id for r in batch if r.id is not None)
            await asyncio.sleep(0)
        return taken

    try:
        results = await asyncio.gather(*(drain(db, f"w{i}") for i, db in enumerate(claimers)))
    finally:
        for db in claimers:
            await db.dispose()
    taken = [i for result in results for i in result]
    assert len(taken) == len(set(taken)) == 600
    assert sorted(taken) == sorted(ids)
    assert sum(1 for result in results if result) >= 2  # they really raced
    rows = await all_rows(setup)
    by_worker = {f"w{i}": set(result) for i, result in enumerate(results)}
    assert all(r.id in by_worker[r.claimed_by or ""] for r in rows)
    await setup.dispose()


# -- outcomes -------------------------------------------------------------------


async def test_outcomes(db: Database, clock: ManualClock) -> None:
    sent, retried, deferred, failed, skipped = await seed(db, clock, ["U1", "U2", "U3", "U4", "U5"])
    await outbox.claim_due(db, clock, "w1", 10)
    assert await outbox.mark_sent(db, sent, "D1", "1.000100", clock)
    assert await outbox.mark_retry(db, retried, clock, 8, "service_unavailable", worker_id="w1")
    assert await outbox.mark_deferred(db, deferred, clock, 3, "ratelimited", worker_id="w1")
    assert await outbox.mark_failed(db, failed, "user_disabled", worker_id="w1")
    assert await outbox.mark_skipped(db, skipped, "snoozed", worker_id="w1")

    row = await one(db, sent)
    assert (row.status, row.channel_id, row.message_ts, row.sent_at) == (
        "sent",
        "D1",
        "1.000100",
        clock.now(),
    )
    row = await one(db, retried)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "service_unavailable")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=8)
    row = await one(db, deferred)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "ratelimited")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=3)
    row = await one(db, failed)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "user_disabled")
    row = await one(db, skipped)
    assert (row.status, row.last_error) == ("skipped", "snoozed")

    # a second outcome for a finished row changes nothing
    assert not await outbox.mark_sent(db, sent, "D2", "2.0", clock)
    assert not await outbox.mark_retry(db, failed, clock, 1, "again", worker_id="w1")
    assert not await outbox.mark_failed(db, sent, "late")
    assert (await one(db, sent)).message_ts == "1.000100"


async def test_a_worker_only_settles_rows_it_holds(db: Database, clock: ManualClock) -> None:
    [row_id] = await seed(db, clock, ["U1"])
    await outbox.claim_due(db, clock, "w1", 1)
    assert not await outbox.mark_retry(db, row_id, clock, 1, "x", worker_id="w2")
    assert not await outbox.mark_failed(db, row_id, "x", worker_id="w2")
    assert not await outbox.mark_skipped(db, row_id, "x", worker_id="w2")
    assert not await outbox.mark_deferred(db, row_id, clock, 1, None, worker_id="w2")
    assert (await one(db, row_id)).status == "sending"
    # a message found in Slack is recorded whoever holds the row, even back in pending
    assert await outbox.mark_deferred(db, row_id, clock, 0, None, worker_id="w1")
    assert await outbox.mark_sent(db, row_id, "D1", "1.5", clock)


async def test_long_errors_are_clipped(db: Database, clock: ManualClock) -> None:
    [row_id] = await seed(db, clock, ["U1"])
    await outbox.claim_due(db, clock, "w1", 1)
    await outbox.mark_failed(db, row_id, "x" * 500)
    assert (await one(db, row_id)).last_error == "x" * 200


# -- leases -------------------------------------------------------------------------


async def test_stale_rows_go_to_exactly_one_new_owner(db: Database, clock: ManualClock) -> None:
    [old, fresh] = await seed(db, clock, ["U1", "U2"])
    await outbox.claim_due(db, clock, "dead", 1)
    clock.advance(50)
    await outbox.claim_due(db, clock, "alive", 1)
    clock.advance(20)
    stale = await outbox.stale_sending(db, clock, lease_seconds=60)
    assert [r.id for r in stale] == [old]
    winners = await asyncio.gather(*(outbox.take_over(db, stale[0], w, clock) for w in "abc"))
    mine = [w for w in winners if w is not None]
    assert len(mine) == 1
    assert mine[0].claimed_at == clock.now()
    assert mine[0].claimed_by in {"a", "b", "c"}
    # the dead worker's claim is gone: it can neither renew nor settle the row
    assert await outbox.renew(db, old, "dead", stale[0].claimed_at, clock) is None  # type: ignore[arg-type]
    assert not await outbox.mark_retry(db, old, clock, 1, "late", worker_id="dead")
    assert await outbox.stale_sending(db, clock, lease_seconds=60) == []
    assert fresh not in [r.id for r in stale]


async def test_renew_extends_a_claim(db: Database, clock: ManualClock) -> None:
    [row_id] = await seed(db, clock, ["U1"])
    [row] = await outbox.claim_due(db, clock, "w1", 1)
    clock.advance(45)
    renewed = await outbox.renew(db, row_id, "w1", row.claimed_at, clock)  # type: ignore[arg-type]
    assert renewed == clock.now()
    clock.advance(45)
    assert await outbox.stale_sending(db, clock, lease_seconds=60) == []


# -- reading -----------------------------------------------------------------------


async def test_counts_and_recent_failures(db: Database, clock: ManualClock) -> None:
    ids = await seed(db, clock, ["U1", "U2", "U3", "U4"])
    await seed(db, clock, ["U9"], workspace="T0OTHER")
    await outbox.claim_due(db, clock, "w1", 10)
    await outbox.mark_failed(db, ids[0], "user_disabled")
    clock.advance(5)
    await outbox.mark_deferred(db, ids[1], clock, 0, None)
    [again] = await outbox.claim_due(db, clock, "w1", 10)
    await outbox.mark_failed(db, again.id, "channel_not_found")  # type: ignore[arg-type]
    await outbox.mark_sent(db, ids[2], "D3", "3.0", clock)
    counts = await outbox.counts(db, WS)
    assert counts == {
        "pending": 0,
        "sending": 1,
        "sent": 1,
        "failed": 2,
        "expired": 0,
        "skipped": 0,
        "superseded": 0,
    }
    failures = await outbox.recent_failures(db, WS, limit=5)
    assert [(f.user_id, f.last_error) for f in failures] == [
        ("U2", "channel_not_found"),
        ("U1", "user_disabled"),
    ]
    assert (await outbox.counts(db, "T0NONE"))["pending"] == 0


async def test_known_dm_channel(db: Database, clock: ManualClock) -> None:
    [a, _b] = await seed(db, clock, ["U1", "U2"])
    assert await outbox.known_dm_channel(db, WS, "U1") is None
    await outbox.mark_sent(db, a, "D0U1", "1.0", clock)
    assert await outbox.known_dm_channel(db, WS, "U1") == "D0U1"
    assert await outbox.known_dm_channel(db, WS, "U2") is None


# -- policy -------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_a_cap() -> None:
    policy = RetryPolicy(base=2, cap=300, max_attempts=8, jitter=0.2)
    assert [policy.delay(n, rand=lambda: 0.5) for n in range(1, 10)] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
    ]
    assert policy.delay(3, rand=lambda: 0.0) == pytest.approx(6.4)
    assert policy.delay(3, rand=lambda: 1.0) == pytest.approx(9.6)
    assert policy.delay(20, rand=lambda: 1.0) == 300
    assert not policy.exhausted(7)
    assert policy.exhausted(8)


def test_where_to_look_for_a_lost_message(clock: ManualClock) -> None:
    row = Delivery(
        workspace_id=WS,
        kind="checkin",
        user_id="U1",
        next_attempt_at=clock.now(),
        created_at=clock.now() - timedelta(hours=1),
    )
    lost_claim = clock.now() - timedelta(minutes=2)
    assert outbox.search_from(row, lost_claim) == lost_claim - timedelta(seconds=5)
    row.last_error = outbox.unconfirmed("ServerDisconnectedError")
    assert outbox.is_unconfirmed(row)
    # an earlier send of unknown outcome could have posted any time since the row was made
    assert outbox.search_from(row, lost_claim) == row.created_at - timedelta(seconds=5)


# -- the sender's pure parts ------------------------------------------------------------


def api_error(status: int, body: Any, headers: dict[str, str] | None = None) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=body,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)


@pytest.mark.parametrize(
    ("exc", "kind", "error"),
    [
        (
            api_error(429, {"ok": False, "error": "ratelimited"}, {"retry-after": "7"}),
            "rate_limited",
            "ratelimited",
        ),
        (api_error(200, {"ok": False, "error": "user_disabled"}), "permanent", "user_disabled"),
        (api_error(200, {"ok": False, "error": "invalid_blocks"}), "permanent", "invalid_blocks"),
        (api_error(200, {"ok": False, "error": "token_revoked"}), "permanent", "token_revoked"),
        *(
            (api_error(200, {"ok": False, "error": code}), "permanent", code)
            for code in (
                "user_not_visible",
                "invalid_user_combination",
                "restricted_action",
                "missing_scope",
                "not_in_channel",
                "channel_not_found",
                "is_archived",
                "account_inactive",
            )
        ),
        (
            api_error(503, {"ok": False, "error": "service_unavailable"}),
            "retry",
            "service_unavailable",
        ),
        (api_error(500, {"ok": False, "error": "internal_error"}), "uncertain", "internal_error"),
        (api_error(502, {}), "uncertain", "http_502"),
        (api_error(200, {"ok": False, "error": "fatal_error"}), "uncertain", "fatal_error"),
        (api_error(200, {"ok": False, "error": "something_new"}), "retry", "something_new"),
        (aiohttp.ServerDisconnectedError(), "uncertain", "ServerDisconnectedError"),
        (TimeoutError(), "uncertain", "timeout"),
    ],
)
def test_classify(exc: BaseException, kind: str, error: str) -> None:
    outcome = classify(exc)
    assert (outcome.kind, outcome.error) == (kind, error)


def test_classify_reads_retry_after() -> None:
    outcome = classify(api_error(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}))
    assert outcome.retry_after == 7
    assert retry_after({}) == 1.0
    assert retry_after({"Retry-After": "soon"}) == 1.0
    assert retry_after({"RETRY-AFTER": "0"}) == 0.1


def test_a_connection_that_never_opened_is_a_plain_retry() -> None:
    exc = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 1, False, True, None, None, None),
        OSError(111, "refused"),
    )
    assert classify(exc).kind == "retry"


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _got_through(throttle: Throttle, t: FakeTime, posts: int, every: float) -> None:
    """``posts`` posts that got through, ``every`` seconds apart."""
    for _ in range(posts):
        t.now += every
        throttle.success()


def test_throttle_first_429_sets_a_pace_from_what_got_through() -> None:
    t = FakeTime()
    throttle = Throttle(monotonic=t)
    assert throttle.rate is None
    _got_through(throttle, t, 50, 0.002)
    throttle.rate_limited(1.0, granted_at=t.now)
    assert throttle.paused_for() == pytest.approx(1.0)
    # 50 got through in 0.1 s and earned a 1 s pause: about 45 a second
    assert throttle.rate == pytest.approx(0.95 * 50 / 1.098, rel=0.01)
    assert throttle.limited == 1


def test_throttle_ignores_echoes_and_cuts_at_most_once_per_gap() -> None:
    t = FakeTime()
    throttle = Throttle(rate=40.0, monotonic=t)
    _got_through(throttle, t, 400, 0.025)
    granted = t.now - 0.01
    throttle.rate_limited(1.0, granted_at=granted)
    cut = throttle.rate
    assert cut is not None and cut < 40
    throttle.rate_limited(1.0, granted_at=granted)  # another answer to the same burst
    assert throttle.limited == 1
    t.now += 1.5
    throttle.rate_limited(1.0, granted_at=t.now)  # a new 429, but too soon to cut again
    assert throttle.limited == 2
    assert throttle.rate == cut
    assert throttle.cuts == 1


def test_throttle_cuts_never_halve_the_pace_at_once() -> None:
    t = FakeTime()
    throttle = Throttle(rate=100.0, monotonic=t)
    _got_through(throttle, t, 10, 1)
    throttle.rate_limited(1.0, granted_at=t.now)
    assert throttle.rate == 50.0


def test_throttle_does_not_cut_without_evidence() -> None:
    t = FakeTime()
    throttle = Throttle(monotonic=t)
    throttle.rate_limited(2.0, granted_at=t.now)
    assert throttle.rate is None
    assert throttle.paused_for() == 2.0


async def test_throttle_paces_and_pauses() -> None:
    throttle = Throttle(rate=1000.0)
    granted = [await throttle.acquire() for _ in range(5)]
    assert None not in granted
    assert granted == sorted(granted)  # type: ignore[type-var]
    throttle.rate_limited(0.05, granted_at=granted[-1])
    assert throttle.paused_for() > 0
    after = await throttle.acquire()
    assert after is not None and after >= throttle.paused_until


async def test_a_stop_releases_senders_waiting_on_a_pause() -> None:
    throttle = Throttle()
    throttle.rate_limited(60.0)
    stop = asyncio.Event()
    waiting = asyncio.create_task(throttle.acquire(stop))
    await asyncio.sleep(0.01)
    stop.set()
    assert await asyncio.wait_for(waiting, 1.0) is None
    assert await throttle.wait_open(stop) is False


# -- the worker's client -------------------------------------------------------------


def test_the_worker_refuses_a_client_that_retries_429s(db: Database, clock: ManualClock) -> None:
    settings = load_settings(SLACK_BOT_TOKEN="xoxb-unit", SLACK_API_URL="http://127.0.0.1:9/api/")
    runtime = Runtime(settings=settings, db=db, clock=clock)

    async def compose(row: Delivery) -> dict[str, Any]:
        return {"text": "hi"}

    with pytest.raises(ValueError, match="429"):
        OutboxWorker(runtime, make_client(settings), compose, worker_id="w")
    client = make_outbox_client(settings)
    assert isinstance(client, AsyncWebClient)
    assert client.retry_handlers == []
    OutboxWorker(runtime, client, compose, worker_id="w")
