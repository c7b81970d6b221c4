"""W2 profile: EXPLAIN (ANALYZE, BUFFERS, WAL) of the full redraw's re-anchoring statement, one statement per run.

    .venv/bin/python -m bench.w2_profile [--points 200000] [--side 40] [--temp] [--variant current]
        [--floor | --time-only | --lookups orig,current [--repeat 3] [--preview]] [--full]

Builds the same data as bench.w2_reanchor, runs the full-redraw commit up to the re-anchoring, and there runs
one statement under EXPLAIN (the UPDATE really happens), prints its plan, and rolls everything back. One
writing statement per run: a rolled-back UPDATE leaves dead row versions and index entries behind that would
slow down whatever is measured next.
- --variant NAME: a statement builder from bench.w2_variants (default: gis.plans.reanchor.moves_sql);
- --floor: instead, the moves are computed first (not timed) and the bare UPDATE … FROM of exactly those rows
  is explained: what writing them costs by itself, whatever computes them;
- --lookups a,b --repeat 3: instead, the lookups of variants a and b (their statements without the UPDATE,
  read-only, so they can be repeated) are timed in turn, without EXPLAIN's per-row overhead (--preview: the
  preview statements, which count the moves against the draft).

What it showed at 1e6 points / 10,000 cells, full redraw, 499,870 rows changing cell (2 shared cores, 2026-11):
- candidate join (10,100 GiST index scans, ST_Covers): ~1.55 s; ST_Contains on top ~0.1 s; DISTINCT ON, the
  anti-join for rows no changed cell covers, materialising: ~1.2 s more. Lookup in all ~2.8 s (STRtree ~0.8 s);
- the bare UPDATE of the 499,870 rows (pk, GiST, btree on cell_code; no HOT since cell_code is indexed):
  ~5.7-6.3 s, 2.5M WAL records (~330 MB); without the GiST index ~3.7 s, without both secondary ones ~2.9 s.
  The same UPDATE on a copy of `tickets` (15 indexes, 1e6 rows): ~27 s, 8M WAL records (1.6 GB);
- with a temp table (--temp), temp_buffers (8 MB) hold a fraction of the 80 MB of points: ~1M local buffer
  reads in the join and ~2M in the UPDATE.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import time
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

import gis.plans.commit as commit_module
from bench import w2_variants
from bench.common import bench_url, ensure_database
from bench.w2_reanchor import commit, grid, setup
from gis.anchoring import AnchoredTable, register, unregister
from gis.migrate import upgrade
from gis.plans.models import BoundaryPlan

BENCH = AnchoredTable("bench_points")


class _Done(Exception):
    """Raised once the statement is measured: the commit is abandoned and rolled back."""


def _explain(session: Session, sql: str, params: dict[str, Any], full: bool) -> None:
    started = time.perf_counter()
    plan = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, WAL, SETTINGS) {sql}"), params).scalars().all()
    elapsed = time.perf_counter() - started
    lines = [line[:200] for line in plan]
    if not full:  # the node lines with their actual times, buffers and WAL
        lines = [line for line in lines if "actual time" in line or "WAL:" in line or "Sort Method" in line]
    print("\n".join(lines), f"\nwall: {elapsed:.3f} s")  # noqa: T201


def compare_lookups(
    session: Session,
    params: dict[str, Any],
    variants: list[str],
    repeat: int,
    *,
    preview: bool = False,
    explain: bool = False,
) -> None:
    """Wall-clock time of each variant's lookup (its statement without the UPDATE, read-only), interleaved;
    `preview`: the preview statements (the diff's counts, against the draft) instead."""

    def statement(v: str) -> str:
        session.execute(text("SAVEPOINT w2_lookup"))
        for knob in w2_variants.KNOBS.get(v, ()):
            session.execute(text(knob))
        sql = w2_variants.VARIANTS[v](session, BENCH, preview=preview)
        return sql if preview else w2_variants.lookup_only(sql)

    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(repeat):
        for v in variants:
            sql = statement(v)
            started = time.perf_counter()
            n = len(session.execute(text(sql), params).all())
            times[v].append(time.perf_counter() - started)
            session.execute(text("ROLLBACK TO SAVEPOINT w2_lookup"))
    for v in variants if explain else ():
        print(f"--- {v}")  # noqa: T201
        _explain(session, statement(v), params, full=False)
        session.execute(text("ROLLBACK TO SAVEPOINT w2_lookup"))
    for v, ts in times.items():
        what = "preview" if preview else "lookup"
        print(f"{v}: {what} ({n} rows): {', '.join(f'{t:.2f}' for t in ts)} s (best {min(ts):.2f})")  # noqa: T201


def profile(
    session: Session, params: dict[str, Any], *, variant: str, floor: bool, full: bool, time_only: bool = False
) -> None:
    build = w2_variants.VARIANTS[variant]
    sql = build(session, BENCH, preview=False)
    for knob in w2_variants.KNOBS.get(variant, ()):
        session.execute(text(knob))
    if floor:
        select = w2_variants.lookup_only(sql)
        session.execute(text(f"CREATE TEMP TABLE w2_moves ON COMMIT DROP AS {select}"), params)
        session.execute(text("ANALYZE w2_moves"))
        n = session.execute(text("SELECT count(*) FROM w2_moves")).scalar_one()
        print(f"--- bare UPDATE of the {n} rows that change cell (bench_points: pk, GiST(geom), btree(cell_code))")  # noqa: T201
        _explain(
            session,
            "UPDATE bench_points t SET cell_code = m.new_code FROM w2_moves m WHERE t.id = m.k RETURNING t.id",
            {},
            full,
        )
        return
    print(f"--- {variant}")  # noqa: T201
    if time_only:
        started = time.perf_counter()
        session.execute(text(sql), params).all()
        print(f"wall: {time.perf_counter() - started:.3f} s")  # noqa: T201
    else:
        _explain(session, sql, params, full)
    rows = session.execute(text("SELECT cell_code, count(*) FROM bench_points GROUP BY 1 ORDER BY 1")).all()
    print("anchors after:", hashlib.sha1(repr(rows).encode()).hexdigest()[:12])  # noqa: T201


def run(
    points: int,
    side: int,
    *,
    temp: bool,
    variant: str,
    floor: bool,
    full: bool,
    lookups: list[str],
    repeat: int,
    preview: bool,
    time_only: bool = False,
) -> None:
    url = bench_url()
    ensure_database(url)
    upgrade(url)
    engine = create_engine(url)
    register(BENCH)
    real = commit_module.run_moves

    def profiled(session: Session, **kw: Any) -> dict[str, dict[str, Any]]:
        params = {**kw, "plan_id": None, "skip_values": []}
        session.execute(text("SET LOCAL jit = off"))
        if lookups:
            plan_id = session.execute(select(func.max(BoundaryPlan.id))).scalar_one()
            compare_lookups(session, {**params, "plan_id": plan_id}, lookups, repeat, preview=preview, explain=full)
        else:
            profile(session, params, variant=variant, floor=floor, full=full, time_only=time_only)
        raise _Done

    try:
        with Session(engine) as session:
            setup(session, side, points, temp=temp)
            commit_module.run_moves = profiled  # type: ignore[assignment]
            with contextlib.suppress(_Done):
                commit(session, grid(side, shifted=True), "full redraw")
            session.rollback()
    finally:
        commit_module.run_moves = real  # type: ignore[assignment]
        unregister("bench_points")
        engine.dispose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--side", type=int, default=40)
    ap.add_argument("--temp", action="store_true", help="points in a temp table")
    ap.add_argument("--variant", default="current", choices=sorted(w2_variants.VARIANTS))
    ap.add_argument("--floor", action="store_true", help="explain the bare UPDATE of the moved rows instead")
    ap.add_argument("--full", action="store_true", help="the whole plan, not only the nodes' timings")
    ap.add_argument("--lookups", default="", help="comma-separated variants: time their lookups (no UPDATE)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--preview", action="store_true", help="with --lookups: the preview statements")
    ap.add_argument("--time-only", action="store_true", help="run the statement without EXPLAIN, print its time")
    args = ap.parse_args()
    lookups = [v for v in args.lookups.split(",") if v]
    run(
        args.points,
        args.side,
        temp=args.temp,
        variant=args.variant,
        floor=args.floor,
        full=args.full,
        lookups=lookups,
        repeat=args.repeat,
        preview=args.preview,
        time_only=args.time_only,
    )
