"""Patrol fix tiles (gis.patrol.tiles) on a bench day, with and without a GiST index on patrol_fixes.geom: the
measurement behind the choice of docs/patrols.md ("Patrol tiles").

    .venv/bin/python -m bench.patrol_tiles [--workers 300] [--days 4] [--runs 7] [--keep]

In the bench database: the synthetic 街道 of bench.w10_rule (25 × 20 compounds, ~5 × 4 km), `workers` workers ×
2,880 fixes (10 s) on the bench day and on each of `days - 1` days before it (a table holding history, as in
production). Tile statements of gis.patrol.tiles (the one the endpoint runs) on the read engine (generic plans,
as served) at z12 / z14 / z16 over the area's centre, for everyone (admin), a community's 30 workers and one
worker; median of `runs` after one warm-up. Then the same with `CREATE INDEX … USING gist (geom)`.
Prints a JSON result (not written to bench/results: the lead's suite does not run it).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import time
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import bench_url, ensure_database
from bench.w10_rule import COLS, DAY, KX, KY, OX, OY, ROWS, SIDE_M, STREET_M, tracks
from gis.db import read_engine_for, read_row
from gis.migrate import upgrade
from gis.patrol import access
from gis.patrol.tiles import FIX_INTERVAL_S, MAX_FEATURES, SQL_ALL, SQL_USERS, sample_s

PREFIX = "pt-"
GIST = "CREATE INDEX IF NOT EXISTS ix_bench_patrol_fixes_geom ON patrol_fixes USING gist (geom)"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def load(s: Session, workers: int, days: int) -> list[int]:
    s.execute(text("DELETE FROM patrols WHERE client_key LIKE 'pt-bench-%'"))
    s.execute(text("DELETE FROM users WHERE username LIKE 'pt-%'"))
    s.commit()
    uids = list(s.execute(text(
        "INSERT INTO users (username, password_hash, full_name, role, created_at) SELECT 'pt-' || g, 'x', "
        "'pt', 'grid_worker', now() FROM generate_series(1, :n) AS g RETURNING id"), {"n": workers}
    ).scalars())  # fmt: skip
    df = tracks(workers, 2880, np.random.default_rng(16))
    raw = s.connection().connection.dbapi_connection
    for d in range(days):
        start, _ = access.day_bounds(DAY - timedelta(days=d))
        day = {"u": uids, "k": f"pt-bench-{d}", "s": start, "e": start + timedelta(hours=20)}
        pids = s.execute(text(
            "INSERT INTO patrols (user_id, client_key, started_at, ended_at) SELECT u, :k, :s, :e "
            "FROM unnest(CAST(:u AS int[])) AS u RETURNING id"), day).scalars().all()  # fmt: skip
        pid = np.array(pids)[df.w.to_numpy()]
        ts = pd.to_datetime(start.timestamp() + df.k * float(FIX_INTERVAL_S), unit="s", utc=True)
        wkt = "SRID=4326;POINT(" + df.lon.astype(str) + " " + df.lat.astype(str) + ")"
        buf = io.StringIO()
        pd.DataFrame({"p": pid, "t": ts.astype(str), "g": wkt, "a": df.acc}).to_csv(
            buf, sep="\t", header=False, index=False
        )
        with raw.cursor() as cur, cur.copy("COPY patrol_fixes (patrol_id, t, geom, accuracy_m) FROM STDIN") as cp:
            cp.write(buf.getvalue())
        s.commit()
    s.execute(text("ANALYZE patrol_fixes"))
    s.commit()
    return uids


def measure(url: str, uids: list[int], runs: int) -> dict[str, Any]:
    engine = read_engine_for(url)
    start, end = access.day_bounds(DAY)
    cx = OX + COLS * (SIDE_M + STREET_M) / 2 / KX
    cy = OY + ROWS * (SIDE_M + STREET_M) / 2 / KY
    who = {"all": None, "community_30": uids[:30], "one_worker": uids[:1]}
    out: dict[str, Any] = {}
    for z in (12, 14, 16):
        x, y = tile_of(cx, cy, z)
        for name, users in who.items():
            params: dict[str, Any] = {
                "z": z, "x": x, "y": y, "start": start, "end": end,
                "every": sample_s(z) // FIX_INTERVAL_S, "cap": MAX_FEATURES, "cap1": MAX_FEATURES + 1,
            }  # fmt: skip
            if users is not None:
                params["users"] = users
            sql = SQL_ALL if users is None else SQL_USERS
            times, row = [], None
            for i in range(runs + 6):  # psycopg prepares on the 5th run: the generic plan served is timed
                t0 = time.perf_counter()
                row = read_row(engine, sql, params)
                if i >= 6:
                    times.append(time.perf_counter() - t0)
            assert row is not None
            out[f"z{z} {name}"] = {
                "ms": round(statistics.median(times) * 1000, 1),
                "features": min(int(row[1]), MAX_FEATURES),
                "truncated": int(row[1]) > MAX_FEATURES,
                "kb": round(len(row[0] or b"") / 1024, 1),
            }
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=300)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the data (and no index) for bench.w9_ingest runs")
    ap.add_argument("--reuse", action="store_true", help="measure the data a --keep run left")
    args = ap.parse_args()
    url = bench_url()
    ensure_database(url)
    upgrade(url)
    eng = create_engine(url)
    with Session(eng) as s:
        t0 = time.perf_counter()
        if args.reuse:
            uids = list(s.execute(text("SELECT id FROM users WHERE username LIKE 'pt-%' ORDER BY id")).scalars())
        else:
            uids = load(s, args.workers, args.days)
        load_s = time.perf_counter() - t0
        s.execute(text("DROP INDEX IF EXISTS ix_bench_patrol_fixes_geom"))
        s.commit()
        n = s.execute(text("SELECT count(*) FROM patrol_fixes")).scalar_one()
    result: dict[str, Any] = {"workers": len(uids), "days": args.days, "fixes_in_table": n, "load_s": round(load_s, 1)}
    result["no_index"] = measure(url, uids, args.runs)
    with Session(eng) as s:
        t0 = time.perf_counter()
        s.execute(text(GIST))
        s.execute(text("ANALYZE patrol_fixes"))
        s.commit()
        result["gist_build_s"] = round(time.perf_counter() - t0, 1)
        result["gist_mb"] = round(
            s.execute(text("SELECT pg_relation_size('ix_bench_patrol_fixes_geom')")).scalar_one() / 2**20, 1
        )
    result["gist"] = measure(url, uids, args.runs)
    with Session(eng) as s:
        s.execute(text("DROP INDEX IF EXISTS ix_bench_patrol_fixes_geom"))
        if not args.keep:
            s.execute(text("DELETE FROM patrols WHERE client_key LIKE 'pt-bench-%'"))
            s.execute(text("DELETE FROM users WHERE username LIKE 'pt-%'"))
        s.commit()
    eng.dispose()
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
