"""Committing a plan's compounds (小区) and communities (社区): the stale check, the in-place updates of the live
rows (the replaced geometry kept in `plan_areas.old_geom`; the version triggers close and open their versions
at the commit time, see gis.generations), and re-anchoring compounds and open tickets after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Conflict
from gis.plans.models import BoundaryPlan
from gis.spatial import COVERING_CELL_SQL, at_param, covering_sql

_STALE = text(
    """
    SELECT p.layer, p.code FROM plan_areas p
    LEFT JOIN compounds x ON p.layer = 'compound' AND x.id = p.base_id
    LEFT JOIN admin_areas a ON p.layer = 'community' AND a.id = p.base_id
    WHERE p.plan_id = :plan_id AND p.base_id IS NOT NULL
      AND p.base_hash IS DISTINCT FROM CASE p.layer
          WHEN 'compound' THEN md5(ST_AsBinary(x.geom) || convert_to(x.name, 'UTF8'))
          ELSE md5(ST_AsBinary(a.geom) || convert_to(a.name, 'UTF8')) END
    ORDER BY 1, 2
    """
)
_KEEP_OLD = text(
    """
    UPDATE plan_areas p SET old_geom = CASE p.layer WHEN 'compound' THEN x.geom ELSE a.geom END
    FROM plan_areas q
    LEFT JOIN compounds x ON q.layer = 'compound' AND x.id = q.base_id
    LEFT JOIN admin_areas a ON q.layer = 'community' AND a.id = q.base_id
    WHERE p.id = q.id AND p.plan_id = :plan_id AND p.base_id IS NOT NULL
    """
)
_COMMUNITIES_CHANGE = text(
    """
    UPDATE admin_areas a SET geom = p.geom, name = p.name,
        party_org = p.attributes->>'party_org', secretary = p.attributes->>'secretary', phone = p.attributes->>'phone'
    FROM plan_areas p
    WHERE p.plan_id = :plan_id AND p.layer = 'community' AND p.action = 'change' AND a.id = p.base_id
    """
)
_COMMUNITIES_ADD = text(
    """
    INSERT INTO admin_areas (code, name, level, parent_id, party_org, secretary, phone, geom)
    SELECT p.code, p.name, 'community', s.id, p.attributes->>'party_org', p.attributes->>'secretary',
           p.attributes->>'phone', p.geom
    FROM plan_areas p JOIN admin_areas s ON s.code = left(p.code, 9) AND s.level = 'subdistrict'
    WHERE p.plan_id = :plan_id AND p.layer = 'community' AND p.action = 'add'
    """
)
_COMPOUNDS_CHANGE = text(
    """
    UPDATE compounds x SET geom = p.geom, name = p.name, community_id = a.id,
        kind = coalesce(p.attributes->>'kind', x.kind),
        households = coalesce((p.attributes->>'households')::int, x.households),
        address = p.attributes->>'address'
    FROM plan_areas p JOIN admin_areas a ON a.code = p.community_code AND a.level = 'community'
    WHERE p.plan_id = :plan_id AND p.layer = 'compound' AND p.action = 'change' AND x.id = p.base_id
    """
)
_COMPOUNDS_ADD = text(
    """
    INSERT INTO compounds (code, name, kind, community_id, households, address, geom)
    SELECT p.code, p.name, coalesce(p.attributes->>'kind', 'closed'), a.id,
           coalesce((p.attributes->>'households')::int, 0), p.attributes->>'address', p.geom
    FROM plan_areas p JOIN admin_areas a ON a.code = p.community_code AND a.level = 'community'
    WHERE p.plan_id = :plan_id AND p.layer = 'compound' AND p.action = 'add'
    """
)
_COMPOUNDS_REMOVE = text(
    "DELETE FROM compounds x USING plan_areas p "
    "WHERE p.plan_id = :plan_id AND p.layer = 'compound' AND p.action = 'remove' AND x.id = p.base_id"
)


def check_area_base(session: Session, plan: BoundaryPlan) -> None:
    """409 when a compound or community changed since it entered the plan."""
    stale = session.execute(_STALE, {"plan_id": plan.id}).all()
    if stale:
        names = ", ".join(f"{layer} {code}" for layer, code in stale)
        raise Conflict(
            f"{names} 已被修改 / {names} changed since this plan took them in; re-import them and commit again",
            detail={"stale": [{"layer": layer, "code": code} for layer, code in stale]},
        )


def apply_communities(session: Session, plan: BoundaryPlan) -> dict[str, list[str]]:
    """Communities first (new cells and compounds may belong to a new community)."""
    session.execute(_KEEP_OLD, {"plan_id": plan.id})
    session.execute(_COMMUNITIES_CHANGE, {"plan_id": plan.id})
    session.execute(_COMMUNITIES_ADD, {"plan_id": plan.id})
    return _actions(session, plan, "community")


def apply_compounds(session: Session, plan: BoundaryPlan) -> dict[str, list[str]]:
    session.execute(_COMPOUNDS_CHANGE, {"plan_id": plan.id})
    session.execute(_COMPOUNDS_ADD, {"plan_id": plan.id})
    session.execute(_COMPOUNDS_REMOVE, {"plan_id": plan.id})
    return _actions(session, plan, "compound")


def _actions(session: Session, plan: BoundaryPlan, layer: str) -> dict[str, list[str]]:
    rows = session.execute(
        text("SELECT action, code FROM plan_areas WHERE plan_id = :p AND layer = :l ORDER BY code"),
        {"p": plan.id, "l": layer},
    ).all()
    return {a: [code for action, code in rows if action == a] for a in ("add", "change", "remove")}


_COMPOUND_CELLS = text(
    f"""
    UPDATE compounds x SET cell_code = (
        SELECT c.code FROM ({COVERING_CELL_SQL.format(point="ST_PointOnSurface(x.geom)")}) AS c)
    WHERE x.code = ANY(:codes)
    """
).bindparams(at_param())  # the live cells
# open tickets whose compound may have changed: anchored to a changed compound, or inside one's new shape
_TICKET_COMPOUNDS = text(
    f"""
    WITH changed AS MATERIALIZED (
        SELECT geom FROM compounds WHERE code = ANY(:codes)
    ),
    candidates AS MATERIALIZED (
        SELECT t.id, t.compound_code FROM tickets t
        WHERE t.state <> ALL(:skip) AND t.compound_code = ANY(:codes)
        UNION
        SELECT t.id, t.compound_code FROM tickets t JOIN changed c ON t.geom && c.geom AND ST_Covers(c.geom, t.geom)
        WHERE t.state <> ALL(:skip)
    ),
    target AS MATERIALIZED (
        SELECT c.id, c.compound_code AS old_code,
               (SELECT x.code FROM tickets t, LATERAL ({covering_sql("compounds", "t.geom")}) AS x
                WHERE t.id = c.id) AS new_code
        FROM candidates c
    ),
    moved AS (
        UPDATE tickets t SET compound_code = target.new_code FROM target
        WHERE t.id = target.id AND t.compound_code IS DISTINCT FROM target.new_code
        RETURNING target.old_code, target.new_code
    )
    SELECT old_code, new_code, count(*) AS n FROM moved GROUP BY 1, 2 ORDER BY 1 NULLS FIRST, 2 NULLS FIRST
    """
)


def reanchor_compounds(session: Session, codes: list[str], skip_states: Sequence[str]) -> dict[str, Any]:
    """After a commit: changed compounds get the cell under them; open tickets get the compound they lie in."""
    if not codes:
        return {"count": 0, "by_compound": []}
    session.execute(_COMPOUND_CELLS, {"codes": codes})
    rows = session.execute(_TICKET_COMPOUNDS, {"codes": codes, "skip": list(skip_states)}).all()
    flows = [{"from": r.old_code, "to": r.new_code, "count": int(r.n)} for r in rows]
    return {"count": sum(f["count"] for f in flows), "by_compound": flows}
