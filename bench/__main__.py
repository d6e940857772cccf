"""Run the benchmarks and collect their results.

    python -m bench                       every benchmark, default sizes
    python -m bench fanout --reps 500     one benchmark, with its own options
    python -m bench --results PATH ...    where to merge the results (default bench/results.json)
    python -m bench --no-save ...         print only

A benchmark is a module of this package with ``main(argv) -> dict``; each record
``{name, value, unit, baseline, ratio, target, met, details}`` is merged into the results
file under the module's name. Exits 1 when a target was missed.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    return 0 if all(r.get("met") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
