"""``trustbot demo``: the whole product offline, on embedded defaults, in one command.

A local Slack emulator, the real app on loopback, SQLite in the output folder, and a simulated
team answering several weeks of check-ins and deal nudges by clicking the DMs the app posts.
It prints one rep's DMs and every weekly digest as they read in Slack, and writes the chart
images, ``transcript.jsonl`` (all Slack traffic) and ``trustbot.db`` to ``--out``::

    trustbot demo [--weeks 6] [--team-size 8] [--out demo-out] [--seed 7] [--transport http]

The CLI registers the options with :func:`add_arguments` and calls :func:`main`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.demo.personas import MAX_TEAM, MIN_TEAM

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "main"]

HELP = "the whole product offline: a simulated team, several weeks, digests and charts"
DESCRIPTION = (
    "Run Trustbot offline against its local Slack emulator, with SQLite in --out: an admin "
    "sets up a team with /trust, simulated reps answer weekly check-ins and deal nudges by "
    "clicking the DMs the app posts, and a clock is moved week by week. Prints one rep's DMs "
    "and each weekly digest, and writes the chart images, transcript.jsonl (all Slack "
    "traffic) and trustbot.db to --out. Needs no Slack account and no network."
)


def _bounded(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low} and {high}")
        return value

    parse.__name__ = what
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options, for ``trustbot demo`` (or a parser of its own)."""
    parser.add_argument(
        "--weeks",
        type=_bounded(1, 52, "weeks"),
        default=6,
        help="how many weeks to simulate (default 6)",
    )
    parser.add_argument(
        "--team-size",
        type=_bounded(MIN_TEAM, MAX_TEAM, "team size"),
        default=8,
        help=f"how many reps, {MIN_TEAM}-{MAX_TEAM}, each in their own time zone (default 8)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        help="folder for the charts, transcript.jsonl and trustbot.db (default demo-out)",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of the simulation; same seed, same run"
    )
    parser.add_argument(
        "--transport",
        choices=["http", "socket"],
        default="http",
        help="how the emulator reaches the app: signed HTTP or Socket Mode (default http)",
    )


def main(args: argparse.Namespace | None = None, argv: list[str] | None = None) -> int:
    """Run the demo; 0 on success, 1 when it could not finish (the reason on stderr)."""
    started = time.monotonic()
    if args is None:
        parser = argparse.ArgumentParser(prog="trustbot demo", description=DESCRIPTION)
        add_arguments(parser)
        args = parser.parse_args(argv)
    from rich.console import Console

    from bot.demo.model import DemoError, Options
    from bot.demo.runner import run

    options = Options(
        weeks=args.weeks,
        team_size=args.team_size,
        out=Path(args.out),
        seed=args.seed,
        transport=args.transport,
    )
    try:
        outcome = run(options, Console(highlight=False), started=started)
    except DemoError as error:
        print(f"trustbot: demo: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"trustbot: demo: {error}", file=sys.stderr)
        return 1
    return 0 if outcome.digests else 1
