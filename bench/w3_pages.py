"""W3: OGC API items pages of 10, 100 and 1,000 features (cells and tickets) over HTTP with `wrk` (8
connections), against, in the same run: tipg (installed from PyPI in its own virtualenv, var/bench-tipg-venv)
serving the same tables, and the floor: the very statement gridgov runs for the page, through `pgbench`.

    .venv/bin/python -m bench.w3_pages [--scale 30] [--seconds 8]

The bench database holds the demo at --scale (W1's: 10,080 cells at 30). Targets: ≥ 0.5× the SQL floor at
1,000 features; ≥ 3× tipg at every size.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.common import (
    admin_token,
    bench_url,
    cli,
    ensure_demo,
    free_port,
    inline,
    pgbench,
    tool_venv,
    uvicorn_servers,
    write_result,
    wrk,
)
from gis.db import read_bind, session_factory
from gis.feature_json import COLLECTIONS, COUNT_CAP, _plan
from gis.settings import ROOT

TIPG = ("tipg==1.6.1", "uvicorn==0.54.0")
TIPG_VENV = ROOT / "var" / "bench-tipg-venv"
# collection → (tipg's table, the properties gridgov publishes, asked of tipg too)
TABLES = {
    "cells": ("public.grid_cells", "code,name,cell_type,households,population,valid_from,valid_to"),
    "tickets": (
        "public.tickets",
        "token,category,state,urgency,channel,address,cell_code,community_code,compound_code,tier,overdue,"
        "opened_at,due_at,resolved_at,closed_at",
    ),
}
SIZES = (10, 100, 1000)


def page_sql(url: str, layer: str, token: str, limit: int) -> str:
    """The statement gridgov runs for the first page of `limit` features, values written in (for pgbench)."""
    engine = create_engine(url)
    plan = _plan(read_bind(session_factory(engine)), COLLECTIONS[layer], token, (False, False, "", (), None), [])
    engine.dispose()
    params = {**plan.params, "limit": limit, "offset": 0, "cap": limit + COUNT_CAP, "codes": []}
    return inline(plan.sql, params)


@contextmanager
def tipg_server(url: str) -> Iterator[int]:
    """tipg on a free port over the bench database's public tables."""
    bin_dir = tool_venv(TIPG_VENV, *TIPG)
    port = free_port()
    database_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.grid_cells", "public.tickets"]',
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    command = [str(bin_dir / "uvicorn"), "tipg.main:app", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen([*command, "--no-access-log"], env=env)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/collections", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def run(scale: int = 30, seconds: int = 8) -> dict[str, Any]:
    url = bench_url()
    ensure_demo(url, scale)
    token = admin_token(url)
    auth = {"Authorization": f"Bearer {token}"}
    rows: dict[str, dict[str, Any]] = {}
    floors = {
        (layer, n): pgbench(url, page_sql(url, layer, token, n), seconds=seconds) for layer in TABLES for n in SIZES
    }
    with uvicorn_servers("api.app:app_factory", url) as (port,), tipg_server(url) as tipg_port:
        for layer, (table, props) in TABLES.items():
            for n in SIZES:
                ours_url = f"http://127.0.0.1:{port}/ogc/collections/{layer}/items?limit={n}"
                tipg_url = f"http://127.0.0.1:{tipg_port}/collections/{table}/items?limit={n}&properties={props}"
                httpx.get(ours_url, headers=auth, timeout=30)  # warm-up: the plan, the pool
                httpx.get(tipg_url, timeout=30)
                returned = httpx.get(ours_url, headers=auth, timeout=30).json()["numberReturned"]
                ours = wrk(ours_url, seconds=seconds, headers=auth)
                tipg = wrk(tipg_url, seconds=seconds)
                floor = floors[(layer, n)]
                rows[f"{layer}_{n}"] = {
                    "features": returned,
                    "gridgov": ours,
                    "tipg": tipg,
                    "sql_floor_per_s": floor,
                    "ratio_vs_floor": round(ours["req_per_s"] / floor, 3) if floor else None,
                    "ratio_vs_tipg": round(ours["req_per_s"] / tipg["req_per_s"], 2) if tipg["req_per_s"] else None,
                }
    result = {
        "scale": scale,
        "seconds": seconds,
        "pages": rows,
        "targets": {"ratio_vs_floor_at_1000_min": 0.5, "ratio_vs_tipg_min": 3.0},
        "note": "wrk 8 connections, pgbench 8 clients; server, tipg, PostgreSQL and the load share the cores",
    }
    write_result("w3", result)
    return result


if __name__ == "__main__":
    cli(run, __doc__, scale=30, seconds=8)
