"""Run the benchmarks and collect their results.

    python -m bench                       every benchmark, default sizes
    python -m bench fanout --reps 500     one benchmark, with its own options
    python -m bench --results PATH ...    where to merge the results (default bench/results.json)
    python -m bench --no-save ...         print only

A benchmark is a module of this package with ``main(argv) -> dict``; each record
``{name, value, unit, baseline, ratio, target, met, details}`` is merged into the results
file under the module's name, and a table of all of them is printed at the end. Exits 1
when a target was missed.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import bench

RESULTS = Path(__file__).with_name("results.json")

Main = Callable[[list[str]], dict[str, Any]]


def benchmarks() -> dict[str, Main]:
    """Every module of the package that has a ``main``, by name."""
    found: dict[str, Main] = {}
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "main", None)):
            found[info.name] = module.main
    return found


def save(path: Path, results: dict[str, dict[str, Any]]) -> None:
    try:
        merged = json.loads(path.read_text())
    except (OSError, ValueError):
        merged = {}
    if not isinstance(merged, dict):  # not ours: start over
        merged = {}
    merged.update(results)
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def table(results: dict[str, dict[str, Any]]) -> Table:
    """One row per benchmark: name, figure, baseline, ratio, target, met."""
    grid = Table(title="Benchmarks")
    for column in ("benchmark", "value", "baseline", "ratio", "target", "met"):
        grid.add_column(column, justify="left" if column == "benchmark" else "right")
    for key, r in results.items():
        unit = r.get("unit") or ""
        met = r.get("met")
        grid.add_row(
            f"{key}: {r.get('name', key)}",
            f"{_figure(r.get('value'))} {unit}".strip(),
            f"{_figure(r.get('baseline'))} {unit}".strip(),
            _figure(r.get("ratio")),
            _figure(r.get("target")),
            "[green]yes[/]" if met else "[red]no[/]",
        )
    return grid


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path: Path | None = RESULTS
    while args and args[0] in ("--results", "--no-save"):
        flag = args.pop(0)
        if flag == "--no-save":
            path = None
        elif args:
            path = Path(args.pop(0))
        else:
            sys.exit("--results needs a path")
    known = benchmarks()
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nbenchmarks: " + ", ".join(sorted(known)))
        return 0
    if args:
        name, options = args[0], args[1:]
        if name not in known:
            sys.exit(f"unknown benchmark {name!r}: choose from {', '.join(sorted(known))}")
        chosen = {name: options}
    else:
        chosen = {name: [] for name in sorted(known)}
    results: dict[str, dict[str, Any]] = {}
    for name, options in chosen.items():
        print(f"== {name}", flush=True)
        results[name] = known[name](options)
    if path is not None:
        save(path, results)
    Console().print(table(results))
    if path is not None:
        print(f"results merged into {path}")
    return 0 if all(r.get("met") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
