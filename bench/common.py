"""Shared bench helpers: a separate bench database, timing, JSON results."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url
from sqlalchemy.orm import Session

from gis.db import ensure_database, sibling_database_url  # noqa: F401  (re-exported for the benches)

RESULTS = Path(__file__).resolve().parent / "results"


def bench_url(workload: str | None = None) -> str:
    """The bench database (the demo 街道 at the suite's scale); a workload that builds a synthetic 街道 of its own
    passes its name and gets a database of its own (`…_bench_w6`), so it never changes what the others read."""
    url = sibling_database_url("bench", "GRIDGOV_BENCH_DATABASE_URL")
    if workload is None:
        return url
    u = make_url(url)
    return u.set(database=f"{u.database}_{workload}").render_as_string(hide_password=False)


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
                    tries: int = 200, workers: int = 1) -> Iterator[list[int]]:  # fmt: skip
    """`count` uvicorn processes serving `factory` ("module:function") on free ports, waited for until
    `ready_path` answers 200; yields their ports and stops them afterwards. `workers` > 1 runs
    `uvicorn --workers N` in each (what `gridgov serve --workers N` does).

    A ~40 ms wait per request seen earlier with `--workers 2` is not the server's: uvloop sets TCP_NODELAY on
    every accepted connection, with or without --workers. It is Nagle's algorithm in a client that writes a
    request in two pieces (headers, then body) without TCP_NODELAY, waiting for the server's delayed ACK:
    47.8 ms a request with such a client, 0.54 ms with TCP_NODELAY set, the same with 1 or 2 workers
    (docs/serving.md). wrk and httpx (measured) do not stall so."""
    env = {**os.environ, "DATABASE_URL": database_url}
    ports = [free_port() for _ in range(count)]
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--log-level", "warning", "--no-access-log"]
    if workers > 1:
        command += ["--workers", str(workers)]
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


def token_page(browser: Any, token: str, height: int = 800) -> tuple[Any, Any, list[str]]:
    """(context, page, console errors): a fresh Chromium context signed in with `token` (as gg_auth.js stores it),
    1280 px wide, zh-CN, its console errors collected."""
    context = browser.new_context(viewport={"width": 1280, "height": height}, locale="zh-CN")
    context.add_init_script(f"localStorage.setItem('gridgov.token', {token!r});")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page, errors


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


def ensure_demo(url: str, scale: int) -> None:
    """The bench database migrated and holding the demo 街道 at `scale` (8 × scale communities; loaded when
    another scale is there)."""
    from sqlalchemy import create_engine, func, select, text

    from data.demo import DISTRICT_CODE
    from data.demo_load import load_demo
    from gis.migrate import upgrade
    from gis.models import AdminArea

    ensure_database(url)
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        # the demo's own communities: W2, W7, W9 and W10 add synthetic ones of their own beside it
        demo = (AdminArea.level == "community", AdminArea.code.startswith(DISTRICT_CODE))
        have = session.scalar(select(func.count()).where(*demo)) or 0
        if have != 8 * scale:
            load_demo(session, scale=scale, replace=True)
            session.commit()
            session.execute(text("ANALYZE"))
            session.commit()
    engine.dispose()


def admin_token(url: str, username: str = "bench-admin") -> str:
    """A fresh bearer token of an admin account of the bench database (created once)."""
    from sqlalchemy import create_engine, select

    from gis.auth import create_user, login
    from gis.models import User

    engine = create_engine(url)
    with Session(engine) as session:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, username=username, password="bench-password", full_name="压测", role="admin")
        token, _ = login(session, username=username, password="bench-password")
        session.commit()
    engine.dispose()
    return token


def wrk(url: str, *, seconds: int = 8, connections: int = 8, headers: dict[str, str] | None = None,
        script: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Debian's `wrk` against `url` (2 threads): requests/s, latency p50/p99 in ms, non-2xx count."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float | None:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            return None
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)], 2)

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "req_per_s": float(rps.group(1)) if rps else 0.0,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def pgbench(url: str, sql: str, *, seconds: int = 8, clients: int = 8) -> float:
    """Transactions/s of one SQL statement run by `pgbench` (prepared, `clients` connections, 2 threads): the
    floor a server answering with that statement could reach here."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql.strip().rstrip(";") + ";\n")
    command = ["pgbench", "-n", "-M", "prepared", f"-c{clients}", "-j2", f"-T{seconds}", "-f", f.name]
    command += ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "", u.database or ""]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    os.unlink(f.name)
    m = re.search(r"tps = ([\d.]+)", out)
    return round(float(m.group(1)), 1) if m else 0.0


def sql_literal(value: Any) -> str:
    """A bound value written into SQL for `pgbench` scripts (bench data only: strings, numbers, lists)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "ARRAY[" + ",".join(sql_literal(v) for v in value) + "]::text[]"
    return "'" + str(value).replace("'", "''") + "'"


def inline(sql: str, params: dict[str, Any], pgbench_vars: tuple[str, ...] = ()) -> str:
    """psycopg `%(name)s` SQL with the values written in (and `pgbench_vars` left as pgbench's `:name`)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return f":{name}" if name in pgbench_vars else sql_literal(params[name])

    return re.sub(r"%\((\w+)\)s", sub, sql).replace("%%", "%")


def tool_venv(path: Path, *requirements: str) -> Path:
    """A separate virtualenv with `requirements` (a reference server such as tipg, kept apart from the
    project's own dependencies); made once. Returns its bin directory."""
    bin_dir = path / "bin"
    marker = path / ".installed"
    wanted = " ".join(requirements)
    if not marker.is_file() or marker.read_text() != wanted:
        if not bin_dir.is_dir():
            subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *requirements], check=True)
        marker.write_text(wanted)
    return bin_dir


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
