"""The periodic jobs: one table, used by the server's scheduler and by ``trustbot demo``.

Jobs are few and fixed, and their state lives in our own tables (rounds, the outbox, digests,
deal events), so a restart loses nothing and 10,000 reps are not 10,000 jobs. The scheduler
keeps them in memory (APScheduler's ``MemoryJobStore``), built from this table at start: no
job is ever read back from a database row, so write access to the database cannot plant a
pickled job in the process that holds ``TRUSTBOT_PSEUDONYM_KEY``. Exactly one process runs
the scheduler at a time (a database lease, :mod:`bot.app.server`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core import checkins, deals
from bot.core.deals import ResolveEmail
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.slack import digest_post, timezones
from bot.slack.client import ClientSource
from bot.slack.sweep import sweep

log = logging.getLogger(__name__)
__all__ = ["JOBS", "AsyncIOScheduler", "Job", "JobContext", "build", "run"]

PENDING_AGE = timedelta(minutes=1)
"""A deal update accepted this long ago and still not planned was left behind (a crash)."""


@dataclass(frozen=True)
class JobContext:
    """What a job needs: the runtime, each workspace's client, the e-mail resolver."""

    runtime: Runtime
    clients: ClientSource
    resolve_email: ResolveEmail


@dataclass(frozen=True)
class Job:
    id: str
    every: float  # seconds
    work: Callable[[JobContext], Awaitable[object]]
    what: str


async def _plan_checkins(ctx: JobContext) -> object:
    await timezones.refresh_stale(ctx.runtime, ctx.clients)  # a bounded batch of users.info
    return await checkins.plan_due(ctx.runtime, default_bank())


async def _sweep(ctx: JobContext) -> object:
    return await sweep(ctx.runtime, ctx.clients)


async def _post_digests(ctx: JobContext) -> object:
    return await digest_post.post_due_digests(ctx.runtime, ctx.clients)


async def _pending_deals(ctx: JobContext) -> object:
    return await deals.process_pending(ctx.runtime, ctx.resolve_email, min_age=PENDING_AGE)


JOBS: tuple[Job, ...] = (
    Job(
        "checkins.plan", 60, _plan_checkins, "learn reps' time zones, plan the rounds that are near"
    ),
    Job("checkins.sweep", 60, _sweep, "remind once, then close unanswered check-ins and nudges"),
    Job("digests.post", 60, _post_digests, "post each team's weekly digest when it is due"),
    Job("deals.pending", 60, _pending_deals, "plan deal updates accepted but left unplanned"),
)
_BY_ID = {job.id: job for job in JOBS}


async def run(job_id: str, ctx: JobContext) -> object:
    """Run one job now, as its scheduled tick would, and return what it returned (the demo
    moves its clock and ticks the jobs itself)."""
    return await _BY_ID[job_id].work(ctx)


def build(ctx: JobContext, jobs: tuple[Job, ...] = JOBS) -> AsyncIOScheduler:
    """A scheduler running ``jobs`` for ``ctx`` (start it, and shut it down, on the loop)."""
    scheduler = AsyncIOScheduler(
        jobstores={"default": MemoryJobStore()},
        job_defaults={
            "coalesce": True,  # after a stall, run once, not once per missed interval
            "misfire_grace_time": 15 * 60,  # the default of 1 s would drop a late tick
            "max_instances": 1,
        },
    )
    known = {**_BY_ID, **{job.id: job for job in jobs}}
    for job in jobs:
        scheduler.add_job(
            _runner(known[job.id], ctx),
            trigger="interval",
            seconds=job.every,
            id=job.id,
            name=job.what,
            replace_existing=True,
        )
    return scheduler


def _runner(job: Job, ctx: JobContext) -> Callable[[], Awaitable[None]]:
    async def tick() -> None:
        try:
            await job.work(ctx)
        except Exception:
            log.exception("job %s failed; it runs again at its next time", job.id)

    return tick
