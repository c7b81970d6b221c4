"""The benchmark suite (`make bench`, not part of `make test`): every workload module bench/w<N>_*.py, in the
order of N, each with its reference measured in the same run; results in bench/results/*.json and a table of
ratios at the end.

Modules are discovered, not listed: a module takes part when it defines

- `run()`: called with `SUITE[name]` below, or its own `SUITE` dict, or its defaults (every parameter needs one
  of these) (the sizes that keep the whole suite under 20 minutes on 2 cores);
- or `main()` reading its own command line: called with `SUITE_ARGV` (its own list, or the one below).

Helper modules (w2_check, w2_profile, w2_variants: variants kept for the record) define neither and are
skipped. `python -m bench.run w3 w4` runs only those workloads (w1 is W1 only, not W10).
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# sizes for `make bench` (each module's own defaults, or its --help, give the full-size workload)
SUITE: dict[str, dict[str, Any]] = {
    "w1_locate": {"scale": 30, "requests": 3000},
    "w2_reanchor": {"points": 200_000, "side": 40},
    "w3_pages": {"scale": 30, "seconds": 8},
    "w4_tiles": {"tickets": 100_000, "seconds": 8},
    "w5_nearest": {"resources": 200_000, "queries": 300},
    "w6_operations_map": {"tickets": 100_000, "runs": 3},
    "w11_kpis": {"tickets": 200_000, "repeat": 2},
}
SUITE_ARGV: dict[str, list[str]] = {
    "w9_ingest": ["--seconds", "10"],
    "w10_rule": ["--workers", "200", "--fixes", "1440"],
}


def modules(prefixes: list[str]) -> list[str]:
    """bench/w<N>_*.py module names, by N then name, narrowed to `prefixes` when given."""
    found = []
    for path in HERE.glob("w*_*.py"):
        m = re.fullmatch(r"w(\d+)_\w+", path.stem)
        if m and (not prefixes or any(path.stem == p or path.stem.startswith(f"{p}_") for p in prefixes)):
            found.append((int(m.group(1)), path.stem))
    return [name for _, name in sorted(found)]


def _runnable(module: Any, given: dict[str, Any]) -> bool:
    """`run()` callable with the suite's sizes: every parameter has a default or a size in `given`."""
    run = getattr(module, "run", None)
    if not callable(run):
        return False
    params = inspect.signature(run).parameters.values()
    return all(p.default is not inspect.Parameter.empty or p.name in given for p in params)


def run_one(name: str) -> dict[str, Any] | None:
    """Run one workload module; None when it is a helper, not a workload."""
    module = importlib.import_module(f"bench.{name}")
    kwargs = getattr(module, "SUITE", None) or SUITE.get(name, {})
    if _runnable(module, kwargs):
        result: dict[str, Any] = module.run(**kwargs)
        return result
    if callable(getattr(module, "main", None)):
        argv = getattr(module, "SUITE_ARGV", None) or SUITE_ARGV.get(name, [])
        saved = sys.argv
        sys.argv = [f"bench.{name}", *argv]
        try:
            module.main()
        finally:
            sys.argv = saved
        written = HERE / "results" / f"{name.split('_')[0]}.json"
        return json.loads(written.read_text()) if written.is_file() else {}
    return None


def ratios(result: Any, prefix: str = "") -> dict[str, Any]:
    """Every headline figure (ratio, speed-up, target met) of a result, by path (`pages.cells_1000.ratio_vs_floor`)."""
    found: dict[str, Any] = {}
    if isinstance(result, dict):
        for key, value in result.items():
            path = f"{prefix}{key}"
            if key == "targets":
                continue
            if _headline(key) and not isinstance(value, dict | list):
                found[path] = value
            else:
                found.update(ratios(value, f"{path}."))
    return found


def _headline(key: str) -> bool:
    """The figures the summary prints: ratios, speed-ups and whether the target was met."""
    return "ratio" in key or key.startswith(("speedup", "meets_target", "interactive_under")) or key == "first_paint_s"


def main(prefixes: list[str]) -> None:
    table: list[tuple[str, float, dict[str, Any]]] = []
    for name in modules(prefixes):
        t0 = time.perf_counter()
        try:
            result = run_one(name)
        except Exception as exc:  # noqa: BLE001 - one broken workload must not hide the others' figures
            print(f"{name}: FAILED {type(exc).__name__}: {exc}", file=sys.stderr)  # noqa: T201
            table.append((name, time.perf_counter() - t0, {"failed": str(exc)[:80]}))
            continue
        if result is None:
            continue
        table.append((name, time.perf_counter() - t0, ratios(result)))
    print("\n== bench summary (ratios against the reference measured in the same run) ==")  # noqa: T201
    for name, seconds, found in table:
        print(f"{name} ({seconds:.0f} s)")  # noqa: T201
        for path, value in found.items():
            print(f"    {path}: {value}")  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1:])
