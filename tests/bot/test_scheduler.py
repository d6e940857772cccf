"""The scheduler's jobs persist in the database and survive a restart without doubling."""

from __future__ import annotations

import asyncio

from sqlalchemy import create_engine, text

from bot.app import scheduler


def stored_jobs(url: str) -> list[str]:
    engine = create_engine(scheduler.jobstore_url(url))
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text(f"SELECT id FROM {scheduler.JOBSTORE_TABLE}"))]
    engine.dispose()
    return sorted(ids)


async def test_jobs_run_persist_and_are_replaced_on_restart(database_url: str) -> None:
    runs: list[str] = []

    async def tick() -> None:
        runs.append("tick")

    async def broken() -> None:
        raise RuntimeError("boom")

    tasks = {"test.tick": (tick, 0.05), "test.broken": (broken, 0.05)}
    first = scheduler.build(database_url, tasks)
    first.start()
    for _ in range(100):
        if len(runs) >= 2:
            break
        await asyncio.sleep(0.02)
    first.shutdown(wait=False)
    assert len(runs) >= 2  # and the failing job did not stop the scheduler
    assert stored_jobs(database_url) == ["test.broken", "test.tick"]

    second = scheduler.build(database_url, tasks)  # a restarted process
    second.start()
    assert stored_jobs(database_url) == ["test.broken", "test.tick"]
    job = second.get_job("test.tick")
    assert job is not None and job.coalesce is True and job.misfire_grace_time == 900
    second.shutdown(wait=False)


async def test_a_job_without_a_task_here_is_skipped() -> None:
    scheduler._TASKS.clear()
    await scheduler.run("nobody.home")  # logs, does not raise
