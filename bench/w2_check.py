"""W2 check: the re-anchoring statement gives exactly the answers of the statement it replaced (bench.w2_variants
`orig`), preview and commit, row by row, on small grids full of awkward points.

    .venv/bin/python -m bench.w2_check [--rounds 20] [--seed 1] [--variant current]

Each round builds a 10 × 10 grid (two communities) with points on vertices and edges (of the old and the new
cells), outside the grid, anchored right, wrong, to cells the plan removes, open and closed, plus small
polygons; then a random plan (rows shifted by half a cell, a cell removed leaving a gap, a cell grown over its
neighbours, two cells merged) goes through the real commit path. Where the re-anchoring runs, both statements
run on the same state (the old one inside a rolled-back savepoint); their reports and every row's anchors
(cell, version, community) must be equal. The preview (the diff's counts) is compared the same way. Everything
is rolled back; run it against a bench database (bench.common.bench_url).
"""

from __future__ import annotations

import argparse
import random
from typing import Any

import shapely
from shapely.geometry import box
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

import gis.plans.commit as commit_module
from bench.common import bench_url, ensure_database
from bench.w2_reanchor import STEP, X0, Y0, community_code, grid, setup
from bench.w2_variants import VARIANTS, orig_moves_sql
from gis.anchoring import AnchoredTable, anchored_tables, register, unregister
from gis.migrate import upgrade
from gis.plans.commit import commit_plan
from gis.plans.draft import FeatureInput
from gis.plans.edits import put_features, remove_feature
from gis.plans.models import BoundaryPlan
from gis.plans.reanchor import run_moves
from gis.plans.validate import Rules

SIDE = 10
RULES = Rules(sliver_m2=1e12, households_min=None, households_max=None)  # gaps and overlaps are only warnings
POINTS = AnchoredTable(
    "w2chk_points",
    version_column="cell_version_id",
    skip_column="state",
    skip_values=("closed", "merged"),
    community_column="community_code",
)
AREAS = AnchoredTable("w2chk_areas", polygonal=True)


class Mismatch(Exception):
    pass


def _setup(session: Session, rng: random.Random) -> None:
    setup(session, SIDE, 10)  # communities, live cells (and a few bench points, unused)
    session.execute(text("DROP TABLE bench_points"))
    session.execute(
        text(
            "CREATE TABLE w2chk_points (id serial PRIMARY KEY, geom geometry(Point, 4326), cell_code varchar(15), "
            "cell_version_id int, community_code varchar(20), state text NOT NULL DEFAULT 'open')"
        )
    )
    session.execute(
        text("CREATE TABLE w2chk_areas (id serial PRIMARY KEY, geom geometry(Polygon, 4326), cell_code varchar(15))")
    )
    xy: list[tuple[float, float]] = []
    for i in range(SIDE + 1):  # vertices and edge midpoints of the old cells and of the half-shifted ones
        for j in range(2 * SIDE + 1):
            xy.append((X0 + i * STEP, Y0 + j * STEP / 2))
            xy.append((X0 + (i + 0.5) * STEP, Y0 + j * STEP / 2))
    xy += [(X0 + rng.uniform(-1, SIDE + 1) * STEP, Y0 + rng.uniform(-1, SIDE + 1) * STEP) for _ in range(600)]
    codes = [c for cells in grid(SIDE, shifted=False).values() for c in cells]
    rows = []
    for x, y in xy:
        state = rng.choice(["open", "open", "open", "closed", "merged"])
        rows.append({"x": x, "y": y, "state": state, "wrong": rng.random() < 0.15 and rng.choice(codes) or None})
    session.execute(
        text(
            """
            INSERT INTO w2chk_points (geom, cell_code, state)
            SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326), coalesce(:wrong, (SELECT c.code FROM grid_cells c
                   WHERE c.valid_to IS NULL AND ST_Covers(c.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))
                   ORDER BY c.code LIMIT 1)), :state
            """
        ),
        rows,
    )
    areas = [
        {"wkt": box(x, y, x + rng.uniform(0.05, 1.2) * STEP, y + rng.uniform(0.05, 1.2) * STEP).wkt} for x, y in xy[::7]
    ]
    session.execute(
        text(
            """
            INSERT INTO w2chk_areas (geom, cell_code)
            SELECT g, (SELECT c.code FROM grid_cells c WHERE c.valid_to IS NULL
                       AND ST_Covers(c.geom, ST_PointOnSurface(g)) ORDER BY c.code LIMIT 1)
            FROM (SELECT ST_GeomFromText(:wkt, 4326) AS g) s
            """
        ),
        areas,
    )


def _plan(session: Session, rng: random.Random) -> tuple[BoundaryPlan, str]:
    plan = BoundaryPlan(name="w2 check")
    session.add(plan)
    session.flush()
    live = grid(SIDE, shifted=False)
    kind = rng.choice(["shift", "gap", "grow", "grow_two", "merge", "shift_gap"])
    comm = community_code(rng.randrange(SIDE // 5))
    codes = sorted(live[comm])
    if kind.startswith("shift"):
        shifted = grid(SIDE, shifted=True)[comm]
        put_features(session, plan, "cell", [FeatureInput(c, g) for c, g in shifted.items()])
        if kind == "shift_gap":
            remove_feature(session, plan, "cell", rng.choice(sorted(shifted)))
    elif kind == "gap":
        remove_feature(session, plan, "cell", rng.choice(codes))
    elif kind == "grow":  # overlaps its neighbours (and is overlapped by unchanged cells)
        code = rng.choice(codes)
        put_features(
            session,
            plan,
            "cell",
            [FeatureInput(code, live[comm][code].buffer(STEP * rng.choice([0.25, 0.5]), join_style=2))],
        )
    elif kind == "grow_two":  # two neighbours grown over each other: points inside both
        a = rng.choice(codes[:-6])
        b = codes[codes.index(a) + rng.choice([1, 5])]
        grown = [FeatureInput(c, live[comm][c].buffer(STEP * rng.choice([0.25, 0.5]), join_style=2)) for c in (a, b)]
        put_features(session, plan, "cell", grown)
    else:  # merge: a takes its right-hand or upper neighbour's area, which is removed
        a = rng.choice(codes[:-6])
        b = codes[codes.index(a) + rng.choice([1, 5])]
        put_features(session, plan, "cell", [FeatureInput(a, shapely.union(live[comm][a], live[comm][b]))])
        remove_feature(session, plan, "cell", b)
    return plan, kind


def _anchors(session: Session) -> list[Any]:
    points = session.execute(
        text("SELECT id, cell_code, cell_version_id, community_code FROM w2chk_points ORDER BY id")
    ).all()
    areas = session.execute(text("SELECT id, cell_code FROM w2chk_areas ORDER BY id")).all()
    return [tuple(r) for r in points] + [("area", *r) for r in areas]


def _run(session: Session, build: Any, params: dict[str, Any], preview: bool) -> dict[str, list[Any]]:
    out = {}
    for entry in anchored_tables():
        p = {**params, "skip_values": list(entry.skip_values)}
        out[entry.table] = [tuple(r) for r in session.execute(text(build(session, entry, preview=preview)), p)]
    return out


def _compare(what: str, old: Any, new: Any) -> None:
    if old != new:
        raise Mismatch(f"{what}: the statements disagree\n old: {old}\n new: {new}")


def check_round(session: Session, rng: random.Random, moves_sql: Any) -> dict[str, Any]:
    _setup(session, rng)
    plan, kind = _plan(session, rng)
    ids = list(session.execute(text("SELECT id FROM admin_areas WHERE code LIKE '9902000%'")).scalars())
    codes = list(
        session.execute(text("SELECT code FROM plan_features WHERE plan_id = :p ORDER BY 1"), {"p": plan.id}).scalars()
    )
    preview_params = {"codes": codes, "community_ids": ids, "new_ids": [], "plan_id": plan.id}
    session.execute(text("SET LOCAL jit = off"))
    _compare(
        f"{kind}: preview",
        _run(session, orig_moves_sql, preview_params, True),
        _run(session, moves_sql, preview_params, True),
    )
    preview = run_moves(session, codes=codes, community_ids=ids, plan_id=plan.id)
    real = commit_module.run_moves
    seen: dict[str, Any] = {}

    def compared(session: Session, **kw: Any) -> dict[str, dict[str, Any]]:
        params = {**kw, "plan_id": None}
        session.execute(text("SAVEPOINT w2_check"))
        old = _run(session, orig_moves_sql, params, False)
        old_anchors = _anchors(session)
        session.execute(text("ROLLBACK TO SAVEPOINT w2_check"))
        session.execute(text("SAVEPOINT w2_check"))
        new = _run(session, moves_sql, params, False)
        _compare(f"{kind}: commit report", old, new)
        _compare(f"{kind}: anchors after the commit", old_anchors, _anchors(session))
        session.execute(text("ROLLBACK TO SAVEPOINT w2_check"))
        seen["moves"] = sum(len(v) for v in new.values())
        return real(session, **kw)

    commit_module.run_moves = compared  # type: ignore[assignment]
    try:
        report = commit_plan(session, plan.id, message="w2 check", rules=RULES)
    finally:
        commit_module.run_moves = real  # type: ignore[assignment]
    for table in ("w2chk_points", "w2chk_areas"):
        moved, counted = report["moved"][table], preview[table]
        _compare(
            f"{kind}: preview = commit ({table})",
            (counted["count"], counted["unanchored"]),
            (moved["count"], moved["unanchored"]),
        )
    points = report["moved"]["w2chk_points"]
    return {"kind": kind, "moved": points["count"], "unanchored": points["unanchored"], "groups": seen["moves"]}


def run(rounds: int, seed: int, variant: str = "current") -> None:
    url = bench_url()
    ensure_database(url)
    upgrade(url)
    engine = create_engine(url)
    register(POINTS)
    register(AREAS)
    try:
        for i in range(rounds):
            rng = random.Random(seed * 1000 + i)
            with Session(engine) as session:
                try:
                    print(i, check_round(session, rng, VARIANTS[variant]))  # noqa: T201
                finally:
                    session.rollback()
    finally:
        unregister(POINTS.table)
        unregister(AREAS.table)
        engine.dispose()
    print(f"{rounds} rounds: {variant} and orig agree")  # noqa: T201


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variant", default="current", choices=sorted(VARIANTS), help="a builder of bench.w2_variants")
    args = ap.parse_args()
    run(args.rounds, args.seed, args.variant)
