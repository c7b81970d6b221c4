"""Re-anchoring: rows of the anchored tables whose cell changed get the code of their new cell.

Only candidate rows are looked at: those whose point lies in a changed cell (GiST `&&` then ST_Covers), and
those anchored to a cell the commit changed or removed that no changed cell covers any more. Each table is
handled by one set-based statement (UPDATE … FROM … RETURNING, aggregated), never a query per row.
Identifiers come from the anchoring registry, quoted by the dialect; every value is a bound parameter.

Cost (bench/w2_reanchor.py, 1e6 points, every cell of a 街道 redrawn, ~500k rows change cell): the lookup is
~3 s; most of the time is the UPDATE itself (~6 s with three indexes, ~27 s on a copy of `tickets` with 15),
since changing an indexed column is never a HOT update: each moved row writes a new row version and an entry
in every index of its table (GiST included), and WAL. bench/w2_profile.py shows the breakdown.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.anchoring import AnchoredTable, anchored_tables
from gis.spatial import COVERING_CELL_SQL, covering_sql

# The cells whose geometry is new: commit → their new versions; preview → the plan's (repaired) geometries.
_CHANGED_COMMIT = "SELECT id, code, geom FROM grid_cells WHERE id = ANY(:new_ids)"
_CHANGED_PREVIEW = """
    SELECT NULL::int AS id, code, ST_CollectionExtract(ST_MakeValid(geom), 3) AS geom FROM plan_features
    WHERE plan_id = :plan_id AND action <> 'remove'
"""
# The full "which cell covers this point" (the by-location rule, lowest code wins), only for points on a
# changed cell's boundary or left in no changed cell. Commit: the live cells through their GiST index
# (:at is NULL); preview: the same rule over the draft.
_AFTER_COMMIT = COVERING_CELL_SQL
_DRAFT = """
    SELECT g.code, g.id, g.geom FROM grid_cells g
    WHERE g.valid_to IS NULL AND g.community_id = ANY(:community_ids)
      AND NOT EXISTS (SELECT 1 FROM plan_features f WHERE f.plan_id = :plan_id AND f.code = g.code)
    UNION ALL
    SELECT code, id, geom FROM changed
"""
_AFTER_PREVIEW = covering_sql("draft", "{point}")


def _q(session: Session, name: str) -> str:
    return str(session.get_bind().dialect.identifier_preparer.quote(name))


def moves_sql(session: Session, entry: AnchoredTable, *, preview: bool) -> str:
    """The statement for one table: (old_code, new_code, n) rows; new_code NULL = no cell covers it.

    Candidates are found from the changed cells through the anchored table's GiST index (cells × points, the
    fast direction); a point strictly inside the lowest-coded changed cell covering it belongs to that cell.
    Points on a changed cell's edge, and points anchored to a changed or removed cell that no changed cell
    covers, get the full lookup (tie rule: lowest code). Only rows whose code changes reach the UPDATE.
    """
    t, key, cell, geom = (_q(session, n) for n in (entry.table, entry.key_column, entry.cell_column, entry.geom_column))
    pt = f"ST_PointOnSurface(t.{geom})" if entry.polygonal else f"t.{geom}"
    skip = f"AND t.{_q(session, entry.skip_column)} <> ALL(:skip_values)" if entry.skip_column else ""
    after = (_AFTER_PREVIEW if preview else _AFTER_COMMIT).format(point=pt)
    changed = _CHANGED_PREVIEW if preview else _CHANGED_COMMIT
    draft = f", draft AS MATERIALIZED ({_DRAFT})" if preview else ""
    head = f"""
        WITH changed AS MATERIALIZED ({changed}){draft},
        hits AS MATERIALIZED (
            SELECT DISTINCT ON (t.{key}) t.{key} AS k, t.{cell} AS old_code, n.code AS new_code, n.id AS new_id,
                   ST_Contains(n.geom, {pt}) AS inside
            FROM changed n JOIN {t} t ON t.{geom} && n.geom AND ST_Covers(n.geom, {pt})
            WHERE TRUE {skip}
            ORDER BY t.{key}, n.code
        ),
        rest AS (
            SELECT k, old_code FROM hits WHERE NOT inside
            UNION ALL
            SELECT t.{key}, t.{cell} FROM {t} t
            WHERE t.{cell} = ANY(:codes) {skip} AND NOT EXISTS (SELECT 1 FROM hits h WHERE h.k = t.{key})
        ),
        target AS MATERIALIZED (
            SELECT k, old_code, new_code, new_id FROM (
                SELECT k, old_code, new_code, new_id FROM hits WHERE inside
                UNION ALL
                SELECT rest.k, rest.old_code, a.code, a.id
                FROM rest JOIN {t} t ON t.{key} = rest.k
                LEFT JOIN LATERAL ({after}) a ON TRUE
            ) found
            WHERE new_code IS NULL OR old_code IS DISTINCT FROM new_code
        )"""
    if preview:
        return f"""{head}
        SELECT old_code, new_code, count(*) AS n FROM target GROUP BY 1, 2 ORDER BY 1, 2"""
    version = f", {_q(session, entry.version_column)} = target.new_id" if entry.version_column else ""
    if entry.community_column:  # a cell moved to another community takes its rows along
        version += f", {_q(session, entry.community_column)} = left(target.new_code, 12)"
    return f"""{head},
        moved AS (
            UPDATE {t} t SET {cell} = target.new_code{version}
            FROM target
            WHERE t.{key} = target.k AND target.new_code IS NOT NULL AND t.{cell} IS DISTINCT FROM target.new_code
            RETURNING target.old_code, target.new_code
        )
        SELECT old_code, new_code, count(*) AS n FROM moved GROUP BY 1, 2
        UNION ALL
        SELECT old_code, NULL, count(*) FROM target WHERE new_code IS NULL GROUP BY 1
        ORDER BY 1, 2"""


def _summarise(rows: list[Any], elapsed_s: float) -> dict[str, Any]:
    by_cell = [{"from": r.old_code, "to": r.new_code, "count": int(r.n)} for r in rows if r.new_code is not None]
    unanchored = sum(int(r.n) for r in rows if r.new_code is None)
    return {
        "count": sum(m["count"] for m in by_cell),
        "by_cell": by_cell,
        "unanchored": unanchored,  # in no cell after the change (a gap): kept on their old code
        "elapsed_ms": round(elapsed_s * 1000, 1),
    }


def run_moves(
    session: Session,
    *,
    codes: list[str],
    community_ids: list[int],
    new_ids: list[int] | None = None,
    plan_id: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Re-anchor every registered table (commit: `new_ids` given) or count the moves (preview: `plan_id`)."""
    preview = new_ids is None
    out: dict[str, dict[str, Any]] = {}
    # JIT compilation costs more than it saves on these one-off statements (~0.5 s each)
    session.execute(text("SET LOCAL jit = off"))
    with _local_setting(session, "work_mem", _WORK_MEM):
        for entry in anchored_tables():
            params: dict[str, Any] = {
                "codes": codes,
                "community_ids": community_ids,
                "new_ids": new_ids or [],
                "plan_id": plan_id,
                "skip_values": list(entry.skip_values),
                "at": None,  # the live cells
            }
            started = time.perf_counter()
            rows = session.execute(text(moves_sql(session, entry, preview=preview)), params).all()
            out[entry.table] = _summarise(list(rows), time.perf_counter() - started)
    return out


# The candidates of a 街道-wide redraw (1e6 rows: ~110 MB to sort by row, then hashed for the UPDATE) stay in
# memory rather than spilling to disk (the default 4MB); only for the re-anchoring statements.
_WORK_MEM = "256MB"


@contextmanager
def _local_setting(session: Session, name: str, value: str) -> Iterator[None]:
    """A transaction-local setting for the statements inside, then the previous value again."""
    previous = session.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar_one()
    session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
    yield
    session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": previous})
