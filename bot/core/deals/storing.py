"""Storing deal updates as ``accepted`` events, once each, before anyone is answered.

The rows go through :mod:`bot.storage.deal_writer` (the hand-tuned writer of
``bench/webhook``); :class:`Recorder` lets concurrent requests share one commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.deals.model import ACCEPTED, DealUpdate
from bot.runtime import Runtime
from bot.storage import deal_writer


@dataclass(frozen=True)
class Receipt:
    """The stored event's id; ``created`` is False for a repeat of one already stored."""

    id: int
    event_id: str
    created: bool


Batch = tuple[str, str, Sequence[DealUpdate]]
"""``(workspace_id, source, updates)``: what one request stores."""


def row(workspace_id: str, source: str, update: DealUpdate, now: datetime) -> dict[str, Any]:
    """The deal event row of ``update`` (the columns of :data:`deal_writer.ROW_COLUMNS`)."""
    return {
        "workspace_id": workspace_id,
        "source": source,
        "event_id": update.event_id,
        "deal_id": update.deal_id,
        "deal_name": update.deal_name,
        "change": update.change.value,
        "from_value": update.from_value,
        "to_value": update.to_value,
        "rep_user_id": update.rep_user_id,
        "rep_email": update.rep_email,
        "status": ACCEPTED,
        "occurred_at": update.occurred_at,
        "received_at": now,
    }


async def store_batches(runtime: Runtime, batches: Sequence[Batch]) -> list[list[Receipt]]:
    """Store several requests' updates in one transaction: one INSERT of many rows that
    skips the events already stored, one SELECT for their ids, one commit."""
    now = runtime.clock.now()
    keys = [(ws, source, u.event_id) for ws, source, updates in batches for u in updates]
    rows = [
        row(workspace_id, source, u, now)
        for workspace_id, source, updates in batches
        for u in updates
    ]
    if runtime.db.dialect == "sqlite":
        new, old = await deal_writer.sqlite_write(
            runtime.db, deal_writer.insert_new, rows, keys, inline=True
        )
    else:
        async with runtime.db.engine.begin() as connection:
            new, old = await connection.run_sync(deal_writer.insert_new, rows, keys)
    ids = {**old, **new}
    results: list[list[Receipt]] = []
    for workspace_id, source, updates in batches:
        receipts = []
        for u in updates:
            key = (workspace_id, source, u.event_id)
            created = new.pop(key, None) is not None  # only its first occurrence is new
            receipts.append(Receipt(ids[key], u.event_id, created=created))
        results.append(receipts)
    return results


async def store(
    runtime: Runtime, workspace_id: str, source: str, updates: Sequence[DealUpdate]
) -> list[Receipt]:
    """Record ``updates`` (one transaction) as ``accepted`` events; repeats are not stored.

    Committed when this returns, so an answer sent afterwards never outruns the database.
    """
    [receipts] = await store_batches(runtime, [(workspace_id, source, updates)])
    return receipts


class Recorder:
    """:func:`store` with group commit: requests that arrive while a transaction is being
    written wait for the next one and share it, so a burst costs a few commits instead of
    one per request. Each caller still returns only after its own updates are committed.
    """

    def __init__(self, runtime: Runtime, max_batch: int = 256) -> None:
        self.runtime = runtime
        self.max_batch = max_batch
        self._waiting: list[tuple[Batch, asyncio.Future[list[Receipt]]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(
        self, workspace_id: str, source: str, updates: Sequence[DealUpdate]
    ) -> list[Receipt]:
        future: asyncio.Future[list[Receipt]] = asyncio.get_running_loop().create_future()
        self._waiting.append(((workspace_id, source, updates), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        # one turn of the loop first: the requests it has already read join this batch
        # (SQLite writes on the loop, so none would join while it writes): ~5% less CPU
        # per request in bench/webhook
        await asyncio.sleep(0)
        while self._waiting:
            taken, self._waiting = (
                self._waiting[: self.max_batch],
                self._waiting[self.max_batch :],
            )
            try:
                results = await store_batches(self.runtime, [batch for batch, _ in taken])
            except Exception:
                # one bad request must not fail the others: store them one by one
                for batch, future in taken:
                    try:
                        result = await store(self.runtime, *batch)
                    except Exception as error:
                        if not future.done():
                            future.set_exception(error)
                    else:
                        if not future.done():
                            future.set_result(result)
                continue
            for (_, future), result in zip(taken, results, strict=True):
                if not future.done():
                    future.set_result(result)
