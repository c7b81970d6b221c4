"""Diff of a plan against the live cells: per cell added / removed / reshaped / renamed, area change, and
how many anchored rows (tickets, resources, buildings, compounds …) would move to another cell."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.anchoring import anchored_tables
from gis.plans.draft import DraftFeature, draft_features
from gis.plans.geo import LocalMetric, feature, feature_collection
from gis.plans.layers import AREA_LAYERS
from gis.plans.models import BoundaryPlan
from gis.plans.reanchor import run_moves

CHANGE_LABELS = {
    "added": "新增",
    "removed": "撤销",
    "reshaped": "边界调整",
    "attributes": "属性变更",
    "unchanged": "未变",
}


def _change(c: DraftFeature) -> str:
    if c.status == "add":
        return "added"
    if c.status == "remove":
        return "removed"
    if c.status == "change":
        if c.geom is not None and c.live_geom is not None and shapely.equals(c.geom, c.live_geom):
            return "attributes"
        return "reshaped"
    return "unchanged"


def _row(f: DraftFeature, change: str, metric: LocalMetric) -> dict[str, Any]:
    """A changed feature of any layer: the change and its areas before and after (m²)."""
    before = float(shapely.area(metric.to_m(f.live_geom))) if f.live_geom is not None else None
    after = float(shapely.area(metric.to_m(shapely.make_valid(f.geom)))) if f.geom is not None else None
    return {
        "code": f.code,
        "name": f.name,
        "community_code": f.community_code,
        "change": change,
        "change_label": CHANGE_LABELS[change],
        "area_m2_before": None if before is None else round(before, 1),
        "area_m2_after": None if after is None else round(after, 1),
        "area_m2_change": round((after or 0.0) - (before or 0.0), 1),
    }


def plan_diff(session: Session, plan: BoundaryPlan) -> dict[str, Any]:
    """Per changed cell: the change, areas before/after (m²), rows moving in and out; and the totals."""
    codes = sorted(plan.base)
    cells = draft_features(session, plan, "cell", codes)
    if not cells:
        return {"plan_id": plan.id, "communities": codes, "cells": [], "areas": [], "moved": {}, "totals": {}}
    metric = LocalMetric.around([c.geom or c.live_geom for c in cells])
    changed = [c for c in cells if c.status != "live"]
    community_ids = list(
        session.execute(text("SELECT id FROM admin_areas WHERE code = ANY(:codes)"), {"codes": codes}).scalars()
    )
    moved = run_moves(session, codes=[c.code for c in changed], community_ids=community_ids, plan_id=plan.id)
    flows: dict[str, dict[str, dict[str, int]]] = {}
    for table, m in moved.items():
        for flow in m["by_cell"]:
            for code, way in ((flow["from"], "out"), (flow["to"], "in")):
                if code is not None:
                    entry = flows.setdefault(code, {}).setdefault(table, {"in": 0, "out": 0})
                    entry[way] += flow["count"]
    rows = []
    for c in cells:
        change = _change(c)
        if change == "unchanged" and c.code not in flows:
            continue
        rows.append(
            {
                **_row(c, change, metric),
                "households_before": c.live_households,
                "households_after": None if c.status == "remove" else c.households,
                "moved": flows.get(c.code, {}),
            }
        )
    totals = {k: sum(1 for r in rows if r["change"] == k) for k in CHANGE_LABELS if k != "unchanged"}
    totals.update({f"moved_{t}": m["count"] for t, m in moved.items()})
    areas = area_diff(session, plan, codes, metric)
    totals["compounds_changed"] = sum(1 for a in areas if a["layer"] == "compound")
    totals["communities_changed"] = sum(1 for a in areas if a["layer"] == "community")
    return {"plan_id": plan.id, "communities": codes, "cells": rows, "areas": areas, "moved": moved, "totals": totals}


_COMPOUND_TICKETS = text(
    """
    SELECT d.code,
        (SELECT count(*) FROM tickets t WHERE t.state <> ALL(:skip) AND t.compound_code = d.code
            AND (d.wkb = '' OR NOT ST_Covers(ST_GeomFromWKB(decode(d.wkb, 'hex'), 4326), t.geom))) AS leaving,
        (SELECT count(*) FROM tickets t WHERE t.state <> ALL(:skip) AND d.wkb <> ''
            AND t.compound_code IS DISTINCT FROM d.code
            AND t.geom && ST_GeomFromWKB(decode(d.wkb, 'hex'), 4326)
            AND ST_Covers(ST_GeomFromWKB(decode(d.wkb, 'hex'), 4326), t.geom)) AS arriving
    FROM unnest(CAST(:codes AS text[]), CAST(:wkbs AS text[])) AS d(code, wkb)
    """
)


def area_diff(session: Session, plan: BoundaryPlan, codes: list[str], metric: LocalMetric) -> list[dict[str, Any]]:
    """Per drafted compound / community: the change, areas before and after, and for compounds how many open
    tickets would leave or join it."""
    out: list[dict[str, Any]] = []
    for layer in AREA_LAYERS:
        for a in draft_features(session, plan, layer, codes):
            if a.status != "live":
                out.append({"layer": layer, **_row(a, _change(a), metric)})
    compounds = [r for r in out if r["layer"] == "compound"]
    if compounds:
        geoms = {a.code: a.geom for a in draft_features(session, plan, "compound", codes)}
        skip = next((t.skip_values for t in anchored_tables() if t.table == "tickets"), ())
        counts = {
            r.code: r
            for r in session.execute(
                _COMPOUND_TICKETS,
                {
                    "codes": [r["code"] for r in compounds],
                    "wkbs": [
                        ""
                        if geoms.get(r["code"]) is None
                        else shapely.to_wkb(shapely.make_valid(geoms[r["code"]]), hex=True)
                        for r in compounds
                    ],
                    "skip": list(skip),
                },
            )
        }
        for r in compounds:
            c = counts.get(r["code"])
            r["open_tickets_leaving"] = int(c.leaving) if c else 0
            r["open_tickets_arriving"] = int(c.arriving) if c else 0
    return out


def diff_geojson(session: Session, plan: BoundaryPlan) -> dict[str, Any]:
    """Live and draft cells of the plan's communities for the diff map.

    Every feature has `side` ('live' or 'draft'), `code`, `change` (added / removed / reshaped / attributes /
    unchanged) with a Chinese label, areas and `moved` counts per anchored table; unchanged cells come once,
    as side 'draft', for context. The summary carries the totals."""
    diff = plan_diff(session, plan)
    by_code = {r["code"]: r for r in diff["cells"]}
    features = []
    for c in draft_features(session, plan, "cell"):
        row = by_code.get(c.code)
        props = row or {
            "code": c.code,
            "name": c.name,
            "community_code": c.community_code,
            "change": "unchanged",
            "change_label": CHANGE_LABELS["unchanged"],
            "moved": {},
        }
        if c.status != "live" and c.live_geom is not None:
            features.append(feature(c.live_geom, {**props, "side": "live"}))
        if c.geom is not None:
            features.append(feature(c.geom, {**props, "side": "draft"}))
    return feature_collection(features, summary=diff["totals"], plan_id=plan.id, communities=diff["communities"])
