"""Rate limits (429 + Retry-After) and injected failures, seen through slack_sdk."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from tests.emulator.conftest import BOT_TOKEN, second_workspace

QUICK = FixedValueRetryIntervalCalculator(fixed_internal=0.01)


def limited(call: Callable[[], object]) -> Any:
    """What Slack answered ``call``, which it must refuse with a 429."""
    with pytest.raises(SlackApiError) as exc:
        call()
    assert exc.value.response.status_code == 429
    return exc.value.response


def test_rate_limits_are_off_by_default(emu: SlackEmulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    for _ in range(5):
        client.chat_postMessage(channel="C1", text="x")


def test_post_message_is_limited_per_channel(emu: SlackEmulator) -> None:
    emu.set_rate_limits(enabled=True)
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    client.chat_postMessage(channel="C1", text="first")
    client.chat_postMessage(channel="U1", text="other channel, own budget")
    answer = limited(lambda: client.chat_postMessage(channel="C1", text="too soon"))
    assert answer.headers["Retry-After"] == "1" and answer["error"] == "ratelimited"
    assert emu.calls[-1].status == 429
    assert [m["text"] for m in emu.messages("C1")] == ["first"]


def test_workspace_cap(emu: SlackEmulator) -> None:
    emu.set_rate_limits(per_channel_per_s=100, workspace_cap_per_s=2)
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    client.chat_postMessage(channel="C1", text="1")
    client.chat_postMessage(channel="U1", text="2")
    limited(lambda: client.chat_postMessage(channel="U2", text="3"))


def test_tiers_limit_per_method(emu: SlackEmulator) -> None:
    emu.set_rate_limits(tier_per_min={"users.info": 2})
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    client.users_info(user="U1")
    client.users_info(user="U2")
    answer = limited(lambda: client.users_info(user="U1"))
    assert int(answer.headers["Retry-After"]) in (29, 30)  # one call per 30 s
    client.team_info()  # other methods keep their own budget (Tier 3 = 50/min)


def test_rate_limit_retry_handler_waits_and_retries(emu: SlackEmulator) -> None:
    emu.set_rate_limits(enabled=True)
    client = WebClient(
        token=BOT_TOKEN,
        base_url=emu.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    client.chat_postMessage(channel="C1", text="first")
    started = time.monotonic()
    client.chat_postMessage(channel="C1", text="second")
    assert time.monotonic() - started >= 0.5
    assert [c.status for c in emu.calls_to("chat.postMessage")] == [200, 429, 200]
    assert [m["text"] for m in emu.messages("C1")] == ["first", "second"]


async def test_async_rate_limit_retry_handler(emu: SlackEmulator) -> None:
    emu.set_rate_limits(enabled=True)
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=emu.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    await client.chat_postMessage(channel="U1", text="a")
    await client.chat_postMessage(channel="U1", text="b")
    assert [c.status for c in emu.calls_to("chat.postMessage")] == [200, 429, 200]


def test_injected_status_for_n_calls(emu: SlackEmulator) -> None:
    emu.inject_failure(method="chat.postMessage", kind="status", status=503, times=2)
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="x")
        assert exc.value.response.status_code == 503
    client.chat_postMessage(channel="C1", text="x")
    client.auth_test()  # other methods are untouched
    assert [c.status for c in emu.calls] == [503, 503, 200, 200]


def test_server_error_retry_handler_recovers(emu: SlackEmulator) -> None:
    emu.inject_failure(method=None, kind="status", status=500, times=1)
    client = WebClient(
        token=BOT_TOKEN,
        base_url=emu.api_url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=1, interval_calculator=QUICK)],
    )
    assert client.auth_test()["ok"]
    assert [c.status for c in emu.calls] == [500, 200]


async def test_async_server_error_retry(emu: SlackEmulator) -> None:
    emu.inject_failure(method="users.info", status=503, times=1)
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=emu.api_url,
        retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1, interval_calculator=QUICK)],
    )
    assert (await client.users_info(user="U1"))["user"]["id"] == "U1"


def test_dropped_connections(emu: SlackEmulator) -> None:
    emu.inject_failure(method="chat.postMessage", kind="drop", times=1)
    bare = WebClient(token=BOT_TOKEN, base_url=emu.api_url, retry_handlers=[])
    with pytest.raises(OSError):  # http.client.RemoteDisconnected
        bare.chat_postMessage(channel="C1", text="x")
    emu.inject_failure(method="chat.postMessage", kind="drop", times=1)
    retrying = WebClient(
        token=BOT_TOKEN,
        base_url=emu.api_url,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=QUICK)],
    )
    assert retrying.chat_postMessage(channel="C1", text="y")["ok"]
    assert [m["text"] for m in emu.messages("C1")] == ["y"]
    assert [c.status for c in emu.calls] == [0, 0, 200]


def test_delay_then_answer_and_client_timeout(emu: SlackEmulator) -> None:
    emu.inject_failure(method="auth.test", kind="delay", delay=0.2, times=1)
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    started = time.monotonic()
    assert client.auth_test()["ok"]
    assert time.monotonic() - started >= 0.2
    emu.inject_failure(method="auth.test", kind="delay", delay=0.6, times=1)
    impatient = WebClient(token=BOT_TOKEN, base_url=emu.api_url, timeout=0.3, retry_handlers=[])  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        impatient.auth_test()


def test_failures_for_a_duration_and_clearing(emu: SlackEmulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    emu.inject_failure(status=502, duration=0.5)
    with pytest.raises(SlackApiError):
        client.team_info()
    time.sleep(0.55)
    assert client.team_info()["ok"]
    emu.inject_failure(status=500)
    with pytest.raises(SlackApiError):
        client.team_info()
    emu.clear_failures()
    assert client.team_info()["ok"]


def test_failure_rate_affects_a_fraction(emu: SlackEmulator) -> None:
    emu.failures.seed(7)
    rule = emu.inject_failure(method="auth.test", status=503, rate=0.5)
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    statuses = []
    for _ in range(40):
        try:
            client.auth_test()
            statuses.append(200)
        except SlackApiError as exc:
            statuses.append(exc.response.status_code)
    assert 5 < statuses.count(503) < 35
    assert rule.fired == statuses.count(503)


def test_retry_after_is_the_whole_seconds_until_the_budget_is_back(emu: SlackEmulator) -> None:
    """Slack answers 429 with "a Retry-After header containing the number of seconds until you
    can retry" (docs.slack.dev/apis/web-api/rate-limits; the older api.slack.com/docs/
    rate-limits text). Whole seconds, rounded up, at least 1: slack_sdk's
    RateLimitErrorRetryHandler sleeps ``int(Retry-After)`` plus jitter
    (slack_sdk/http_retry/builtin_handlers.py), so rounding down would retry too early."""
    emu.set_rate_limits(tier_per_min={"users.info": 2})  # one call back every 30 s
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    client.users_info(user="U1")
    client.users_info(user="U2")
    with pytest.raises(SlackApiError) as first:
        client.users_info(user="U1")
    assert first.value.response.headers["Retry-After"] == "30"
    emu.clock.advance(10)
    with pytest.raises(SlackApiError) as later:
        client.users_info(user="U1")
    assert later.value.response.headers["Retry-After"] == "20"
    emu.clock.advance(20)
    assert client.users_info(user="U1")["ok"]  # no sleeping: the emulator's clock moved


def test_limits_are_counted_per_workspace(emu: SlackEmulator) -> None:
    """ "per API method per workspace/team per app" (docs.slack.dev/apis/web-api/rate-limits),
    and chat.postMessage's "one message per second per channel" with a workspace-wide cap."""
    emu.set_rate_limits(tier_per_min={"users.info": 1})
    beta, acme, other = second_workspace(emu)
    beta.add_user("U1", name="ana-beta")
    assert acme.users_info(user="U1")["ok"]
    assert other.users_info(user="U1")["ok"]
    acme.chat_postMessage(channel="U1", text="acme")
    other.chat_postMessage(channel="U1", text="beta")  # same user ID, another workspace's DM
    with pytest.raises(SlackApiError):
        other.users_info(user="U1")


def test_injected_429_sends_the_retry_after_asked_for(emu: SlackEmulator) -> None:
    """An injected 429 carries ``Retry-After`` (1 s unless told: what apps report for
    chat.postMessage's per-second rule; Slack's docs' own example is 30)."""
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    emu.inject_failure("auth.test", status=429, times=1)
    emu.inject_failure("users.info", status=429, times=1, retry_after=30)
    with pytest.raises(SlackApiError) as default:
        client.auth_test()
    with pytest.raises(SlackApiError) as asked:
        client.users_info(user="U1")
    assert default.value.response.headers["Retry-After"] == "1"
    assert asked.value.response.headers["Retry-After"] == "30"
    assert asked.value.response["error"] == "ratelimited"
    with pytest.raises(ValueError):
        emu.inject_failure("auth.test", status=429, retry_after=0)


def test_failure_durations_follow_the_emulators_clock(emu: SlackEmulator) -> None:
    """Failure windows run on ``emu.clock``, like the rate limits."""
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    emu.inject_failure(status=503, duration=60)
    with pytest.raises(SlackApiError):
        client.auth_test()
    emu.clock.advance(60)
    assert client.auth_test()["ok"]
    with pytest.raises(ValueError):
        emu.clock.advance(-1)
