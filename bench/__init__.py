"""Benchmarks a user can run: ``python -m bench`` (all) or ``python -m bench <name> [options]``.

Each module with ``main(argv) -> dict`` prints its figure, the baseline measured (or set) in
the same run and the ratio, and returns ``{name, value, unit, baseline, ratio, target, met,
details}``; ``python -m bench`` merges the records into ``bench/results.json``.
"""
