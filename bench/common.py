"""Shared bench helpers: a separate bench database, timing, JSON results."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gis.db import ensure_database, sibling_database_url  # noqa: F401  (re-exported for the benches)

RESULTS = Path(__file__).resolve().parent / "results"


def bench_url() -> str:
    return sibling_database_url("bench", "GRIDGOV_BENCH_DATABASE_URL")


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary(latencies_s: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in latencies_s)
    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 3),
        "p50_ms": round(ms[len(ms) // 2], 3),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 3),
        "per_s": round(len(ms) / sum(latencies_s), 1) if sum(latencies_s) else 0.0,
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {"bench": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **result}
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    return path
