"""Every benchmark's set-up at a tiny size, so a change of the schema or of the product's
functions that breaks a benchmark fails here, not at the next ``make bench``.

The history :mod:`bench.digest` and :mod:`bench.memory` seed is checked against the product's
own readers: the digest counts every seeded rep who got the week's DM, a rep's check-in
answers are found where the app looks for them, and nothing at rest names a rep next to a
closed DM (what ``tests/attacks`` demands of the real product).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel import select as select_rows

from bench import _history as history
from bench import ack, digest, fanout, memory, webhook
from bot.core import answers, digests
from bot.runtime.clock import ManualClock
from bot.storage import Database
from bot.storage.models import (
    CheckinRound,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    ManagerEstimate,
    Member,
    Note,
    Person,
    Response,
    Team,
)

LATEST = date(2026, 11, 16)
TEAMS = 3
ANSWERS = 1_500


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Counter[str]]:
    path = tmp_path_factory.mktemp("history") / "bench.db"
    return path, history.seed(path, TEAMS, ANSWERS, LATEST, tz="Europe/London")


def test_history_writes_what_it_counts(seeded: tuple[Path, Counter[str]]) -> None:
    path, counts = seeded

    async def stored() -> dict[str, int]:
        db = Database(f"sqlite:///{path}")
        try:
            async with db.engine.connect() as conn:
                return {
                    model.__name__: (
                        await conn.execute(select(func.count()).select_from(model))
                    ).scalar_one()
                    for model in (Team, Member, Person, CheckinRound, Delivery, Response, Note)
                }
        finally:
            await db.dispose()

    found = asyncio.run(stored())
    assert counts["responses"] == found["Response"] == ANSWERS
    assert counts["weeks"] >= history.MIN_WEEKS
    assert found["Team"] == TEAMS and found["CheckinRound"] == TEAMS * counts["weeks"]
    assert found["Member"] == found["Person"] == TEAMS * (history.REPS + 1)
    # every round DMs each rep a check-in and each manager their own (one manager a team)
    assert found["Delivery"] == counts["deliveries"] == TEAMS * (history.REPS + 1) * counts["weeks"]
    assert found["Note"] == counts["notes"] > 0


def test_the_digest_counts_every_seeded_rep_who_got_the_dm(
    seeded: tuple[Path, Counter[str]],
) -> None:
    path, _ = seeded

    async def check() -> None:
        db = Database(f"sqlite:///{path}")
        try:
            after = datetime.combine(LATEST + timedelta(days=8), datetime.min.time(), UTC)
            rt = history.runtime(db, ManualClock(after))
            async with db.session() as s:
                teams = list((await s.exec(select_rows(Team).order_by(col(Team.id)))).all())
            shown = await digests.prepare(rt, [(t, LATEST) for t in teams])
            async with db.engine.connect() as conn:
                reached = dict(
                    (
                        await conn.execute(
                            select(col(CheckinRound.team_id), func.count())
                            .join(Delivery, col(Delivery.round_id) == col(CheckinRound.id))
                            .where(
                                col(CheckinRound.period_start) == LATEST,
                                col(Delivery.status) == DeliveryStatus.EXPIRED,
                                col(Delivery.kind) == DeliveryKind.CHECKIN,  # not the manager's
                            )
                            .group_by(col(CheckinRound.team_id))
                        )
                    ).all()
                )
                naming = (
                    await conn.execute(
                        select(func.count()).where(
                            col(Delivery.status) == DeliveryStatus.EXPIRED,
                            col(Delivery.user_id).is_not(None),
                        )
                    )
                ).scalar_one()
                estimates = (
                    await conn.execute(select(func.count()).select_from(ManagerEstimate))
                ).scalar_one()
                rnd = (
                    await conn.execute(
                        select(col(CheckinRound.id), col(CheckinRound.prompt_ids)).where(
                            col(CheckinRound.period_start) == LATEST
                        )
                    )
                ).first()
            assert rnd is not None
            for team in teams:
                figures = shown[(team.id or 0, LATEST)].figures
                assert figures.withheld is None
                # every rep the DM reached answered, and only they (managers never count)
                assert figures.participation.answered == reached[team.id or 0] >= history.REPS - 3
                assert any(d.index is not None for d in figures.dimensions)
                assert len(figures.notes.texts) == 1  # one note of the week is shared
                assert figures.moments is not None
            assert naming == 0  # a closed DM names nobody at rest
            assert estimates > 0
            # a rep's answers are where the app looks for them (their weekly pseudonym)
            round_id, prompt_ids = rnd[0] or 0, rnd[1]
            mine, _ = await answers.current_answers(
                rt, history.WORKSPACE, history.rep_user(teams[0].id or 0, 0), round_id
            )
            scored = {p for p in prompt_ids if not p.endswith("weekly_note")}
            assert set(mine) <= scored and mine
        finally:
            await db.dispose()

    asyncio.run(check())


def test_history_needs_a_monday(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Monday"):
        history.seed(tmp_path / "x.db", 1, 10, LATEST + timedelta(days=1))


@pytest.fixture
def bench_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRUSTBOT_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_digest_benchmark_runs(bench_cache: Path) -> None:
    result = digest.run(teams=TEAMS, answers=ANSWERS, runs=1)
    assert result["details"]["answers_stored"] == ANSWERS
    assert result["value"] > 0 and result["baseline"] > 0
    # the second run copies the cached database
    again = digest.run(teams=TEAMS, answers=ANSWERS, runs=1)
    assert again["details"]["database_cached"] is True


def test_memory_seed_gives_everyone_a_time_zone(tmp_path: Path) -> None:
    counts = memory._make(tmp_path / "m.db", 2, 300, LATEST)
    assert counts["teams"] == 2 and counts["responses"] == 300

    async def zones() -> set[str | None]:
        db = Database(f"sqlite:///{tmp_path / 'm.db'}")
        try:
            async with db.engine.connect() as conn:
                return set((await conn.execute(select(col(Person.tz)))).scalars())
        finally:
            await db.dispose()

    assert asyncio.run(zones()) == {memory.TZ}


def test_webhook_seed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    webhook._prepare_database(url)

    async def reps() -> set[str]:
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                return set((await conn.execute(select(col(Member.user_id)))).scalars())
        finally:
            await db.dispose()

    assert asyncio.run(reps()) == set(webhook.REPS)


def test_fanout_benchmark_runs() -> None:
    result = fanout.run(reps=20, cap=200.0)
    assert result["details"]["lost"] == 0 and result["details"]["duplicates"] == 0


def test_ack_benchmark_runs() -> None:
    """Its set-up is ``/trust team create``, ``team add`` and ``checkin now`` through the
    running app: it raises if any of them fails."""
    result = ack.run(burst=2, rounds=1)
    assert result["details"]["requests_per_server"] == 2 * len(ack.KINDS)
    assert not result["details"]["not_200"]["trustbot"]
