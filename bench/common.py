"""Shared bench helpers: a separate bench database, timing, JSON results."""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_servers(factory: str, database_url: str, *, ready_path: str = "/health", count: int = 1,
                    tries: int = 200) -> Iterator[list[int]]:  # fmt: skip
    """`count` single-worker uvicorn processes serving `factory` ("module:function") on free ports, waited for
    until `ready_path` answers 200; yields their ports and stops them afterwards.

    Several single-worker processes on their own ports (clients spread over them, as behind a reverse proxy),
    not `uvicorn --workers N`: its workers get no TCP_NODELAY on the inherited socket here, and every response
    then waits ~40 ms (Nagle / delayed ACK)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    ports = [free_port() for _ in range(count)]
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--log-level", "warning", "--no-access-log"]
    servers = [subprocess.Popen([*command, "--port", str(port)], env=env) for port in ports]
    try:
        for port in ports:
            for _ in range(tries):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{ready_path}").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
        yield ports
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(10)


def cli(run: Callable[..., Any], doc: str | None, **defaults: Any) -> None:
    """`python -m bench.wN --option value …`: one option per keyword of `run` (its default given here, a
    (default, help) pair for a documented one); prints the result as JSON."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, spec in defaults.items():
        default, help_text = spec if isinstance(spec, tuple) else (spec, None)
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            ap.add_argument(flag, action="store_true", help=help_text)
        else:
            ap.add_argument(flag, type=type(default), default=default, help=help_text)
    print(json.dumps(run(**vars(ap.parse_args())), ensure_ascii=False, indent=2, default=str))  # noqa: T201
