"""W2: re-anchor points after a boundary commit, against shapely's STRtree on the same data in memory.

    .venv/bin/python -m bench.w2_reanchor [--points 200000] [--side 40] [--temp]

A synthetic 街道 of side × side square cells in side/5 communities (strips five cells wide) and `points`
random points in a registered anchored table (a plain table with a primary key, a GiST index on the points and
a btree on the cell code; --temp: a temp table, as before 2026-11-23). Two commits go through the real commit
path (plan → validate → close/open versions → set-based re-anchoring):
- full: every cell of every community redrawn (rows shifted by half a cell): every point is a candidate;
- one_community: one community redrawn back: only its points are candidates.
Reference: shapely.STRtree(new cells).query(all points, predicate="within"), in memory, same run. Everything
happens in one transaction that is rolled back, so runs are repeatable. --points 1000000 --side 100 is the
workload's size (1e6 points, 10,000 cells). bench/w2_profile.py explains where a full redraw's time goes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import shapely
from shapely.geometry import box
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import bench_url, cli, ensure_database, write_result
from gis.anchoring import AnchoredTable, register, unregister
from gis.migrate import upgrade
from gis.plans.commit import commit_plan
from gis.plans.draft import FeatureInput
from gis.plans.edits import put_features
from gis.plans.models import BoundaryPlan
from gis.plans.reanchor import run_moves
from gis.plans.validate import Rules

X0, Y0, STEP = 110.0, 30.0, 0.002  # ~190 m x 220 m cells, far from the demo
PREFIX = "9902000"  # + 5-digit community number = 12-digit community code
LOOSE = Rules(households_min=None, households_max=None)


def community_code(i: int) -> str:
    return f"{PREFIX}{i:05d}"


def grid(side: int, shifted: bool) -> dict[str, dict[str, Any]]:
    """Cells per community; `shifted`: row boundaries moved by half a cell (one more row)."""
    out: dict[str, dict[str, Any]] = {}
    edges = [0.0, *(j + 0.5 for j in range(side)), float(side)] if shifted else [float(j) for j in range(side + 1)]
    for c in range(side // 5):
        cells = {}
        seq = 1
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            for col in range(5):
                x = X0 + (c * 5 + col) * STEP
                cells[f"{community_code(c)}{seq:03d}"] = box(x, Y0 + lo * STEP, x + STEP, Y0 + hi * STEP)
                seq += 1
        out[community_code(c)] = cells
    return out


def setup(session: Session, side: int, points: int, *, temp: bool = False) -> None:
    live = grid(side, shifted=False)
    session.execute(text("DELETE FROM admin_areas WHERE code LIKE :p"), {"p": PREFIX + "%"})
    for code, cells in live.items():
        area = shapely.union_all(list(cells.values()))
        cid = session.execute(
            text(
                "INSERT INTO admin_areas (code, name, level, geom) VALUES (:c, :n, 'community', "
                "ST_Multi(ST_GeomFromText(:g, 4326))) RETURNING id"
            ),
            {"c": code, "n": f"压测社区{code[-3:]}", "g": area.wkt},
        ).scalar_one()
        session.execute(
            text(
                "INSERT INTO grid_cells (code, name, community_id, valid_from, geom) "
                "SELECT c, c, :cid, now() - interval '1 day', ST_Multi(ST_GeomFromText(g, 4326)) "
                "FROM unnest(CAST(:codes AS text[]), CAST(:wkts AS text[])) AS u(c, g)"
            ),
            {"cid": cid, "codes": list(cells), "wkts": [g.wkt for g in cells.values()]},
        )
    # A plain table like the anchored ones (shared buffers, WAL), dropped by the final rollback. A temp table
    # (--temp) lives in temp_buffers (8 MB by default) and spends most of a full redraw re-reading its pages.
    kind = "TEMP TABLE" if temp else "TABLE"
    session.execute(
        text(
            f"CREATE {kind} bench_points (id bigserial PRIMARY KEY, geom geometry(Point, 4326), cell_code varchar(15))"
        )
    )
    session.execute(text("SELECT setseed(0.42)"))
    # anchored on entry from the grid arithmetic (the same answer as ST_Covers for interior points)
    session.execute(
        text(
            """
            INSERT INTO bench_points (geom, cell_code)
            SELECT ST_SetSRID(ST_MakePoint(:x0 + u * :w, :y0 + v * :w), 4326),
                   :prefix || lpad((floor(u) :: int / 5)::text, 5, '0')
                   || lpad((floor(v) :: int * 5 + floor(u) :: int % 5 + 1)::text, 3, '0')
            FROM (SELECT random() * :side AS u, random() * :side AS v FROM generate_series(1, :n)) p
            """
        ),
        {"x0": X0, "y0": Y0, "w": STEP, "side": side, "n": points, "prefix": PREFIX},
    )
    session.execute(text("CREATE INDEX ON bench_points USING gist (geom)"))
    session.execute(text("CREATE INDEX ON bench_points (cell_code)"))
    session.execute(text("ANALYZE bench_points"))
    session.execute(text("ANALYZE grid_cells"))


def commit(session: Session, cells: dict[str, dict[str, Any]], name: str) -> tuple[float, dict[str, Any]]:
    plan = BoundaryPlan(name=name)
    session.add(plan)
    session.flush()
    for community in cells.values():
        put_features(session, plan, "cell", [FeatureInput(code, geom) for code, geom in community.items()])
    # the same computation without writing (what the diff shows): which points move where
    ids = list(session.execute(text("SELECT id FROM admin_areas WHERE code LIKE :p"), {"p": PREFIX + "%"}).scalars())
    codes = [c for community in cells.values() for c in community]
    preview = run_moves(session, codes=codes, community_ids=ids, plan_id=plan.id)["bench_points"]
    started = time.perf_counter()
    report = commit_plan(session, plan.id, message=name, rules=LOOSE)
    report["preview"] = preview
    return time.perf_counter() - started, report


def strtree_reference(cells: dict[str, dict[str, Any]], xy: np.ndarray) -> float:
    polys = np.asarray([g for community in cells.values() for g in community.values()], dtype=object)
    pts = shapely.points(xy)
    started = time.perf_counter()
    tree = shapely.STRtree(polys)
    tree.query(pts, predicate="within")
    return time.perf_counter() - started


def run(points: int = 200_000, side: int = 40, *, temp: bool = False) -> dict[str, Any]:
    if side % 5 or side > 195:
        raise SystemExit("--side must be a multiple of 5, at most 195 (3-digit cell sequence numbers)")
    url = bench_url()
    ensure_database(url)
    upgrade(url)
    engine = create_engine(url)
    register(AnchoredTable("bench_points"))
    result: dict[str, Any] = {
        "points": points,
        "cells": side * side,
        "communities": side // 5,
        "table": "temp" if temp else "plain",
    }
    try:
        with Session(engine) as session:
            t0 = time.perf_counter()
            setup(session, side, points, temp=temp)
            result["setup_s"] = round(time.perf_counter() - t0, 1)
            xy = np.asarray(session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM bench_points")).all())
            shifted = grid(side, shifted=True)
            ref_full = strtree_reference(shifted, xy)
            full_s, full = commit(session, shifted, "full redraw")
            extra = [c for c in shifted[community_code(0)] if c not in grid(side, False)[community_code(0)]]
            one_s, one = commit_one(session, side, extra)
            session.rollback()
    finally:
        unregister("bench_points")
        engine.dispose()
    for name, total_s, report, ref_s in (("full", full_s, full, ref_full), ("one_community", one_s, one, ref_full)):
        moved = report["moved"]["bench_points"]
        reanchor_s = moved["elapsed_ms"] / 1000
        lookup_s = report["preview"]["elapsed_ms"] / 1000 if "preview" in report else None
        result[name] = {
            "lookup_only_s": lookup_s,
            "lookup_ratio_vs_strtree": round(ref_s / lookup_s, 3) if lookup_s else None,
            "commit_s": round(total_s, 3),
            "reanchor_s": round(reanchor_s, 3),
            "moved": moved["count"],
            "unanchored": moved["unanchored"],
            "points_per_s": round(points / reanchor_s),
            "strtree_all_points_s": round(ref_s, 3),
            "strtree_points_per_s": round(points / ref_s),
            "ratio_vs_strtree": round(ref_s / reanchor_s, 3),
        }
    result["targets"] = {"ratio_vs_strtree_min": 0.5}
    result["meets_target"] = result["full"]["ratio_vs_strtree"] >= 0.5
    write_result("w2", result)
    return result


def commit_one(session: Session, side: int, extra: list[str]) -> tuple[float, dict[str, Any]]:
    """Redraw community 0 back to the original rows (its extra half-row cells removed)."""
    plan = BoundaryPlan(name="one community back")
    session.add(plan)
    session.flush()
    original = grid(side, shifted=False)[community_code(0)]
    put_features(session, plan, "cell", [FeatureInput(code, geom) for code, geom in original.items()])
    from gis.plans.edits import remove_feature

    for code in extra:
        remove_feature(session, plan, "cell", code)
    started = time.perf_counter()
    report = commit_plan(session, plan.id, message="one community back", rules=LOOSE)
    return time.perf_counter() - started, report


if __name__ == "__main__":
    cli(run, __doc__, points=200_000, side=40, temp=(False, "points in a temp table (temp_buffers, no WAL)"))
