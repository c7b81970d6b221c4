"""The plan diff map's data (gis.mapdata.PlanDiffMap): live vs draft cells with change flags, the pieces of
ground that change cell, and what a commit would re-anchor."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.mapdata import PlanDiffMap
from gis.models import User
from gis.plans.diff import plan_diff
from gis.plans.draft import draft_features, get_plan
from gis.plans.geo import LocalMetric, feature, feature_collection
from gis.plans.layers import AREA_LAYERS
from gis.plans.topology import NOISE_M2

_AREA_CHANGE = {"add": "added", "change": "changed", "remove": "removed"}
_MAP_CHANGE = {"added": "added", "removed": "removed", "reshaped": "changed", "attributes": "changed"}


def plan_diff_map(session: Session, plan_id: int) -> PlanDiffMap:
    """Everything the diff map page draws, for one plan."""
    plan = get_plan(session, plan_id)
    diff = plan_diff(session, plan)
    rows = {r["code"]: r for r in diff["cells"]}
    cells = draft_features(session, plan, "cell")
    live, draft = [], []
    for c in cells:
        row = rows.get(c.code, {})
        props = {"code": c.code, "name": c.name, "households": c.households, "community_code": c.community_code}
        if c.live_geom is not None:
            live.append(feature(c.live_geom, {**props, "households": c.live_households}))
        change = _MAP_CHANGE.get(row.get("change", ""), "unchanged")
        geom = c.geom if c.geom is not None else c.live_geom
        draft.append(
            feature(
                geom,
                {
                    **props,
                    "change": change,
                    "area_m2_change": row.get("area_m2_change", 0.0),
                    "moved": row.get("moved", {}),
                },
            )
        )
    pieces = _moving_ground(cells, diff)
    areas = []
    for layer in AREA_LAYERS:
        for a in draft_features(session, plan, layer):
            if a.status == "live":
                continue
            props = {"layer": layer, "code": a.code, "name": a.name, "change": _AREA_CHANGE[a.status]}
            if a.live_geom is not None:
                areas.append(feature(a.live_geom, {**props, "side": "live"}))
            if a.geom is not None:
                areas.append(feature(a.geom, {**props, "side": "draft"}))
    affected = {table: int(m["count"]) for table, m in diff["moved"].items()}
    geoms = [c.geom or c.live_geom for c in cells if (c.geom or c.live_geom) is not None]
    bounds = tuple(float(v) for v in shapely.total_bounds(geoms)) if geoms else (0.0, 0.0, 0.0, 0.0)
    author = session.scalar(select(User.full_name).where(User.id == plan.created_by_id)) if plan.created_by_id else None
    return PlanDiffMap(
        plan={
            "id": plan.id,
            "code": f"plan-{plan.id}",
            "name": plan.name,
            "status": plan.status,
            "author": author,
            "communities": sorted(plan.base),
            "totals": diff["totals"],
        },
        live=feature_collection(live),
        draft=feature_collection(draft),
        changed=feature_collection(pieces),
        affected=affected,
        bounds=(bounds[0], bounds[1], bounds[2], bounds[3]),
        areas=feature_collection(areas),
    )


def _moving_ground(cells: list[Any], diff: dict[str, Any]) -> list[dict[str, Any]]:
    """Pieces of ground whose cell changes: live cell ∩ draft cell with different codes."""
    old = [c for c in cells if c.live_geom is not None and c.status != "live"]
    new = [c for c in cells if c.geom is not None and c.status in ("add", "change")]
    if not old or not new:
        return []
    metric = LocalMetric.around([c.live_geom for c in old])
    new_geoms = np.asarray([shapely.make_valid(c.geom) for c in new], dtype=object)
    oi, ni = shapely.STRtree(new_geoms).query(np.asarray([c.live_geom for c in old], dtype=object), "intersects")
    tickets = {(f["from"], f["to"]): f["count"] for f in diff["moved"].get("tickets", {}).get("by_cell", [])}
    out = []
    for i, j in zip(oi, ni, strict=True):
        if old[i].code == new[j].code:
            continue
        piece = shapely.intersection(old[i].live_geom, new_geoms[j])
        area = float(shapely.area(metric.to_m(piece)))
        if area > NOISE_M2:
            key = (old[i].code, new[j].code)
            out.append(
                feature(
                    piece,
                    {"from_code": key[0], "to_code": key[1], "area_m2": round(area, 1), "tickets": tickets.get(key, 0)},
                )
            )
    return out
