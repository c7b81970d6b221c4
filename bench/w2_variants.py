"""Statement builders tried for W2 (bench.w2_profile runs them, bench.w2_check compares answers with `orig`).

- orig: gis.plans.reanchor.moves_sql as it was before the W2 work (e452f6a), the reference for answers and time;
- current: gis.plans.reanchor.moves_sql (orig, with only the rows that change cell joined to the UPDATE);
- gated: current, plus per-code counts (rows anchored to a code vs hits from it) so that the anti-join for rows
  no changed cell covers skips the codes where they are equal. Same answers; no gain in wall time at 1e6 points
  (the counts cost what the anti-join did), so not kept;
- by_cell: current with the UPDATE fed in new-cell order (index locality for GiST/btree inserts): no gain;
- *_wm: with work_mem 256MB (run_moves sets it for the real statements);
- m_*: not the same answers, only to time one part of the lookup (the join alone, without ST_Contains, without
  the DISTINCT ON).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from gis.anchoring import AnchoredTable
from gis.plans import reanchor

# The cells whose geometry is new: commit → their new versions; preview → the plan's (repaired) geometries.
_CHANGED_COMMIT = "SELECT id, code, geom FROM grid_cells WHERE id = ANY(:new_ids)"
_CHANGED_PREVIEW = """
    SELECT NULL::int AS id, code, ST_CollectionExtract(ST_MakeValid(geom), 3) AS geom FROM plan_features
    WHERE plan_id = :plan_id AND action <> 'remove'
"""
# The full "which cell covers this point" (lowest code wins), only for points on a changed cell's boundary
# or left in no changed cell. Commit: the live cells through their GiST index; preview: the draft.
_AFTER_COMMIT = """
    SELECT g.code, g.id FROM grid_cells g
    WHERE g.valid_to IS NULL AND ST_Covers(g.geom, {pt}) ORDER BY g.code LIMIT 1
"""
_DRAFT = """
    SELECT g.code, g.id, g.geom FROM grid_cells g
    WHERE g.valid_to IS NULL AND g.community_id = ANY(:community_ids)
      AND NOT EXISTS (SELECT 1 FROM plan_features f WHERE f.plan_id = :plan_id AND f.code = g.code)
    UNION ALL
    SELECT code, id, geom FROM changed
"""
_AFTER_PREVIEW = "SELECT d.code, d.id FROM draft d WHERE ST_Covers(d.geom, {pt}) ORDER BY d.code LIMIT 1"


def _q(session: Session, name: str) -> str:
    return str(session.get_bind().dialect.identifier_preparer.quote(name))


def orig_moves_sql(session: Session, entry: AnchoredTable, *, preview: bool) -> str:
    """The statement for one table: (old_code, new_code, n) rows; new_code NULL = no cell covers it.

    Candidates are found from the changed cells through the anchored table's GiST index (cells × points, the
    fast direction); a point strictly inside a changed cell belongs to it. Points on a changed cell's edge, and
    points anchored to a closed cell that no changed cell covers, get the full lookup (tie rule: lowest code).
    """
    t, key, cell, geom = (_q(session, n) for n in (entry.table, entry.key_column, entry.cell_column, entry.geom_column))
    pt = f"ST_PointOnSurface(t.{geom})" if entry.polygonal else f"t.{geom}"
    skip = f"AND t.{_q(session, entry.skip_column)} <> ALL(:skip_values)" if entry.skip_column else ""
    after = (_AFTER_PREVIEW if preview else _AFTER_COMMIT).format(pt=pt)
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
            SELECT k, old_code, new_code, new_id FROM hits WHERE inside
            UNION ALL
            SELECT rest.k, rest.old_code, a.code, a.id
            FROM rest JOIN {t} t ON t.{key} = rest.k
            LEFT JOIN LATERAL ({after}) a ON TRUE
        )"""
    if preview:
        return f"""{head}
        SELECT old_code, new_code, count(*) AS n FROM target
        WHERE new_code IS NULL OR old_code IS DISTINCT FROM new_code GROUP BY 1, 2 ORDER BY 1, 2"""
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


def _current(session: Session, entry: AnchoredTable, *, preview: bool) -> str:
    return reanchor.moves_sql(session, entry, preview=preview)


VARIANTS: dict[str, Callable[..., str]] = {"orig": orig_moves_sql, "current": _current}
# SET LOCAL statements run before a variant's statement
KNOBS: dict[str, tuple[str, ...]] = {}


def lookup_only(sql: str) -> str:
    """The statement without its UPDATE: the rows that would change cell, as (k, new_code)."""
    head = sql.split(",\n        moved AS (")[0]
    return f"{head}\n SELECT k, new_code FROM target WHERE new_code IS NOT NULL AND old_code IS DISTINCT FROM new_code"


def tried_moves_sql(
    session: Session, entry: AnchoredTable, *, preview: bool, gate_rest: bool = True, by_cell: bool = False
) -> str:
    """current, with the per-code gate before the anti-join (`gate_rest`) and/or the UPDATE in cell order."""
    t, key, cell, geom = (_q(session, n) for n in (entry.table, entry.key_column, entry.cell_column, entry.geom_column))
    pt = f"ST_PointOnSurface(t.{geom})" if entry.polygonal else f"t.{geom}"
    skip = f"AND t.{_q(session, entry.skip_column)} <> ALL(:skip_values)" if entry.skip_column else ""
    after = (_AFTER_PREVIEW if preview else _AFTER_COMMIT).format(pt=pt)
    changed = _CHANGED_PREVIEW if preview else _CHANGED_COMMIT
    draft = f", draft AS MATERIALIZED ({_DRAFT})" if preview else ""
    if gate_rest:
        lost = f"""
        lost AS (
            SELECT a.old_code FROM (SELECT t.{cell} AS old_code, count(*) AS n FROM {t} t
                                    WHERE t.{cell} = ANY(:codes) {skip} GROUP BY 1) a
            LEFT JOIN (SELECT old_code, count(*) AS n FROM hits WHERE old_code = ANY(:codes) GROUP BY 1) h
                   USING (old_code)
            WHERE a.n > coalesce(h.n, 0)
        ),"""
        anchored = f"t.{cell} IN (SELECT old_code FROM lost)"
    else:
        lost, anchored = "", f"t.{cell} = ANY(:codes)"
    order = "ORDER BY new_code" if by_cell else ""
    head = f"""
        WITH changed AS MATERIALIZED ({changed}){draft},
        hits AS MATERIALIZED (
            SELECT DISTINCT ON (t.{key}) t.{key} AS k, t.{cell} AS old_code, n.code AS new_code, n.id AS new_id,
                   ST_Contains(n.geom, {pt}) AS inside
            FROM changed n JOIN {t} t ON t.{geom} && n.geom AND ST_Covers(n.geom, {pt})
            WHERE TRUE {skip}
            ORDER BY t.{key}, n.code
        ),{lost}
        rest AS (
            SELECT k, old_code FROM hits WHERE NOT inside
            UNION ALL
            SELECT t.{key}, t.{cell} FROM {t} t
            WHERE {anchored} {skip} AND NOT EXISTS (SELECT 1 FROM hits h WHERE h.k = t.{key})
        ),
        target AS MATERIALIZED (
            SELECT k, old_code, new_code, new_id FROM (
                SELECT k, old_code, new_code, new_id FROM hits WHERE inside
                UNION ALL
                SELECT rest.k, rest.old_code, a.code, a.id
                FROM rest JOIN {t} t ON t.{key} = rest.k
                LEFT JOIN LATERAL ({after}) a ON TRUE
            ) s WHERE new_code IS NULL OR old_code IS DISTINCT FROM new_code {order}
        )"""
    if preview:
        return f"""{head}
        SELECT old_code, new_code, count(*) AS n FROM target GROUP BY 1, 2 ORDER BY 1, 2"""
    version = f", {_q(session, entry.version_column)} = target.new_id" if entry.version_column else ""
    if entry.community_column:
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


def _by_cell(session: Session, entry: AnchoredTable, *, preview: bool) -> str:
    return tried_moves_sql(session, entry, preview=preview, gate_rest=False, by_cell=True)


VARIANTS.update(
    {
        "orig_wm": orig_moves_sql,
        "current_wm": _current,
        "gated_wm": tried_moves_sql,
        "by_cell_wm": _by_cell,
    }
)
KNOBS.update({k: ("SET LOCAL work_mem = '256MB'",) for k in VARIANTS if k.endswith("_wm")})


# measurement only (not the same answers): what one part of the lookup costs
def _m_no_contains(session: Session, entry: AnchoredTable, *, preview: bool) -> str:
    return reanchor.moves_sql(session, entry, preview=preview).replace(
        "ST_Contains(n.geom, t.geom) AS inside", "TRUE AS inside"
    )


def _m_no_distinct(session: Session, entry: AnchoredTable, *, preview: bool) -> str:
    sql = reanchor.moves_sql(session, entry, preview=preview)
    return sql.replace("SELECT DISTINCT ON (t.id) ", "SELECT ").replace("ORDER BY t.id, n.code", "")


def _m_join_only(session: Session, entry: AnchoredTable, *, preview: bool) -> str:
    """Only the candidate join (the same shape as lookup_only's output)."""
    return """
        WITH changed AS MATERIALIZED (SELECT id, code, geom FROM grid_cells WHERE id = ANY(:new_ids)),
        target AS (
            SELECT t.id AS k, t.cell_code AS old_code, n.code AS new_code
            FROM changed n JOIN bench_points t ON t.geom && n.geom AND ST_Covers(n.geom, t.geom)
        ),
        moved AS ("""


VARIANTS.update({"m_no_contains": _m_no_contains, "m_no_distinct": _m_no_distinct, "m_join_only": _m_join_only})
