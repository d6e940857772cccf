"""The periodic jobs: one table, run by a scheduler that keeps them in memory only."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import create_engine, inspect

from bot.app import jobs


async def test_jobs_run_and_a_failing_job_does_not_stop_the_others() -> None:
    runs: list[str] = []

    async def tick(ctx: jobs.JobContext) -> None:
        runs.append("tick")

    async def broken(ctx: jobs.JobContext) -> None:
        raise RuntimeError("boom")

    table = (jobs.Job("test.tick", 0.05, tick, "t"), jobs.Job("test.broken", 0.05, broken, "b"))
    scheduler = jobs.build(jobs.JobContext(None, None, None), table)  # type: ignore[arg-type]
    scheduler.start()
    for _ in range(100):
        if len(runs) >= 2:
            break
        await asyncio.sleep(0.02)
    job = scheduler.get_job("test.tick")
    scheduler.shutdown(wait=False)
    assert len(runs) >= 2
    assert job is not None and job.coalesce is True and job.misfire_grace_time == 900


async def test_the_jobs_come_from_code_and_nothing_is_stored(
    database_url: str, tmp_path: Path
) -> None:
    """No job is read back from a database row, so a database writer cannot plant a pickled
    job in the process that holds the pseudonym key (issue #15)."""
    scheduler = jobs.build(jobs.JobContext(None, None, None))  # type: ignore[arg-type]
    scheduler.start()
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(j.id for j in jobs.JOBS)
    stores = list(scheduler._jobstores.values())
    scheduler.shutdown(wait=False)
    assert [type(s).__name__ for s in stores] == ["MemoryJobStore"]
    engine = create_engine(database_url.replace("+asyncpg", ""))
    try:
        assert "apscheduler_jobs" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert not list(tmp_path.glob("*.jobs.db"))
