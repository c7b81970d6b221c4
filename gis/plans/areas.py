"""Compound (小区) and community (社区) boundaries in a plan: drafted, validated and committed with the cells.

A plan may redraw compounds and communities besides cells. Their drafts live in `plan_areas` (one row per
added / changed / removed area). Every community an area touches enters the plan's base, so validation
checks that community's cells against its drafted boundary, and the commit locks it like a cell redraw.
Compounds and communities are not versioned rows: a commit updates them in place and keeps the replaced
geometry in `plan_areas.old_geom`; `base_hash` (md5 of the live geometry and name when the area entered
the plan) makes a commit on a stale area fail with 409.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput, NotFound
from gis.models import utcnow
from gis.plans.draft import ensure_base
from gis.plans.geo import as_multipolygon, same_shape
from gis.plans.models import AREA_LAYERS, BoundaryPlan, PlanArea
from gis.spatial import COVERING_CELL_SQL, at_param, covering_sql

COMMUNITY_CODE = re.compile(r"^[0-9]{12}$")
COMPOUND_CODE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")
LABELS = {"compound": "小区 / compound", "community": "社区 / community"}
ATTRIBUTES = {"compound": ("kind", "households", "address"), "community": ("party_org", "secretary", "phone")}

_LIVE = {
    "compound": """
        SELECT x.id, x.code, x.name, a.code AS community_code, ST_AsBinary(x.geom) AS wkb,
               md5(ST_AsBinary(x.geom) || convert_to(x.name, 'UTF8')) AS hash,
               jsonb_build_object('kind', x.kind, 'households', x.households, 'address', x.address) AS attributes
        FROM compounds x JOIN admin_areas a ON a.id = x.community_id
        WHERE {where} ORDER BY x.code
    """,
    "community": """
        SELECT a.id, a.code, a.name, a.code AS community_code, ST_AsBinary(a.geom) AS wkb,
               md5(ST_AsBinary(a.geom) || convert_to(a.name, 'UTF8')) AS hash,
               jsonb_build_object('party_org', a.party_org, 'secretary', a.secretary, 'phone', a.phone) AS attributes
        FROM admin_areas a
        WHERE a.level = 'community' AND {where} ORDER BY a.code
    """,
}
_BY_CODE = {"compound": "x.code = ANY(:codes)", "community": "a.code = ANY(:codes)"}
_BY_COMMUNITY = {"compound": "a.code = ANY(:codes)", "community": "a.code = ANY(:codes)"}


@dataclass
class AreaInput:
    """An area to put into a draft; `geom` None keeps the current geometry (an attribute update)."""

    code: str
    geom: BaseGeometry | None
    name: str | None = None
    community_code: str | None = None  # compounds: the community they belong to
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class DraftArea:
    layer: str
    code: str
    name: str
    community_code: str
    geom: BaseGeometry | None  # None for a removed area
    status: str  # live | add | change | remove
    attributes: dict[str, Any]
    live_id: int | None = None
    live_geom: BaseGeometry | None = None


def check_layer(layer: str) -> str:
    if layer not in AREA_LAYERS:
        raise InvalidInput(f"layer 必须是 {', '.join(AREA_LAYERS)} / layer must be one of {', '.join(AREA_LAYERS)}")
    return layer


def check_area_code(layer: str, code: str, *, what: str) -> str:
    code = str(code).strip()
    if layer == "community" and not COMMUNITY_CODE.match(code):
        raise InvalidInput(f"{what}: 社区编码 {code!r} 应为12位数字 / a community code has 12 digits")
    if layer == "compound" and not COMPOUND_CODE.match(code):
        raise InvalidInput(f"{what}: 小区编码 {code!r} 无效 / a compound code has 1–20 letters, digits, '-' or '_'")
    return code


def _geoms(rows: Sequence[Any], index: int) -> list[BaseGeometry | None]:
    return [None if r[index] is None else shapely.from_wkb(bytes(r[index])) for r in rows]


def live_areas(
    session: Session, layer: str, *, codes: list[str] | None = None, communities: list[str] | None = None
) -> dict[str, Any]:
    """Live rows by code (id, code, name, community_code, geom, hash, attributes), by codes or by community."""
    where = _BY_CODE[layer] if codes is not None else _BY_COMMUNITY[layer]
    rows = session.execute(
        text(_LIVE[layer].format(where=where)), {"codes": codes if codes is not None else communities or []}
    ).all()
    return {r.code: (r, g) for r, g in zip(rows, _geoms(rows, 4), strict=True)}


def _plan_areas(session: Session, plan: BoundaryPlan, layer: str, codes: list[str] | None = None) -> dict[str, Any]:
    stmt = select(PlanArea, PlanArea.geom.ST_AsBinary()).where(PlanArea.plan_id == plan.id, PlanArea.layer == layer)
    if codes is not None:
        stmt = stmt.where(PlanArea.code.in_(codes))
    rows = session.execute(stmt.order_by(PlanArea.code)).all()
    return {a.code: (a, g) for (a, _), g in zip(rows, _geoms(rows, 1), strict=True)}


def draft_areas(
    session: Session, plan: BoundaryPlan, layer: str, community_codes: list[str] | None = None
) -> list[DraftArea]:
    """Every compound (or community) of the plan's communities as the draft makes it, removed ones included."""
    codes = sorted(plan.base) if community_codes is None else community_codes
    out: dict[str, DraftArea] = {}
    for code, (r, g) in live_areas(session, layer, communities=codes).items():
        out[code] = DraftArea(layer, code, r.name, r.community_code, g, "live", dict(r.attributes), r.id, g)
    for code, (a, g) in _plan_areas(session, plan, layer).items():
        live = out.get(code)
        out[code] = DraftArea(
            layer,
            code,
            a.name,
            a.community_code,
            None if a.action == "remove" else g,
            a.action,
            {**(live.attributes if live else {}), **a.attributes},
            live.live_id if live else a.base_id,
            live.live_geom if live else None,
        )
    return sorted(out.values(), key=lambda d: d.code)


def _community_of(session: Session, plan: BoundaryPlan, area: AreaInput, geom: BaseGeometry | None) -> str | None:
    """A new compound's community: given, else the code's 12-digit prefix, else the community under it."""
    candidates = [c for c in (area.community_code, area.code[:12]) if c and COMMUNITY_CODE.match(c)]
    for c in candidates:
        known = session.scalar(
            text(
                "SELECT code FROM admin_areas WHERE code = :c AND level = 'community' UNION "
                "SELECT code FROM plan_areas "
                "WHERE plan_id = :p AND layer = 'community' AND code = :c AND action = 'add'"
            ),
            {"c": c, "p": plan.id},
        )
        if known:
            return str(known)
        if c == area.community_code:
            raise InvalidInput(f"小区 {area.code}: 社区编码 {c} 不存在 / community {c} does not exist")
    if geom is None:
        return None
    found: str | None = session.scalar(
        text(
            "SELECT code FROM ("
            + covering_sql(
                "admin_areas", "ST_PointOnSurface(ST_GeomFromWKB(:wkb, 4326))", where="cov.level = 'community'"
            )
            + ") AS community"
        ),
        {"wkb": shapely.to_wkb(shapely.make_valid(geom))},
    )
    return found


def put_areas(session: Session, plan: BoundaryPlan, layer: str, areas: list[AreaInput]) -> list[PlanArea | None]:
    """Add or change compounds / communities in the draft; an area equal to its live row leaves the plan (None)."""
    check_layer(layer)
    codes = [check_area_code(layer, a.code, what=f"{LABELS[layer]} {a.code}") for a in areas]
    live = live_areas(session, layer, codes=codes)
    drafted = _plan_areas(session, plan, layer, codes)
    out: list[PlanArea | None] = []
    for area in areas:
        lv, (feat, feat_geom) = live.get(area.code), drafted.get(area.code, (None, None))
        row, live_geom = lv if lv else (None, None)
        geom = (
            area.geom
            if area.geom is not None
            else (feat_geom if feat is not None and feat.action != "remove" else live_geom)
        )
        if geom is None:
            raise NotFound(
                f"{LABELS[layer]} {area.code}: 没有几何，且不是现有的{LABELS[layer]} / no geometry given and no such "
                f"{layer} exists; an attribute table can only change existing {layer}s"
            )
        mp = as_multipolygon(geom)
        if layer == "community":
            community_code = area.code
            if row is None and not session.scalar(
                text("SELECT 1 FROM admin_areas WHERE code = :c AND level = 'subdistrict'"), {"c": area.code[:9]}
            ):
                raise InvalidInput(
                    f"社区 {area.code}: 前9位 {area.code[:9]} 不是已有街道 / a new community's code must start "
                    "with the 9-digit code of an existing 街道"
                )
        else:
            community_code = area.community_code or (row.community_code if row else None) or ""
            if not community_code or row is None:
                community_code = _community_of(session, plan, area, mp) or ""
            if not community_code:
                raise InvalidInput(
                    f"小区 {area.code}: 无法确定所属社区 / cannot tell which community it belongs to: give a "
                    "'community' column (社区编码) or draw it inside a community"
                )
        name = area.name if area.name is not None else (feat.name if feat else row.name if row else area.code)
        attrs = {
            **(dict(row.attributes) if row else {}),
            **(feat.attributes if feat else {}),
            **{k: v for k, v in area.attributes.items() if k in ATTRIBUTES[layer] and v is not None},
        }
        if layer == "compound":
            attrs.setdefault("kind", "closed")
            attrs.setdefault("households", 0)
        if row is not None:
            same_geom = same_shape(live_geom, mp)
            if same_geom:  # reprojection noise: keep the live boundary exactly
                mp = as_multipolygon(live_geom)
            same_community = layer == "community" or community_code == row.community_code
            if same_geom and same_community and name == row.name and attrs == dict(row.attributes):
                if feat is not None:
                    session.delete(feat)
                out.append(None)
                continue
        if layer == "compound":
            ensure_base(session, plan, community_code)
        if feat is None:
            feat = PlanArea(plan_id=plan.id, layer=layer, code=area.code)
            session.add(feat)
        feat.community_code = community_code
        feat.action = "change" if row is not None else "add"
        feat.base_id = row.id if row is not None else None
        feat.base_hash = row.hash if row is not None else None
        feat.name = str(name)[:80]
        feat.attributes = attrs
        feat.geom = "SRID=4326;" + shapely.to_wkt(mp, rounding_precision=-1)
        feat.updated_at = utcnow()
        out.append(feat)
    session.flush()
    for feat in out:  # a new community enters the base once its plan row exists (its cells are all new)
        if feat is not None and layer == "community":
            ensure_base(session, plan, feat.code)
    plan.updated_at = utcnow()
    session.flush()
    return out


def remove_area(session: Session, plan: BoundaryPlan, layer: str, code: str) -> None:
    """Remove a compound in the draft (a compound only in the plan is dropped). Communities are never removed:
    their old cells and tickets keep referring to them; redraw them instead."""
    check_layer(layer)
    code = check_area_code(layer, code, what=f"{LABELS[layer]} {code}")
    if layer == "community":
        raise InvalidInput(
            f"社区 {code} 不能撤销，请调整边界或并入相邻社区的网格 / a community cannot be removed (past cells and "
            "tickets refer to it); redraw its boundary and move its cells instead"
        )
    live = live_areas(session, layer, codes=[code])
    feat = session.scalar(
        select(PlanArea).where(PlanArea.plan_id == plan.id, PlanArea.layer == layer, PlanArea.code == code)
    )
    if code not in live:
        if feat is None:
            raise NotFound(f"小区 {code} 不在方案或现有小区中 / compound {code} is neither live nor in the plan")
        session.delete(feat)
    else:
        row, _ = live[code]
        ensure_base(session, plan, row.community_code)
        if feat is None:
            feat = PlanArea(plan_id=plan.id, layer=layer, code=code)
            session.add(feat)
        feat.community_code, feat.action, feat.geom = row.community_code, "remove", None
        feat.base_id, feat.base_hash, feat.name, feat.attributes = row.id, row.hash, row.name, {}
        feat.updated_at = utcnow()
    plan.updated_at = utcnow()
    session.flush()


def revert_area(session: Session, plan: BoundaryPlan, layer: str, code: str) -> None:
    session.execute(
        delete(PlanArea).where(PlanArea.plan_id == plan.id, PlanArea.layer == check_layer(layer), PlanArea.code == code)
    )


def area_counts(session: Session, plan: BoundaryPlan) -> dict[str, dict[str, int]]:
    rows = session.execute(
        text("SELECT layer, action, count(*) FROM plan_areas WHERE plan_id = :p GROUP BY 1, 2"), {"p": plan.id}
    ).all()
    out = {layer: dict.fromkeys(("add", "change", "remove"), 0) for layer in AREA_LAYERS}
    for layer, action, n in rows:
        out[layer][action] = int(n)
    return out


# --- commit -------------------------------------------------------------------------------------------

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
    """
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
               (SELECT x.code FROM compounds x JOIN tickets t ON t.id = c.id
                WHERE x.geom && t.geom AND ST_Covers(x.geom, t.geom) ORDER BY x.code LIMIT 1) AS new_code
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
