"""W10: the nightly 定岗 rule for one 街道 day (700 workers × 2,880 fixes ≈ 2 M fixes, 500 compounds) in PostGIS
(gis.patrol.derive.site_minutes, what the nightly job runs) against a straightforward geopandas/shapely
reference computing the same answers (same hysteresis, distances in a local metric projection).

    .venv/bin/python -m bench.w10_rule [--workers 700] [--fixes 2880]

Synthetic 街道 in the bench database (its own area far from the demo; removed afterwards): 25 × 20 compounds of
150 m with 60 m streets between; each worker walks rings inside 2–5 compounds (10 s fixes) and the streets
between them. The day's month partition of patrol_fixes is created first (as the nightly partition job does).
Also reports the bytes per fix of patrol_fixes (heap + primary key + BRIN, summed over its partitions).
"""

from __future__ import annotations

import argparse
import io
import math
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import bench_url, ensure_database, write_result
from gis.migrate import upgrade
from gis.patrol import access, partitions
from gis.patrol.config import load_config
from gis.patrol.derive import ENTER_FIXES, site_minutes

OX, OY = 110.0, 35.0
SIDE_M, STREET_M = 150.0, 60.0
COLS, ROWS = 25, 20
KY = 110_950.0
KX = 111_320.0 * math.cos(math.radians(OY + 0.02))
DAY = date(2024, 6, 3)
PREFIX = "w10-"


def compounds() -> list[tuple[str, shapely.Polygon]]:
    out = []
    for i in range(COLS):
        for j in range(ROWS):
            x0, y0 = i * (SIDE_M + STREET_M), j * (SIDE_M + STREET_M)
            poly = shapely.box(OX + x0 / KX, OY + y0 / KY, OX + (x0 + SIDE_M) / KX, OY + (y0 + SIDE_M) / KY)
            out.append((f"W10X{i:02d}{j:02d}", poly))
    return out


def tracks(n_workers: int, n_fixes: int, rng: np.random.Generator) -> pd.DataFrame:
    """Per worker: visit a few compounds, walking a ring inside each (metres from the origin, then degrees)."""
    frames = []
    for w in range(n_workers):
        xs, ys = [], []
        stays = rng.integers(2, 6)
        per = n_fixes // stays
        for _ in range(stays):
            i, j = rng.integers(0, COLS), rng.integers(0, ROWS)
            cx, cy = i * (SIDE_M + STREET_M) + SIDE_M / 2, j * (SIDE_M + STREET_M) + SIDE_M / 2
            r = rng.uniform(20, 70)  # ring radius: 5–55 m from the edge; some stays end at the gate
            a = np.linspace(0, rng.uniform(4, 20) * np.pi, per)
            jitter = rng.normal(0, 4, size=(2, per))
            # the first and last quarter of a stay walk in from / out to the street below the compound
            k = np.arange(per)
            walk = np.clip(np.minimum(k, per - 1 - k) / (per / 4), 0, 1)
            xs.append(cx + r * np.cos(a) * walk + jitter[0])
            ys.append(cy + r * np.sin(a) * walk - (1 - walk) * (SIDE_M / 2 + 20) + jitter[1])
        x, y = np.concatenate(xs)[:n_fixes], np.concatenate(ys)[:n_fixes]
        frames.append(pd.DataFrame({"w": w, "k": np.arange(len(x)), "x": x, "y": y}))
    df = pd.concat(frames, ignore_index=True)
    df["lon"], df["lat"] = OX + df.x / KX, OY + df.y / KY
    df["acc"] = 6.0
    return df


def reference(
    df: pd.DataFrame, comps: list[tuple[str, shapely.Polygon]], start_s: float
) -> dict[tuple[int, str], float]:
    """The same rule with geopandas/shapely: nearest compound within exit_m, deep/band, runs, gaps."""
    rule = load_config().rule
    polys_m = [shapely.affinity.scale(shapely.affinity.translate(p, -OX, -OY), KX, KY, origin=(0, 0)) for _, p in comps]
    codes = np.array([c for c, _ in comps])
    tree = shapely.STRtree(polys_m)
    pts = shapely.points(((df.lon - OX) * KX).to_numpy(), ((df.lat - OY) * KY).to_numpy())
    idx_pt, idx_poly = tree.query(pts, predicate="dwithin", distance=rule.exit_m)
    pairs = pd.DataFrame({"i": idx_pt, "p": idx_poly})
    pairs["d0"] = shapely.distance(np.array(polys_m)[pairs.p], pts[pairs.i])
    pairs = pairs.sort_values(["i", "d0", "p"]).drop_duplicates("i")
    band = np.full(len(df), None, dtype=object)
    deep = np.zeros(len(df), dtype=bool)
    poly_arr = np.array(polys_m)[pairs.p.to_numpy()]
    pi = pairs.i.to_numpy()
    inside = shapely.covers(poly_arr, pts[pi])
    dist = shapely.distance(shapely.boundary(poly_arr), pts[pi])
    ok = inside | (dist <= rule.exit_m)
    band[pi[ok]] = codes[pairs.p.to_numpy()[ok]]
    deep[pi] = inside & (dist >= np.maximum(rule.enter_m, df.acc.to_numpy()[pi]))
    d = df[["w", "k"]].copy()
    d["band"], d["deep"] = band, deep
    d["t"] = start_s + d.k * 10.0
    prev = d.groupby("w").band.shift()
    d["run"] = (d.band.fillna("") != prev.fillna("")).astype(int).groupby(d.w).cumsum()
    d["inside"] = d.band.notna() & (d.groupby(["w", "run"]).deep.cumsum() >= ENTER_FIXES)
    g = d.groupby("w")
    d["t_next"], d["next_inside"], d["next_band"] = g.t.shift(-1), g.inside.shift(-1), g.band.shift(-1)
    ok = d.inside & (d.next_inside == True) & (d.next_band == d.band) & (d.t_next - d.t <= rule.max_gap_s)  # noqa: E712
    d = d[ok]
    sums = ((d.t_next - d.t) / 60.0).groupby([d.w, d.band]).sum()
    return {(int(w), str(b)): round(float(m), 1) for (w, b), m in sums.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=700)
    ap.add_argument("--fixes", type=int, default=2880)
    ap.add_argument("--keep", action="store_true", help="leave the synthetic 街道 in the bench database")
    args = ap.parse_args()
    url = bench_url()
    ensure_database(url)
    upgrade(url)
    eng = create_engine(url)
    comps = compounds()
    rng = np.random.default_rng(10)
    t0 = time.perf_counter()
    df = tracks(args.workers, args.fixes, rng)
    start, _ = access.day_bounds(DAY)
    gen_s = time.perf_counter() - t0
    with Session(eng) as s:
        _cleanup(s)
        area = s.execute(text(
            "INSERT INTO admin_areas (code, name, level, geom) VALUES ('W10C', 'W10', 'community', "
            "ST_Multi(ST_MakeEnvelope(109.9, 34.9, 110.2, 35.2, 4326))) RETURNING id")).scalar_one()  # fmt: skip
        s.execute(
            text(
                "INSERT INTO compounds (code, name, kind, community_id, geom) VALUES (:c, :c, 'closed', :a, "
                "ST_Multi(ST_GeomFromText(:g, 4326)))"
            ),  # fmt: skip
            [{"c": c, "a": area, "g": p.wkt} for c, p in comps],
        )
        uids = s.execute(text(
            "INSERT INTO users (username, password_hash, full_name, role, created_at) SELECT 'w10-' || g, 'x', "
            "'w10', 'grid_worker', now() FROM generate_series(1, :n) AS g RETURNING id"), {"n": args.workers}
        ).scalars().all()  # fmt: skip
        pids = s.execute(text(
            "INSERT INTO patrols (user_id, client_key, started_at, ended_at) SELECT u, 'w10', :s, :e "
            "FROM unnest(CAST(:u AS int[])) AS u RETURNING id"),
            {"u": list(uids), "s": start, "e": start + timedelta(hours=20)}).scalars().all()  # fmt: skip
        s.commit()
        pid = np.array(pids)[df.w.to_numpy()]
        ts = pd.to_datetime(start.timestamp() + df.k * 10.0, unit="s", utc=True)
        buf = io.StringIO()
        wkt = "SRID=4326;POINT(" + df.lon.astype(str) + " " + df.lat.astype(str) + ")"
        pd.DataFrame({"p": pid, "t": ts.astype(str), "g": wkt, "a": df.acc}).to_csv(
            buf, sep="\t", header=False, index=False
        )
        # the day's own partition, as the nightly partition job has it in production (not the DEFAULT one)
        month = partitions.period_start(DAY, "month")
        partitions.create_partition(s, partitions.partition_name(month, "month"), partitions.local_midnight(month),
                                    partitions.local_midnight(partitions.next_start(month, "month")))  # fmt: skip
        s.commit()
        raw = s.connection().connection.dbapi_connection
        t1 = time.perf_counter()
        with raw.cursor() as cur, cur.copy("COPY patrol_fixes (patrol_id, t, geom, accuracy_m) FROM STDIN") as cp:
            cp.write(buf.getvalue())
        s.commit()
        copy_s = time.perf_counter() - t1
        s.execute(text("ANALYZE patrol_fixes"))
        s.execute(text("ANALYZE compounds"))
        s.commit()
        n = len(df)
        part = partitions.partition_name(month, "month")  # patrol_fixes is partitioned (migration 0021): the day's
        size = s.execute(text(  # partition holds the W10 fixes (and nothing else: a fresh one each run)
            f"SELECT pg_relation_size('{part}'), pg_indexes_size('{part}'), (SELECT count(*) FROM {part})"
        )).one()  # fmt: skip
        t2 = time.perf_counter()
        got = site_minutes(s, DAY, user_ids=list(uids))
        sql_s = time.perf_counter() - t2
        s.rollback()
        t3 = time.perf_counter()
        ref = reference(df, comps, start.timestamp())
        ref_s = time.perf_counter() - t3
        ref = {(int(uids[w]), c): m for (w, c), m in ref.items()}
        rule = load_config().rule
        keys = set(got) | set(ref)
        diffs = [abs(got.get(k, 0) - ref.get(k, 0)) for k in keys]
        met_sql = {k for k, m in got.items() if m >= rule.required_minutes}
        met_ref = {k for k, m in ref.items() if m >= rule.required_minutes}
        if not args.keep:
            _cleanup(s)
            s.commit()
    result = {
        "workers": args.workers,
        "fixes": n,
        "compounds": len(comps),
        "generate_s": round(gen_s, 1),
        "copy_s": round(copy_s, 1),
        "copy_fixes_per_s": round(n / copy_s),
        "postgis_s": round(sql_s, 1),
        "reference_s": round(ref_s, 1),
        "ratio_reference_over_postgis": round(ref_s / sql_s, 2),
        "pairs_postgis": len(got),
        "pairs_reference": len(ref),
        "max_abs_diff_min": round(max(diffs, default=0), 2),
        "pairs_diff_over_1min": sum(d > 1 for d in diffs),
        "met_postgis": len(met_sql),
        "met_reference": len(met_ref),
        "met_disagree": len(met_sql ^ met_ref),
        "table_bytes_per_fix": round(size[0] / size[2], 1),
        "index_bytes_per_fix": round(size[1] / size[2], 1),
    }
    print(write_result("w10", result), result)


def _cleanup(s: Session) -> None:
    month = partitions.period_start(DAY, "month")  # dropped, as retention does: no dead rows left for the next run
    s.execute(text(f"DROP TABLE IF EXISTS {partitions.partition_name(month, 'month')}"))
    s.execute(text("DELETE FROM patrols WHERE client_key = 'w10'"))
    s.execute(text("DELETE FROM users WHERE username LIKE 'w10-%'"))
    s.execute(text("DELETE FROM compounds WHERE code LIKE 'W10X%'"))
    s.execute(text("DELETE FROM admin_areas WHERE code = 'W10C'"))


if __name__ == "__main__":
    main()
