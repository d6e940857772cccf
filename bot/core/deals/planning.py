"""From stored update to planned nudge: resolve the rep, apply the guardrails, plan the outbox
row; in the background (:class:`Pipeline`) and for updates left behind (:func:`process_pending`)."""

from __future__ import annotations

import asyncio
import functools
import logging
import operator
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    Connection,
    bindparam,
    insert,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col, select

from bot.core import guardrails, recent_deals
from bot.core.checkins import add_working_time
from bot.core.deals import stage_map
from bot.core.deals.model import (
    ACCEPTED,
    DEFERRED,
    NUDGED,
    SKIPPED,
    SLACK,
    UNKNOWN_REP,
    WAITING,
    PayloadError,
    ResolveEmail,
    parse_metadata,
)
from bot.core.deals.rules import waits_for_contact
from bot.core.deals.storing import Receipt, store
from bot.core.deals.superseding import SUPERSEDED, supersede
from bot.runtime import Runtime
from bot.runtime.clock import Clock
from bot.runtime.pseudonyms import Pseudonyms
from bot.storage import deal_writer
from bot.storage.deal_writer import DEAL_EVENTS as _DEAL_EVENTS
from bot.storage.id_lists import in_ids
from bot.storage.models import DealEvent, Delivery, DeliveryKind, DeliveryStatus

log = logging.getLogger(__name__)

_planning_locks: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


def _planning_lock(runtime: Runtime) -> asyncio.Lock:
    """One planner at a time per database handle, so guardrail counts stay exact (across
    processes on PostgreSQL, the teams' row locks do the same)."""
    lock = _planning_locks.get(runtime.db)
    if lock is None:
        lock = _planning_locks[runtime.db] = asyncio.Lock()
    return lock


FAILED: Final = "failed"
"""Not a status: an event left ``accepted`` because resolving its rep failed."""

LOOKUPS_AT_ONCE = 8
BATCH = 1000  # deal events planned in one transaction
LINGER_SECONDS = 0.3  # how long the background step lets a burst gather before planning it


@dataclass(frozen=True)
class Processed:
    """What :func:`process_events` did: each event's status, and the errors that left some
    ``accepted`` (to be tried again)."""

    statuses: dict[int, str]
    errors: dict[int, Exception]


class _Event(NamedTuple):
    """The columns of a deal event that processing reads."""

    id: int
    workspace_id: str
    deal_id: str
    status: str
    rep_user_id: str | None
    rep_email: str | None
    change: str = ""
    from_value: str | None = None
    to_value: str | None = None
    source: str = ""
    deal_name: str = ""


@functools.cache
def _events_query(*, accepted_only: bool, lock: bool, by_email: bool = False) -> Any:
    """The events among the ids bound to ``ids`` (Core, without the ORM's cost), in id
    order; ``by_email``: only those whose rep is given by e-mail alone."""
    table = _DEAL_EVENTS
    query = sa_select(
        table.c.id,
        table.c.workspace_id,
        table.c.deal_id,
        table.c.status,
        table.c.rep_user_id,
        table.c.rep_email,
        table.c.change,
        table.c.from_value,
        table.c.to_value,
        table.c.source,
        table.c.deal_name,
    ).where(in_ids(table.c.id, "ids"))
    if accepted_only:
        query = query.where(table.c.status == ACCEPTED)
    if by_email:
        query = query.where(table.c.rep_user_id.is_(None), table.c.rep_email.is_not(None))
    if lock:
        query = query.with_for_update()
    return query.order_by(table.c.id)


_SET_STATUS = (
    update(_DEAL_EVENTS)
    .where(_DEAL_EVENTS.c.id == bindparam("b_id"), _DEAL_EVENTS.c.status == bindparam("was"))
    .values(
        status=bindparam("new_status"),
        rep_user_id=bindparam("new_user"),
        rep_email=bindparam("new_email"),
    )
)
"""An event's outcome. Once planned (a nudge, or a skip) it forgets its rep: nothing at rest
then ties a Slack user to the deal moment (the outbox row names them only while the nudge is
open); an event whose rep is unknown keeps who it named, for ``/trust status``."""


async def _resolve_reps(
    events: Sequence[_Event], resolve_email: ResolveEmail
) -> tuple[dict[int, str | None], dict[int, Exception]]:
    """The Slack user ID (``None``: unknown) of each event's rep given by e-mail only, and the
    lookups that raised; distinct e-mails are looked up once, a few at a time."""
    emails = {(e.workspace_id, e.rep_email) for e in events if not e.rep_user_id and e.rep_email}
    found: dict[tuple[str, str], str | Exception | None] = {}
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def look(workspace_id: str, email: str) -> None:
        async with gate:
            try:
                found[(workspace_id, email)] = await resolve_email(workspace_id, email)
            except Exception as error:
                found[(workspace_id, email)] = error

    await asyncio.gather(*(look(ws, email) for ws, email in emails if email))
    users: dict[int, str | None] = {}
    errors: dict[int, Exception] = {}
    for e in events:
        if e.rep_user_id or not e.rep_email:
            continue
        result = found[(e.workspace_id, e.rep_email)]
        if isinstance(result, Exception):
            errors[e.id] = result
        else:
            users[e.id] = result
    return users, errors


def _plan(
    event: _Event,
    user_id: str | None,
    state: guardrails.RepState | None,
    now: datetime,
    waits: bool,
) -> tuple[str, dict[str, Any] | None]:
    """One accepted event's outcome, and the outbox row of its nudge if it gets one
    (``waits``: the change leaves the deal before first contact, :func:`waits_for_contact`)."""
    if state is not None and waits:
        log.info("deal event %s waits for first contact: no nudge yet", event.id)
        return WAITING, None  # seed 000's questions come at the first move past this stage
    decision = state.plan(event.deal_id, now) if state is not None else None
    if decision is None or decision.skip is guardrails.NotPlanned.NOT_A_REP:
        return UNKNOWN_REP, None
    if decision.send_at is None:
        log.info("deal event %s skipped: %s", event.id, decision.skip)
        return SKIPPED, None
    assert user_id is not None and decision.team is not None and decision.limits
    slot = decision.send_at
    expires = add_working_time(
        slot, timedelta(days=decision.team.expire_after_days), decision.limits.tz
    )
    nudge = {
        "workspace_id": event.workspace_id,
        "kind": DeliveryKind.NUDGE,
        "round_id": None,
        "deal_event_id": event.id,
        "user_id": user_id,
        "status": DeliveryStatus.PENDING,
        "planned_at": slot,
        "attempts": 0,
        "next_attempt_at": slot,
        "expires_at": expires,
        "created_at": now,
    }
    return (NUDGED if slot <= now else DEFERRED), nudge


async def process_events(
    runtime: Runtime,
    deal_event_ids: Sequence[int],
    resolve_email: ResolveEmail,
    *,
    lookups: bool = True,
) -> Processed:
    """Resolve the reps, apply the guardrails and plan the nudges of accepted events, in
    one transaction (in id order, so earlier events get the earlier slots).

    Events no longer ``accepted`` are left alone, so running this twice (the background
    step and :func:`process_pending` racing) plans one nudge per event. An event whose
    e-mail lookup raised stays ``accepted``; its error is in :attr:`Processed.errors`.
    ``lookups=False`` says no event names its rep by e-mail only (one query fewer); one that
    does stays ``accepted``, for :func:`process_pending`.
    """
    ids = sorted(set(deal_event_ids))
    resolved: dict[int, str | None] = {}
    errors: dict[int, Exception] = {}
    if lookups:
        async with runtime.db.engine.connect() as connection:
            query = _events_query(accepted_only=True, lock=False, by_email=True)
            found = [_Event(*row) for row in (await connection.execute(query, {"ids": ids})).all()]
        resolved, errors = await _resolve_reps(found, resolve_email)
    plan = functools.partial(
        _plan_events,
        clock=runtime.clock,
        pseudonyms=runtime.pseudonyms,
        ids=ids,
        resolved=resolved,
    )
    async with _planning_lock(runtime):
        if runtime.db.dialect == "sqlite":  # reads and writes in the writer thread
            statuses = await deal_writer.sqlite_write(runtime.db, plan)
        else:  # the rows read FOR UPDATE stay locked until the plan is written
            async with runtime.db.engine.begin() as connection:
                statuses = await connection.run_sync(plan)
    return Processed(statuses, errors)


def _rep_of(event: _Event, resolved: Mapping[int, str | None]) -> tuple[bool, str | None]:
    """Whether ``event`` can be planned now, and its rep's Slack user ID (``None``: unknown)."""
    if event.rep_user_id or not event.rep_email:
        return True, event.rep_user_id  # by Slack ID, or no rep given at all
    if event.id in resolved:
        return True, resolved[event.id]
    return False, None  # by e-mail, not looked up (or the lookup failed): later


def _plan_events(
    connection: Connection,
    *,
    clock: Clock,
    pseudonyms: Pseudonyms,
    ids: Sequence[int],
    resolved: Mapping[int, str | None],
) -> dict[int, str]:
    """Plan the events among ``ids`` still ``accepted`` whose rep is known (by Slack ID, or
    by e-mail in ``resolved``) and write the plan, in the caller's transaction; every
    event's status."""
    now = clock.now()
    query = _events_query(accepted_only=False, lock=True)
    rows = [_Event(*row) for row in connection.execute(query, {"ids": ids}).all()]
    statuses = {r.id: r.status for r in rows}
    users: dict[int, str | None] = {}
    for row in rows:
        ready, user_id = _rep_of(row, resolved)
        if row.status == ACCEPTED and ready:
            users[row.id] = user_id
    todo = [r for r in rows if r.id in users]
    nudges: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    with Session(bind=connection) as session:
        for workspace_id in sorted({r.workspace_id for r in todo}):
            mine = [r for r in todo if r.workspace_id == workspace_id]
            # first cancel what a newer update made obsolete: it then counts toward no limit
            newest = supersede(connection, workspace_id, {r.id: r.deal_id for r in mine})
            mapped = stage_map.overrides_in(connection, workspace_id)
            reps = {u for r in mine if (u := users[r.id])}
            states = guardrails.rep_states(session, pseudonyms, workspace_id, reps, now, lock=True)
            waiting: dict[tuple[str, str | None, str | None, str], bool] = {}
            touches: dict[str, list[recent_deals.Touch]] = {}
            for event in mine:
                user_id = users[event.id]
                state = states.get(user_id) if user_id else None
                stale = newest.is_stale(event.id)
                # a rep we cannot match keeps the update listed in /trust status instead
                if stale and state is not None and state.team is not None:
                    log.info("deal event %s superseded by a newer update: no nudge", event.id)
                    status, nudge = SUPERSEDED, None
                else:
                    route = (event.change, event.from_value, event.to_value, event.source)
                    if route not in waiting:  # a pipeline's few stage names, asked once
                        waiting[route] = waits_for_contact(*route[:3], mapped.get(event.source))
                    status, nudge = _plan(event, user_id, state, now, waiting[route])
                statuses[event.id] = status
                changes.append(
                    {
                        "b_id": event.id,
                        "was": ACCEPTED,
                        "new_status": status,
                        "new_user": user_id if status == UNKNOWN_REP else None,
                        "new_email": event.rep_email if status == UNKNOWN_REP else None,
                    }
                )
                if nudge is not None:
                    nudges.append(nudge)
                if state is not None and state.team is not None:
                    touches.setdefault(state.user_id, []).append((event.deal_id, event.deal_name))
            if pseudonyms.key:  # what the rep's check-in question may name, sealed (planned
                # updates forget their rep)
                recent_deals.record(connection, pseudonyms.key, workspace_id, touches, now)
    _apply_plan(connection, nudges, changes)
    return statuses


def _apply_plan(
    connection: Connection, nudges: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> None:
    if nudges:
        connection.execute(insert(Delivery.__table__), nudges)  # type: ignore[attr-defined]
    if not changes:
        return
    if connection.dialect.name == "sqlite":  # the driver's executemany: one C loop
        sql, parameters = _sqlite_set_status()
        connection.exec_driver_sql(sql, [parameters(change) for change in changes])
    else:
        connection.execute(_SET_STATUS, changes)


@functools.cache
def _sqlite_set_status() -> tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
    """:data:`_SET_STATUS` as SQLAlchemy compiles it for SQLite: the SQL text, and what
    turns one change into its positional parameters."""
    compiled = _SET_STATUS.compile(dialect=sqlite.dialect())
    return str(compiled), operator.itemgetter(*(compiled.positiontup or ()))


async def process_event(runtime: Runtime, deal_event_id: int, resolve_email: ResolveEmail) -> str:
    """:func:`process_events` for one event: its status. If ``resolve_email`` raises, the
    event stays ``accepted`` and the error propagates."""
    done = await process_events(runtime, [deal_event_id], resolve_email)
    if deal_event_id in done.errors:
        raise done.errors[deal_event_id]
    if deal_event_id not in done.statuses:
        raise LookupError(f"no deal event {deal_event_id}")
    return done.statuses[deal_event_id]


async def process_pending(
    runtime: Runtime,
    resolve_email: ResolveEmail,
    *,
    min_age: timedelta = timedelta(0),
    limit: int = 5000,
) -> dict[str, int]:
    """Process every event still ``accepted`` and received at least ``min_age`` ago.

    For start-up (events accepted just before a crash) and a periodic job (events whose
    e-mail lookup failed). Returns how many ended in each status; ``"failed"`` counts those
    left ``accepted`` because of an error (logged).
    """
    cutoff = runtime.clock.now() - min_age
    async with runtime.db.session() as session:
        ids = [
            i
            for i in (
                await session.exec(
                    select(DealEvent.id)
                    .where(DealEvent.status == ACCEPTED, col(DealEvent.received_at) <= cutoff)
                    .order_by(col(DealEvent.id))
                    .limit(limit)
                )
            ).all()
            if i is not None
        ]
    outcome: dict[str, int] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        try:
            done = await process_events(runtime, chunk, resolve_email)
        except Exception:
            log.exception(
                "deal events %s..%s could not be processed; will retry", chunk[0], chunk[-1]
            )
            outcome[FAILED] = outcome.get(FAILED, 0) + len(chunk)
            continue
        for event_id, error in done.errors.items():
            log.warning("deal event %s: rep lookup failed (%s); will retry", event_id, error)
        for event_id in chunk:
            status = FAILED if event_id in done.errors else done.statuses.get(event_id)
            if status is not None:
                outcome[status] = outcome.get(status, 0) + 1
    return outcome


class Pipeline:
    """Processes accepted events in the background, after the sender has its answer.

    ``submit`` never blocks; ``workers`` tasks (started on first use) drain the queue, each
    taking what has queued up within ``linger`` seconds of its first event (at most
    :data:`BATCH`) as one batch. What is queued when the process stops is still
    ``accepted`` in the database, for :func:`process_pending`.
    """

    def __init__(
        self,
        runtime: Runtime,
        resolve_email: ResolveEmail,
        workers: int = 2,
        linger: float = LINGER_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.resolve_email = resolve_email
        self.workers = workers
        self.linger = linger
        self._queue: asyncio.Queue[tuple[int, bool]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def submit(self, deal_event_id: int, *, lookup: bool = True) -> None:
        """Plan the event soon; ``lookup=False``: its rep is not given by e-mail alone (see
        :func:`process_events`)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        self._queue.put_nowait((deal_event_id, lookup))

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self.linger and self._queue.qsize() < BATCH:
                # gather for a moment even under load: a batch costs mostly per batch (the
                # reps' states), so a burst is planned in a few large batches, not many small
                await asyncio.sleep(self.linger)
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            ids = [event_id for event_id, _ in batch]
            try:
                done = await process_events(
                    self.runtime,
                    ids,
                    self.resolve_email,
                    lookups=any(lookup for _, lookup in batch),
                )
                for event_id, error in done.errors.items():
                    log.warning(
                        "deal event %s: rep lookup failed (%s); will retry", event_id, error
                    )
            except Exception:
                log.exception("deal events %s could not be processed; will retry", ids)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything submitted so far has been processed (tests, shutdown)."""
        if self._tasks:
            await self._queue.join()

    async def aclose(self) -> None:
        """Stop the workers; unprocessed events stay ``accepted``."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


REFUSED_APPS_LOGGED = 1000
"""Distinct refused app ids whose first refusal is logged, per process (no unbounded set)."""


class MetadataApps:
    """Which Slack apps may post ``deal_updated`` message metadata: those an admin listed in
    ``TRUSTBOT_DEAL_APP_IDS`` (none by default). Any app in a workspace can post message
    metadata, and the manifest can only subscribe to every app's (``app_id: "*"``) or to app
    ids known when it is written, so the check is here. A refused app is logged once."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = frozenset(allowed)
        self._logged: set[str] = set()

    def allows(self, app_id: object) -> bool:
        if isinstance(app_id, str) and app_id in self.allowed:
            return True
        shown = app_id if isinstance(app_id, str) else repr(app_id)
        if shown not in self._logged and len(self._logged) < REFUSED_APPS_LOGGED:
            self._logged.add(shown)
            log.warning(
                "refused deal_updated metadata posted by app %.40s: it is not in "
                "TRUSTBOT_DEAL_APP_IDS (later ones from this app are refused unlogged)",
                shown,
            )
        return False


def metadata_apps(runtime: Runtime) -> MetadataApps:
    """This process's :class:`MetadataApps`, from the settings."""
    return runtime.service(
        MetadataApps, lambda: MetadataApps(runtime.settings.TRUSTBOT_DEAL_APP_IDS)
    )


async def receive_metadata(
    runtime: Runtime, workspace_id: str, metadata: object, resolve_email: ResolveEmail
) -> Receipt | None:
    """A ``message_metadata_posted`` event's metadata, from an app :func:`metadata_apps`
    allows: store and process a ``deal_updated`` update (call it after Slack's ack). Other
    event types give ``None``; a bad payload is logged and dropped (there is nobody to
    answer 400 to)."""
    try:
        update = parse_metadata(metadata)
    except PayloadError as error:
        log.warning("deal_updated metadata refused: %s", error.message)
        return None
    if update is None:
        return None
    [receipt] = await store(runtime, workspace_id, SLACK, [update])
    if receipt.created:
        await process_event(runtime, receipt.id, resolve_email)
    return receipt
