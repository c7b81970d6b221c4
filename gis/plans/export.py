"""A plan's features out: GeoJSON for the editor map, and files (GeoJSON, GeoPackage, zipped Shapefile, CSV with
WKT, Excel) of one layer. One row builder per purpose serves every layer."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.plans.draft import DraftFeature, draft_features
from gis.plans.geo import as_multipolygon, feature, feature_collection
from gis.plans.layers import SPECS, check_layer
from gis.plans.models import BoundaryPlan
from gis.plans.write import write_layer


def _map_properties(f: DraftFeature) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "community_code": f.community_code,
        **{k: f.attributes[k] for k in SPECS[f.layer].map_attributes if k in f.attributes},
        "status": f.status,
        "valid": None if f.geom is None else bool(shapely.is_valid(f.geom)),
    }


def plan_features(session: Session, plan: BoundaryPlan, *, scope: str = "plan", layer: str = "cell") -> dict[str, Any]:
    """GeoJSON of the plan's own features (`plan`) or of the whole draft of its communities (`draft`), for
    cells, compounds or communities (a removed feature with its live geometry)."""
    checked = check_layer(layer)
    drafted = draft_features(session, plan, checked)
    if scope == "plan":
        drafted = [f for f in drafted if f.status != "live"]
    return feature_collection(
        [feature(f.geom if f.geom is not None else f.live_geom, _map_properties(f)) for f in drafted],
        plan_id=plan.id,
        status=plan.status,
        layer=checked,
    )


def _export_row(f: DraftFeature) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "community": f.community_code,
        **{k: f.attributes.get(k) for k in SPECS[f.layer].attributes},
        "status": f.status,
        "geom": as_multipolygon(f.geom) if f.geom is not None else None,
    }


def export_plan(session: Session, plan: BoundaryPlan, fmt: str, *, scope: str = "draft", layer: str = "cell") -> bytes:
    """The draft (or only the plan's changes) of one layer as GeoJSON, GeoPackage, zipped Shapefile, CSV with
    WKT, or an Excel table of attributes; removed features are left out."""
    drafted = [f for f in draft_features(session, plan, check_layer(layer)) if f.geom is not None]
    if scope == "plan":
        drafted = [f for f in drafted if f.status != "live"]
    rows = [_export_row(f) for f in drafted]
    if not rows:
        raise InvalidInput(f"方案 {plan.id} 没有可导出的{layer} / plan {plan.id} has no {layer}s to export")
    return write_layer(rows, fmt, layer=f"{layer}s")
