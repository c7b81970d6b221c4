"""W1: GET /v1/locate for random points over HTTP with 8 concurrent clients, against an `async def`
hello-world endpoint of the same app and the bare SQL lookup, all in the same run.

    .venv/bin/python -m bench.w1_locate [--scale 30] [--requests 3000]

--scale 313 loads ~1e5 cells (the workload's size); the default keeps a run to a few minutes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bench.common import bench_url, cli, ensure_database, summary, timed, uvicorn_servers, write_result
from gis.migrate import upgrade
from gis.models import AdminArea, GridCell
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


async def hammer(base: str, paths: list[str], concurrency: int) -> tuple[float, list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(paths)

    async def worker(client: httpx.AsyncClient) -> None:
        for path in queue:
            t0 = time.perf_counter()
            r = await client.get(path)
            latencies.append(time.perf_counter() - t0)
            statuses[r.status_code] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return wall, latencies, dict(statuses)


def run(scale: int = 30, requests: int = 3000, concurrency: int = 8, seed: int = 11) -> dict[str, Any]:
    from data.demo_load import load_demo

    url = bench_url()
    ensure_database(url)
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        have = session.scalar(select(func.count()).where(AdminArea.level == "community")) or 0
        if have != 8 * scale:
            load_demo(session, scale=scale, replace=True)
            session.commit()
            session.execute(text("ANALYZE"))
        cells = session.scalar(select(func.count()).where(GridCell.valid_to.is_(None)))
        x1, y1, x2, y2 = session.execute(
            select(
                func.ST_XMin(func.ST_Extent(GridCell.geom)),
                func.ST_YMin(func.ST_Extent(GridCell.geom)),
                func.ST_XMax(func.ST_Extent(GridCell.geom)),
                func.ST_YMax(func.ST_Extent(GridCell.geom)),
            )
        ).one()
        rng = random.Random(seed)
        points = [(x1 + rng.random() * (x2 - x1), y1 + rng.random() * (y2 - y1)) for _ in range(requests)]
        it = iter(points)
        sql = summary(
            timed(lambda: session.execute(LOOKUP_SQL, dict(zip(("lon", "lat"), next(it), strict=True))).all(), requests)
        )
    engine.dispose()

    with uvicorn_servers("bench.w1_locate:bench_app", url, ready_path="/bench/hello") as (port,):
        base = f"http://127.0.0.1:{port}"
        asyncio.run(
            hammer(
                base, ["/bench/hello"] * 200 + [f"/v1/locate?lon={points[0][0]}&lat={points[0][1]}"] * 50, concurrency
            )
        )  # warm-up
        hello_wall, hello_lat, _ = asyncio.run(hammer(base, ["/bench/hello"] * requests, concurrency))
        paths = [f"/v1/locate?lon={lon:.6f}&lat={lat:.6f}" for lon, lat in points]
        loc_wall, loc_lat, loc_err = asyncio.run(hammer(base, paths, concurrency))
    hello_rps = requests / hello_wall
    loc_rps = requests / loc_wall
    result = {
        "cells": cells,
        "concurrency": concurrency,
        "requests": requests,
        "hello_world": {"req_per_s": round(hello_rps, 1), **summary(hello_lat)},
        "locate": {"req_per_s": round(loc_rps, 1), "statuses": loc_err, **summary(loc_lat)},
        "bare_sql_lookup": sql,
        "ratio_locate_vs_hello": round(loc_rps / hello_rps, 3),
        "targets": {"ratio_min": 0.4, "p99_ms_max": 20},
        "note": "client and server share the machine's 2 cores; ratios matter, not absolute figures",
    }
    write_result("w1", result)
    return result


if __name__ == "__main__":
    cli(run, __doc__, scale=30, requests=3000, concurrency=8)
