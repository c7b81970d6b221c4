"""W1: GET /v1/locate for points all over the 街道 over HTTP with `wrk` (8 connections), against an `async def`
hello-world endpoint of the same app, the locate statement itself through `pgbench` and the bare SQL lookup, all
in the same run; then the same with `uvicorn --workers 2` (scaling from 1 to 2 processes).

    .venv/bin/python -m bench.w1_locate [--scale 30] [--requests 3000] [--seconds 8]

--scale 313 loads ~1e5 cells (the workload's size); the default keeps a run to a few minutes.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bench.common import (
    bench_url,
    cli,
    ensure_demo,
    inline,
    pgbench,
    summary,
    timed,
    uvicorn_servers,
    write_result,
    wrk,
)
from gis.locate_json import _LOCATE_JSON, locate_params
from gis.models import GridCell
from gis.spatial import COVERING_CELL_SQL, POINT_SQL, at_param

# the bare by-location rule (live cells), the same fragment locate and intake run
LOOKUP_SQL = text(f"SELECT code FROM ({COVERING_CELL_SQL.format(point=POINT_SQL)}) AS cell").bindparams(at_param())


def bench_app() -> Any:
    """The real app plus a hello-world reference route (uvicorn --factory bench.w1_locate:bench_app)."""
    from api.app import create_app

    app = create_app()

    @app.get("/bench/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


LUA = """
local points = {%(points)s}
local i = 0
request = function()
  i = i %% #points + 1
  return wrk.format("GET", "/v1/locate?lon=" .. points[i][1] .. "&lat=" .. points[i][2])
end
"""
# one point inside each of n live cells (deterministic): every request finds a cell, as a QR code's scan does
POINTS_SQL = text(
    "SELECT ST_X(pt), ST_Y(pt) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 1, 11))).geom AS pt FROM grid_cells "
    "WHERE valid_to IS NULL ORDER BY md5(code) LIMIT :n) AS s"
)


def measure(port: int, script: str, seconds: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    wrk(base + "/bench/hello", seconds=2)  # warm-up: both code paths, the pool
    wrk(base, seconds=2, script=script)
    hello = wrk(base + "/bench/hello", seconds=seconds)
    located = wrk(base, seconds=seconds, script=script)
    return {
        "hello_world": hello,
        "locate": located,
        "ratio_locate_vs_hello": round(located["req_per_s"] / hello["req_per_s"], 3) if hello["req_per_s"] else None,
    }


def run(scale: int = 30, requests: int = 3000, seconds: int = 8, seed: int = 11) -> dict[str, Any]:
    url = bench_url()
    ensure_demo(url, scale)
    engine = create_engine(url)
    with Session(engine) as session:
        cells = session.scalar(select(func.count()).where(GridCell.valid_to.is_(None)))
        points = [tuple(p) for p in session.execute(POINTS_SQL, {"n": requests}).all()]
        it = itertools.cycle(points)
        sql = summary(
            timed(lambda: session.execute(LOOKUP_SQL, dict(zip(("lon", "lat"), next(it), strict=True))).all(), requests)
        )
    engine.dispose()
    lon, lat = points[0]
    floor_sql = inline(_LOCATE_JSON, {**locate_params(lon, lat), "dow": 0, "hhmm": "10:00"})
    locate_floor = pgbench(url, floor_sql, seconds=seconds)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % {"points": ",".join(f"{{{x:.6f},{y:.6f}}}" for x, y in points)})
    by_workers = {}
    for workers in (1, 2):
        with uvicorn_servers("bench.w1_locate:bench_app", url, ready_path="/bench/hello", workers=workers) as (port,):
            by_workers[workers] = measure(port, f.name, seconds)
    os.unlink(f.name)
    one = by_workers[1]
    result = {
        "cells": cells,
        "seconds": seconds,
        "connections": 8,
        **one,
        "locate_statement_pgbench_per_s": locate_floor,
        "ratio_locate_vs_its_statement": round(one["locate"]["req_per_s"] / locate_floor, 3) if locate_floor else None,
        "bare_sql_lookup": sql,
        "workers_2": by_workers[2],
        "scaling_1_to_2_workers": round(by_workers[2]["locate"]["req_per_s"] / one["locate"]["req_per_s"], 2)
        if one["locate"]["req_per_s"]
        else None,
        "targets": {"ratio_min": 0.4, "p99_ms_max": 20},
        "note": "wrk (2 threads, 8 connections); wrk, server and PostgreSQL share the machine's cores",
    }
    write_result("w1", result)
    return result


if __name__ == "__main__":
    cli(run, __doc__, scale=30, requests=3000, seconds=8)
