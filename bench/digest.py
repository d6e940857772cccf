"""Digests: the weekly figures of 200 teams over 1,000,000 stored answers.

A SQLite file gets 200 teams with a year of history: check-in rounds, deliveries, answers
(check-in scales, the goal question, deal-moment nudges), shared notes and managers'
estimates, inserted in bulk (``executemany`` in batches) after ``alembic upgrade``. The seeded
file is kept in a cache directory keyed by size and schema (see :mod:`bench._common`), and
each run works on a copy. The seven weeks before the measured one are published first, as
the weekly job would have done.

Then, in the same run and on the same async engine:

* the figure: :func:`bot.digests.prepare` for all 200 teams' latest week: every aggregate
  (participation, trust index with distribution, goal mix, moments, perception gap, notes),
  the k rule, the trend from the stored figures, and the frozen ``Digest`` rows written;
* the baseline: the same figures written by hand as plain SQL GROUP BYs over the same week
  (one statement per figure: the trust index per team and dimension with respondents, mean
  and the per-person distribution; asked; answered; goal mix and the team's side of the
  perception gap; managers' estimates; deal moments; shared notes);
* for reference, the trust index statement alone, and the flat ``GROUP BY team_id,
  dimension`` (means and answer counts only).

Each is the median of ``--runs`` runs (the week's digests are deleted between runs). Prints
the figure, the baseline and the ratio (target at most 3, and under 2 s in all), and
returns ``{name, value, unit, baseline, ratio, target, met, details}``.

    python -m bench.digest [--teams 200] [--answers 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text
from sqlmodel import col
from sqlmodel import select as select_rows

from bench._common import cache_dir, seeded_copy
from bot.core import digests
from bot.core.prompts import GOAL_PROMPT_ID, TRUST_AND_VALUE, default_bank
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.migrate import upgrade
from bot.storage.models import Digest, Response, Team, Workspace

NAME = "digest_200_teams"
TEAMS = 200
ANSWERS = 1_000_000
RUNS = 5
TARGET_RATIO = 3.0
TARGET_SECONDS = 2.0
REPS = 10  # per team
WEEK = timedelta(days=7)
LATEST = date(2026, 11, 16)  # the measured week
WORKSPACE = "T0BENCH"
BATCH = 50_000
MOMENTS = (
    ("close_date_changed", "candor.close_date_honest"),
    ("won", "reliability.won_handover"),
    ("lost", "care.lost_best_interest"),
    ("discount_requested", "value_focus.discount_still_worth_it"),
)


def _stamp(day: date, hour: int = 16) -> str:
    """How SQLAlchemy stores an aware UTC datetime in SQLite."""
    return f"{day.isoformat()} {hour:02d}:00:00.000000"


def _batched(rows: Iterator[tuple[Any, ...]], size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def rep_user(team: int, rep: int) -> str:
    """The Slack user ID of a seeded rep: ``rep`` (0..9) of the team whose row id is ``team``."""
    return f"U{team:04d}{rep:03d}"


def hashed(team: int, rep: int) -> str:
    """The pseudonym a seeded rep's answers are stored under (unkeyed: no app reads them)."""
    return hashlib.sha256(f"{team}:{rep}".encode()).hexdigest()


def _plan(answers: int, teams: int) -> tuple[list[str], int]:
    """The check-in prompts every rep answers and the number of weeks that make ``answers``."""
    bank = default_bank()
    scales = [p.id for p in bank.checkin_prompts() if p.kind == "scale" and p.enabled_by_default]
    prompts = [GOAL_PROMPT_ID, *scales]
    per_week = teams * REPS * (len(prompts) + 1)  # + one nudge answer per rep and week
    return prompts, max(8, -(-answers // per_week))


def _seed(
    path: Path,
    team_ids: Sequence[int],
    answers: int,
    *,
    latest: date = LATEST,
    who: Callable[[int, int], str] = hashed,
) -> dict[str, int]:
    """Bulk-load the history with plain sqlite3 ``executemany`` (the schema is Alembic's):
    weeks up to ``latest``, each rep's answers under ``who(team, rep)``."""
    bank = default_bank()
    prompts, weeks = _plan(answers, len(team_ids))
    periods = [latest - WEEK * i for i in range(weeks)][::-1]
    rng = random.Random(20261116)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    counts = {"responses": 0, "rounds": 0, "deliveries": 0, "notes": 0, "estimates": 0}

    rounds = [
        (WORKSPACE, team, p.isoformat(), (p + timedelta(days=6)).isoformat(), "[]", "fanned_out",
         _stamp(p + timedelta(days=4)))
        for team in team_ids for p in periods
    ]  # fmt: skip
    conn.executemany(
        "INSERT INTO checkinround (workspace_id, team_id, period_start, period_end, prompt_ids,"
        " status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rounds,
    )
    counts["rounds"] = len(rounds)
    round_ids = {
        (team, period): rid
        for rid, team, period in conn.execute("SELECT id, team_id, period_start FROM checkinround")
    }

    def deliveries() -> Iterator[tuple[Any, ...]]:
        for (team, period), rid in round_ids.items():
            at = _stamp(date.fromisoformat(period) + timedelta(days=4))
            for rep in range(REPS):
                status = "skipped" if rng.random() < 0.05 else "sent"
                yield (WORKSPACE, "checkin", rid, rep_user(team, rep), status, 1, at, at)

    for batch in _batched(deliveries()):
        conn.executemany(
            "INSERT INTO delivery (workspace_id, kind, round_id, user_id, status, attempts,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        counts["deliveries"] += len(batch)

    goal_values = [o.value for o in bank.prompt(GOAL_PROMPT_ID).answer.choices()]
    dimension = {p.id: p.dimension.value for p in bank.prompts}

    def responses() -> Iterator[tuple[Any, ...]]:
        produced = 0
        for period in reversed(periods):  # newest first: the measured week is always full
            day = period.isoformat()
            at = _stamp(period + timedelta(days=4))
            for team in team_ids:
                rid = round_ids[(team, day)]
                mood = rng.uniform(-1.2, 1.2)
                for rep in range(REPS):
                    person = who(team, rep)
                    for prompt_id in prompts:
                        if produced >= answers:
                            return
                        if prompt_id == GOAL_PROMPT_ID:
                            value = (
                                TRUST_AND_VALUE if rng.random() < 0.7 else rng.choice(goal_values)
                            )
                            score = 5 if value == TRUST_AND_VALUE else 1
                        else:
                            score = max(1, min(5, round(rng.gauss(3.6 + mood, 0.9))))
                            value = str(score)
                        yield (WORKSPACE, team, day, f"round:{rid}", None, person, prompt_id,
                               dimension[prompt_id], value, score, at)  # fmt: skip
                        produced += 1
                    if produced >= answers:
                        return
                    change, prompt_id = MOMENTS[rng.randrange(len(MOMENTS))]
                    yes = rng.random() < 0.8
                    yield (WORKSPACE, team, day, f"nudge:{team}:{day}:{rep}", change, person,
                           prompt_id, dimension[prompt_id], "yes" if yes else "no",
                           5 if yes else 1, at)  # fmt: skip
                    produced += 1

    for batch in _batched(responses()):
        conn.executemany(
            "INSERT INTO response (workspace_id, team_id, period_start, context, moment,"
            " pseudonym, prompt_id, dimension, value, score, answered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        counts["responses"] += len(batch)

    notes = []
    estimates = []
    for (team, period), rid in round_ids.items():
        at = _stamp(date.fromisoformat(period) + timedelta(days=4))
        for rep in range(2):
            person = who(team, rep)
            text = f"Week {period}: a thought worth sharing from the team ({rng.random():.3f})"
            notes.append((WORKSPACE, team, period, f"round:{rid}", person, text, rep == 0, at))
        manager = hashlib.sha256(f"manager:{team}".encode()).hexdigest()
        estimates.append(
            (WORKSPACE, team, period, manager, "internal_trust.bad_news", rng.randrange(40, 95), at)
        )
    conn.executemany(
        "INSERT INTO note (workspace_id, team_id, period_start, context, pseudonym, text, shared,"
        " written_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        notes,
    )
    conn.executemany(
        "INSERT INTO managerestimate (workspace_id, team_id, period_start, pseudonym, prompt_id,"
        " value, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        estimates,
    )
    counts["notes"], counts["estimates"] = len(notes), len(estimates)
    counts["weeks"] = weeks
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return counts


HEADLINE_SQL = """
SELECT team_id, dimension, COUNT(*) AS people, SUM(s) * 1.0 / SUM(n) AS mean,
       SUM(b = 1), SUM(b = 2), SUM(b = 3), SUM(b = 4), SUM(b = 5)
FROM (SELECT team_id, dimension, pseudonym, SUM(score) AS s, COUNT(score) AS n,
             (2 * SUM(score) + COUNT(score)) / (2 * COUNT(score)) AS b
      FROM response
      WHERE team_id IN :ids AND period_start = :week AND moment IS NULL
        AND score IS NOT NULL AND prompt_id IN :scales
      GROUP BY team_id, dimension, pseudonym) AS per_person
GROUP BY team_id, dimension
"""
"""The trust index by hand: per team and dimension, respondents, mean, and how many people's
own mean falls at 1..5 (a GROUP BY per person inside a GROUP BY per dimension)."""

BASELINE_SQL = (
    HEADLINE_SQL,
    # participation, asked: the week's check-in DMs that reached a rep
    """
SELECT r.team_id, COUNT(*) FROM delivery AS d JOIN checkinround AS r ON d.round_id = r.id
WHERE r.team_id IN :ids AND r.period_start = :week AND d.kind = 'checkin'
  AND d.status NOT IN ('skipped', 'failed')
GROUP BY r.team_id
""",
    # participation, answered: people with any answer in the week
    """
SELECT team_id, COUNT(DISTINCT pseudonym) FROM response
WHERE team_id IN :ids AND period_start = :week
GROUP BY team_id
""",
    # goal mix and the team's side of the perception gap: one choice / one mean per person
    """
SELECT team_id, prompt_id, v, agree, COUNT(*)
FROM (SELECT team_id, prompt_id, pseudonym, MIN(value) AS v,
             SUM(score) >= 4 * COUNT(score) AS agree
      FROM response
      WHERE team_id IN :ids AND period_start = :week AND moment IS NULL
        AND prompt_id IN :choices
      GROUP BY team_id, prompt_id, pseudonym) AS per_person
GROUP BY team_id, prompt_id, v, agree
""",
    # the managers' side of the perception gap
    """
SELECT team_id, prompt_id, SUM(value), COUNT(DISTINCT pseudonym) FROM managerestimate
WHERE team_id IN :ids AND period_start = :week
GROUP BY team_id, prompt_id
""",
    # deal moments: reflections (nudges answered) and people per moment
    """
SELECT team_id, moment, COUNT(DISTINCT pseudonym), COUNT(DISTINCT pseudonym || context)
FROM response
WHERE team_id IN :ids AND period_start = :week AND moment IS NOT NULL
GROUP BY team_id, moment
""",
    # deal moments: each question's answers and people
    """
SELECT team_id, moment, prompt_id, value, COUNT(*), COUNT(DISTINCT pseudonym) FROM response
WHERE team_id IN :ids AND period_start = :week AND moment IS NOT NULL
GROUP BY team_id, moment, prompt_id, value
""",
    # shared notes
    """
SELECT team_id, text FROM note WHERE team_id IN :ids AND period_start = :week AND shared
""",
)
"""The baseline: every figure the digest computes, written by hand as plain GROUP BYs, one
statement per figure (no ORM, no Python over rows). What it leaves to the digest: the k rule,
the trend (read from the stored figures), the coaching focus and storing the result."""

FLAT_SQL = """
SELECT team_id, dimension, COUNT(DISTINCT pseudonym), AVG(score),
       SUM(score = 1), SUM(score = 2), SUM(score = 3), SUM(score = 4), SUM(score = 5)
FROM response
WHERE team_id IN :ids AND period_start = :week AND moment IS NULL AND score IS NOT NULL
GROUP BY team_id, dimension
"""
"""For reference: the flat GROUP BY (means and answer counts, no per-person distribution)."""

SEED_VERSION = 1  # bump when _seed changes what it writes: cached databases are made again


def _hand_written(sql: str) -> Any:
    lists = [name for name in ("ids", "scales", "choices") if f":{name}" in sql]
    return text(sql).bindparams(*(bindparam(name, expanding=True) for name in lists))


async def _teams(db: Database, teams: int) -> list[Team]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with db.session() as s:
        s.add(Workspace(id=WORKSPACE, name="Bench", installed_at=now))
        await s.flush()
        rows = [
            Team(workspace_id=WORKSPACE, name=f"team-{i:03d}", channel_id=f"C{i:07d}",
                 created_at=now)
            for i in range(teams)
        ]  # fmt: skip
        s.add_all(rows)
    return rows


async def _time(work: Any) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


def _make(path: Path, teams: int, answers: int) -> None:
    """A migrated database with ``teams`` teams and ``answers`` answers (no digests yet)."""
    url = f"sqlite:///{path}"
    upgrade(url)

    async def make_teams() -> list[int]:
        db = Database(url)
        try:
            return [t.id for t in await _teams(db, teams) if t.id is not None]
        finally:
            await db.dispose()

    _seed(path, asyncio.run(make_teams()), answers)


async def _run(path: Path, teams: int, answers: int, runs: int) -> dict[str, Any]:
    url = f"sqlite:///{path}"
    load_start = time.perf_counter()
    key = f"digest-v{SEED_VERSION}-{teams}t-{answers}a"
    cached = await asyncio.to_thread(seeded_copy, key, lambda p: _make(p, teams, answers), path)
    load = time.perf_counter() - load_start
    db = Database(url)
    try:
        async with db.session() as s:
            rows = list((await s.exec(select_rows(Team).order_by(col(Team.id)))).all())
        team_ids = [t.id for t in rows if t.id is not None]
        async with db.engine.connect() as conn:
            stored_answers = (
                await conn.execute(select(func.count()).select_from(Response))
            ).scalar_one()
        bank = default_bank()
        scales = [p.id for p in bank.checkin_prompts() if p.kind == "scale"]
        choices = [GOAL_PROMPT_ID, *(p.id for p in bank.for_manager_estimate())]
        clock = ManualClock(datetime.combine(LATEST + WEEK, datetime.min.time(), UTC))
        clock.advance(timedelta(hours=10))
        rt = Runtime(settings=load_settings(), db=db, clock=clock)

        # cold start: the first digest of each team freezes the 7 weeks before it too
        cold_period = LATEST - WEEK
        cold = await _time(lambda: digests.prepare(rt, [(t, cold_period) for t in rows]))
        requests = [(t, LATEST) for t in rows]

        async def clear() -> None:
            async with db.engine.begin() as conn:
                await conn.execute(delete(Digest).where(col(Digest.period_start) == LATEST))

        async def figures() -> None:
            await digests.prepare(rt, requests)

        params = {"ids": team_ids, "week": LATEST, "scales": scales, "choices": choices}
        statements = [_hand_written(sql) for sql in BASELINE_SQL]
        headline = _hand_written(HEADLINE_SQL)

        async def baseline() -> None:
            async with db.engine.connect() as conn:
                for statement in statements:
                    (await conn.execute(statement, params)).all()

        async def headline_only() -> None:
            async with db.engine.connect() as conn:
                (await conn.execute(headline, params)).all()

        async def flat() -> None:
            async with db.engine.connect() as conn:
                flat_params = {"ids": team_ids, "week": LATEST}
                (await conn.execute(_hand_written(FLAT_SQL), flat_params)).all()

        figure_times, baseline_times, headline_times, flat_times = [], [], [], []
        for i in range(runs):  # alternate the order, so neither side always runs warm
            await clear()
            if i % 2:
                baseline_times.append(await _time(baseline))
                headline_times.append(await _time(headline_only))
                flat_times.append(await _time(flat))
            figure_times.append(await _time(figures))
            if not i % 2:
                baseline_times.append(await _time(baseline))
                headline_times.append(await _time(headline_only))
                flat_times.append(await _time(flat))
        async with db.engine.connect() as conn:
            week_rows = (
                await conn.execute(select(func.count()).where(col(Response.period_start) == LATEST))
            ).scalar_one()
            stored = (
                await conn.execute(select(func.count()).where(col(Digest.period_start) == LATEST))
            ).scalar_one()
        assert stored == teams, stored
    finally:
        await db.dispose()
    value = statistics.median(figure_times)
    base = statistics.median(baseline_times)
    flat_base = statistics.median(flat_times)
    headline_base = statistics.median(headline_times)
    ratio = value / base if base else float("inf")
    return {
        "name": NAME,
        "value": round(value, 4),
        "unit": "s",
        "baseline": round(base, 4),
        "ratio": round(ratio, 2),
        "target": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO and value < TARGET_SECONDS,
        "details": {
            "teams": teams,
            "answers_stored": int(stored_answers),
            "answers_in_week": int(week_rows),
            "weeks": _plan(answers, teams)[1],
            "runs": runs,
            "figure_runs_s": [round(t, 4) for t in figure_times],
            "baseline_runs_s": [round(t, 4) for t in baseline_times],
            "flat_group_by_s": round(flat_base, 4),
            "ratio_to_flat_group_by": round(value / flat_base, 2) if flat_base else None,
            "headline_group_by_s": round(headline_base, 4),
            "ratio_to_headline_group_by": (
                round(value / headline_base, 2) if headline_base else None
            ),
            "cold_start_s": round(cold, 4),
            "load_s": round(load, 2),
            "database_cached": cached,
            "target_seconds": TARGET_SECONDS,
        },
    }


def run(teams: int = TEAMS, answers: int = ANSWERS, runs: int = RUNS) -> dict[str, Any]:
    """Run the benchmark and print one figure per line; returns the result record."""
    with tempfile.TemporaryDirectory(prefix="trustbot-bench-digest-") as tmp:
        result = asyncio.run(_run(Path(tmp) / "bench.db", teams, answers, runs))
    details = result["details"]
    print(f"answers stored: {details['answers_stored']:,} ({details['weeks']} weeks)")
    print(f"answers in the week: {details['answers_in_week']:,}")
    print(f"figure: {result['value']:.4f} s for {teams} digests (prepare, median of {runs})")
    print(f"baseline: {result['baseline']:.4f} s (hand-written GROUP BYs, the same figures)")
    print(f"ratio: {result['ratio']:.2f} (target <= {TARGET_RATIO:g}, and < {TARGET_SECONDS:g} s)")
    print(
        f"trust index GROUP BY alone: {details['headline_group_by_s']:.4f} s,"
        f" ratio {details['ratio_to_headline_group_by']:.2f}"
    )
    print(
        f"flat GROUP BY (means only): {details['flat_group_by_s']:.4f} s,"
        f" ratio {details['ratio_to_flat_group_by']:.2f}"
    )
    print(f"cold start (8 weeks per team frozen): {details['cold_start_s']:.4f} s")
    cached = "copied from the cache" if details["database_cached"] else "seeded and cached"
    print(f"database: {details['load_s']:.1f} s ({cached}: {cache_dir()})")
    print(f"met: {result['met']}")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__)
    parser.add_argument("--teams", type=int, default=TEAMS)
    parser.add_argument("--answers", type=int, default=ANSWERS)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = parser.parse_args(argv)
    result = run(teams=args.teams, answers=args.answers, runs=args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["met"] else 1)
