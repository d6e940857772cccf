"""Digests: the weekly figures of 200 teams over 1,000,000 stored answers.

A SQLite file gets 200 teams of 10 reps and a manager with the history of the weeks up to
the measured one (check-in rounds, their DMs, answers to the week's rotating questions under
each rep's weekly pseudonym, deal-moment nudge answers, shared notes, managers' estimates),
seeded through the product's own functions (:mod:`bench._history`). The seeded file is kept
in a cache directory keyed by size and schema (see :mod:`bench._common`), and each run works
on a copy. The seven weeks before the measured one are published first, as the weekly job
would have done.

Then, in the same run and on the same async engine:

* the figure: :func:`bot.digests.prepare` for all 200 teams' latest week: every aggregate
  (participation, trust index with distribution, goal mix, moments, perception gap, notes),
  the k rule within and across teams, the trend from the stored figures, and the frozen
  ``Digest`` rows written;
* the baseline: the same figures written by hand as plain SQL GROUP BYs over the same week.
  Answers name no team, so the baseline too reads the week's rounds, computes their reps'
  weekly pseudonyms with the key and loads them into a temporary ``members (who, team_id)``
  table, which each statement joins (one statement per figure: the trust index per team and
  dimension with respondents, mean and the per-person distribution; asked; answered; goal mix
  and the team's side of the perception gap; managers' estimates; deal moments; shared notes);
* for reference, the trust index statement alone, and the flat ``GROUP BY team_id,
  dimension`` (means and answer counts only), both over the same ``members`` table;
* for reference too, once: the next week, which ends a 4-week block. The measured week
  carries the blocks of weeks its teams counted before; a week that ends a block counts the
  new block for every team too thin to show its own goal mix or deal moments.

Each is the median of ``--runs`` runs (the week's digests are deleted between runs). Prints
the figure, the baseline and the ratio (target at most 3, and under 2 s in all), and
returns ``{name, value, unit, baseline, ratio, target, met, details}``.

    python -m bench.digest [--teams 200] [--answers 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel import select as select_rows

from bench import _history as history
from bench._common import cache_dir, cli, seeded_copy
from bot.core import digests
from bot.core.prompts import GOAL_PROMPT_ID, default_bank
from bot.runtime.clock import ManualClock
from bot.runtime.pseudonyms import Pseudonyms
from bot.storage import Database
from bot.storage.models import CheckinRound, Digest, Response, Team

NAME = "digest_200_teams"
TEAMS = 200
ANSWERS = 1_000_000
RUNS = 5
TARGET_RATIO = 3.0
TARGET_SECONDS = 2.0
WEEK = history.WEEK
LATEST = date(2026, 11, 16)  # the measured week
WORKSPACE = history.WORKSPACE


HEADLINE_SQL = """
SELECT team_id, dimension, COUNT(*) AS people, SUM(s) * 1.0 / SUM(n) AS mean,
       SUM(b = 1), SUM(b = 2), SUM(b = 3), SUM(b = 4), SUM(b = 5)
FROM (SELECT team_id, dimension, pseudonym, SUM(score) AS s, COUNT(score) AS n,
             (2 * SUM(score) + COUNT(score)) / (2 * COUNT(score)) AS b
      FROM response JOIN members ON who = pseudonym
      WHERE period_start = :week AND moment IS NULL
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
SELECT team_id, COUNT(DISTINCT pseudonym) FROM response JOIN members ON who = pseudonym
WHERE period_start = :week
GROUP BY team_id
""",
    # goal mix and the team's side of the perception gap: one choice / one mean per person
    """
SELECT team_id, prompt_id, v, agree, COUNT(*)
FROM (SELECT team_id, prompt_id, pseudonym, MIN(value) AS v,
             SUM(score) >= 4 * COUNT(score) AS agree
      FROM response JOIN members ON who = pseudonym
      WHERE period_start = :week AND moment IS NULL
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
FROM response JOIN members ON who = pseudonym
WHERE period_start = :week AND moment IS NOT NULL
GROUP BY team_id, moment
""",
    # deal moments: each question's answers and people
    """
SELECT team_id, moment, prompt_id, value, COUNT(*), COUNT(DISTINCT pseudonym)
FROM response JOIN members ON who = pseudonym
WHERE period_start = :week AND moment IS NOT NULL
GROUP BY team_id, moment, prompt_id, value
""",
    # shared notes
    """
SELECT team_id, text FROM note JOIN members ON who = pseudonym
WHERE period_start = :week AND shared
""",
)
"""The baseline: every figure the digest computes, written by hand as plain GROUP BYs, one
statement per figure (no ORM, no Python over rows). What it leaves to the digest: the k rule,
the trend (read from the stored figures), the coaching focus and storing the result."""

FLAT_SQL = """
SELECT team_id, dimension, COUNT(DISTINCT pseudonym), AVG(score),
       SUM(score = 1), SUM(score = 2), SUM(score = 3), SUM(score = 4), SUM(score = 5)
FROM response JOIN members ON who = pseudonym
WHERE period_start = :week AND moment IS NULL AND score IS NOT NULL
GROUP BY team_id, dimension
"""
"""For reference: the flat GROUP BY (means and answer counts, no per-person distribution)."""

MEMBERS = (
    "CREATE TEMP TABLE IF NOT EXISTS members"
    " (who TEXT, team_id INTEGER, PRIMARY KEY (who, team_id))"
)


async def _members(conn: AsyncConnection, week: date) -> None:
    """Fill the temporary ``members`` table: each team's round's reps (not its managers) as
    their pseudonyms of ``week`` (computed with the key, as the product does)."""
    weekly = Pseudonyms(history.KEY).weekly
    rounds = await conn.execute(
        text(
            "SELECT team_id, workspace_id, reps, managers FROM checkinround"
            " WHERE period_start = :week"
        ),
        {"week": week},
    )
    pairs = [
        {"who": weekly(workspace, user, week), "team_id": team}
        for team, workspace, reps, managers in rounds
        for user in set(json.loads(reps)) - set(json.loads(managers))
    ]
    await conn.exec_driver_sql(MEMBERS)
    await conn.exec_driver_sql("DELETE FROM members")
    await conn.execute(text("INSERT INTO members VALUES (:who, :team_id)"), pairs)


def _hand_written(sql: str) -> Any:
    lists = [name for name in ("ids", "scales", "choices") if f":{name}" in sql]
    return text(sql).bindparams(*(bindparam(name, expanding=True) for name in lists))


async def _time(work: Any) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


def _make(path: Path, teams: int, answers: int) -> dict[str, Any]:
    """A migrated database with ``teams`` teams and ``answers`` answers (no digests yet)."""
    return history.seed(path, teams, answers, LATEST)


async def _run(path: Path, teams: int, answers: int, runs: int) -> dict[str, Any]:
    url = f"sqlite:///{path}"
    load_start = time.perf_counter()
    key = f"digest-v{history.SEED_VERSION}-{teams}t-{answers}a"
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
        rt = history.runtime(db, clock)

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

        def hand_written(*sql: str) -> Any:
            statements = [_hand_written(one) for one in sql]

            async def run() -> None:
                async with db.engine.connect() as conn:
                    await _members(conn, LATEST)
                    for statement in statements:
                        (await conn.execute(statement, params)).all()

            return run

        baseline = hand_written(*BASELINE_SQL)
        headline_only = hand_written(HEADLINE_SQL)
        flat = hand_written(FLAT_SQL)

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
        # one week in four a new 4-week block is over, and thin teams count it once (the
        # weeks between carry it): that week's cost, measured once (it has no answers yet)
        clock.advance(WEEK)
        block_week = await _time(lambda: digests.prepare(rt, [(t, LATEST + WEEK) for t in rows]))
        async with db.engine.connect() as conn:
            week_rows = (
                await conn.execute(select(func.count()).where(col(Response.period_start) == LATEST))
            ).scalar_one()
            stored = (
                await conn.execute(select(func.count()).where(col(Digest.period_start) == LATEST))
            ).scalar_one()
            weeks = (
                await conn.execute(
                    select(func.count(func.distinct(col(CheckinRound.period_start))))
                )
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
            "weeks": int(weeks),
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
            "block_week_s": round(block_week, 4),
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
    print(f"a week that ends a 4-week block (counted once): {details['block_week_s']:.4f} s")
    cached = "copied from the cache" if details["database_cached"] else "seeded and cached"
    print(f"database: {details['load_s']:.1f} s ({cached}: {cache_dir()})")
    print(f"met: {result['met']}")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__)
    parser.add_argument("--teams", type=int, default=TEAMS)
    parser.add_argument("--answers", type=int, default=ANSWERS)
    parser.add_argument("--runs", type=int, default=RUNS)
    return cli(parser, run, argv)


if __name__ == "__main__":
    sys.exit(0 if main()["met"] else 1)
