"""Shared bench helpers: a separate bench database, timing, JSON results."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from gis.db import ensure_database  # noqa: F401  (re-exported for the benches)
from gis.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"


def bench_url() -> str:
    explicit = os.environ.get("GRIDGOV_BENCH_DATABASE_URL")
    if explicit:
        return explicit
    url = make_url(Settings().sqlalchemy_url)
    return url.set(database=f"{url.database}_bench").render_as_string(hide_password=False)


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
