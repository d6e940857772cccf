"""The periodic jobs, on APScheduler with its SQLAlchemy job store.

Jobs are few and fixed (explicit ids, ``replace_existing``): a tick that plans check-ins,
and a sweep for reminders and expiry. Their state lives in our tables, so a restart loses
nothing and 10,000 reps are not 10,000 jobs. Exactly one process may run the scheduler: a
job store must never be shared by two schedulers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import create_engine
from sqlalchemy.engine import URL

from bot.storage import sync_url
from bot.storage.db import configure_sqlite

log = logging.getLogger(__name__)
__all__ = ["AsyncIOScheduler", "build", "run"]

JOBSTORE_TABLE = "apscheduler_jobs"
Task = Callable[[], Awaitable[object]]
_TASKS: dict[str, Task] = {}  # job id -> coroutine; jobs are stored by reference to run()


async def run(job_id: str) -> None:
    """What every stored job calls: look the task up in this process and run it."""
    task = _TASKS.get(job_id)
    if task is None:
        log.warning("job %s has no task in this process; skipped", job_id)
        return
    try:
        await task()
    except Exception:
        log.exception("job %s failed; it runs again at its next time", job_id)


def jobstore_url(database_url: str) -> URL:
    """Where the jobs are stored: the app's database on PostgreSQL; on SQLite a file beside it
    (``trustbot.db`` -> ``trustbot.jobs.db``). The job store writes synchronously on the
    event loop; in the app's own SQLite file that write could wait on a transaction that the
    blocked loop itself holds open."""
    url = sync_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return url
    path = Path(url.database)
    return url.set(database=str(path.with_name(f"{path.stem}.jobs{path.suffix or '.db'}")))


def build(database_url: str, tasks: dict[str, tuple[Task, float]]) -> AsyncIOScheduler:
    """A scheduler whose jobs (``id -> (task, every seconds)``) persist in the database."""
    _TASKS.clear()
    _TASKS.update({job_id: task for job_id, (task, _) in tasks.items()})
    engine = create_engine(jobstore_url(database_url))
    configure_sqlite(engine)  # WAL and the busy timeout, like the app's own engine
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
    scheduler = AsyncIOScheduler(
        jobstores={"default": store},
        job_defaults={
            "coalesce": True,  # after downtime, run once, not once per missed interval
            "misfire_grace_time": 15 * 60,  # the default of 1 s would drop a late tick
            "max_instances": 1,
        },
    )
    for job_id, (_, every) in tasks.items():
        scheduler.add_job(
            "bot.app.scheduler:run",
            trigger="interval",
            seconds=every,
            args=[job_id],
            id=job_id,
            replace_existing=True,
        )
    return scheduler
