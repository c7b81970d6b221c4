"""Compound (小区) and community (社区) boundaries in a plan: drafted, validated and committed with the cells.

A plan may redraw compounds and communities besides cells. Their drafts live in `plan_areas` (one row per
added / changed / removed area). Every community an area touches enters the plan's base, so validation
checks that community's cells against its drafted boundary, and the commit locks it like a cell redraw.
A commit updates the live compound and community rows in place (their ids stay: buildings, tickets and cells
refer to them) and keeps the replaced geometry in `plan_areas.old_geom`; their versions (`compound_versions`,
`admin_area_versions`, gis.generations) are closed and opened at the commit time by triggers. `base_hash`
(md5 of the live geometry and name when the area entered the plan) makes a commit on a stale area fail
with 409. This module puts areas into a draft (through
gis.plans.edits.put_features); gis.plans.areas_commit makes them live.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound
from gis.models import utcnow
from gis.plans.draft import FeatureInput, ensure_base, live_features
from gis.plans.geo import as_multipolygon, geoms_from_wkb, same_shape
from gis.plans.layers import AREA_LAYERS, COMMUNITY_CODE, SPECS, Layer, check_code, check_layer
from gis.plans.models import BoundaryPlan, PlanArea
from gis.spatial import covering_sql


def _drafted(session: Session, plan: BoundaryPlan, layer: Layer, codes: list[str]) -> dict[str, Any]:
    """The plan's rows of these codes, with their geometry."""
    rows = session.execute(
        select(PlanArea, PlanArea.geom.ST_AsBinary())
        .where(PlanArea.plan_id == plan.id, PlanArea.layer == layer, PlanArea.code.in_(codes))
        .order_by(PlanArea.code)
    ).all()
    return {a.code: (a, g) for (a, _), g in zip(rows, geoms_from_wkb(rows, 1), strict=True)}


def _community_of(session: Session, plan: BoundaryPlan, area: FeatureInput, geom: BaseGeometry | None) -> str | None:
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


def put_areas(session: Session, plan: BoundaryPlan, layer: Layer, areas: list[FeatureInput]) -> list[PlanArea | None]:
    """Add or change compounds / communities in the draft; an area equal to its live row leaves the plan (None)."""
    spec = SPECS[check_layer(layer, AREA_LAYERS)]
    codes = [check_code(layer, a.code, what=f"{spec.label} {a.code}") for a in areas]
    live = live_features(session, layer, codes=codes)
    drafted = _drafted(session, plan, layer, codes)
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
                f"{spec.label} {area.code}: 没有几何，且不是现有的{spec.label} / no geometry given and no such "
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
            **{k: v for k, v in area.attributes.items() if k in spec.attributes and v is not None},
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


def area_counts(session: Session, plan: BoundaryPlan) -> dict[str, dict[str, int]]:
    rows = session.execute(
        text("SELECT layer, action, count(*) FROM plan_areas WHERE plan_id = :p GROUP BY 1, 2"), {"p": plan.id}
    ).all()
    out: dict[str, dict[str, int]] = {layer: dict.fromkeys(("add", "change", "remove"), 0) for layer in AREA_LAYERS}
    for layer, action, n in rows:
        out[layer][action] = int(n)
    return out
