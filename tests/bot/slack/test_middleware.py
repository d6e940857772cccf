"""Listener wrappers: work after the ack, in turn."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.slack.middleware import AfterAck


async def test_acks_go_out_at_once_and_the_work_waits_its_turn() -> None:
    after_ack = AfterAck(limit=2)
    acked: list[int] = []
    working = 0
    most = 0
    release = asyncio.Event()

    @after_ack
    async def listener(ack: Any, n: int) -> None:
        nonlocal working, most
        await ack(n)
        working += 1
        most = max(most, working)
        await release.wait()
        working -= 1

    async def ack(n: int) -> None:
        acked.append(n)

    runs = [asyncio.create_task(listener(ack=ack, n=n)) for n in range(6)]
    await asyncio.sleep(0.05)
    assert sorted(acked) == list(range(6))  # every request answered while the work queues
    assert (working, most) == (2, 2)
    release.set()
    await asyncio.gather(*runs)
    assert most == 2


async def test_an_event_listener_waits_its_turn_and_a_failure_frees_it() -> None:
    after_ack = AfterAck(limit=1)
    order: list[str] = []

    @after_ack
    async def failing() -> None:  # an event: Bolt has acked, the listener has no `ack`
        order.append("failing")
        raise RuntimeError("boom")

    @after_ack
    async def next_one() -> None:
        order.append("next")

    results = await asyncio.gather(failing(), next_one(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and order == ["failing", "next"]


async def test_every_listener_of_the_app_does_its_work_after_its_ack(sqlite_url: str) -> None:
    """Each listener is marked with ``@after_ack`` explicitly; none is left unbounded."""
    from bot.app.bolt import create_app
    from bot.runtime import Runtime
    from bot.runtime.settings import load_settings
    from bot.storage import Database

    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="test-signing-secret",
        TRUSTBOT_DATABASE_URL=sqlite_url,
    )
    db = Database(sqlite_url)
    try:
        app = create_app(Runtime(settings=settings, db=db))
        listeners = app._async_listeners
        assert len(listeners) >= 12
        unbounded = [
            listener.ack_function.__name__
            for listener in listeners
            if not isinstance(getattr(listener.ack_function, "after_ack", None), AfterAck)
        ]
        assert unbounded == []
    finally:
        await db.dispose()
