"""Validate a plan's draft: geometry validity (reason, location, make_valid offered), codes, coverage of
each community (gaps, overlaps, slivers, edges), compounds inside one cell, households per cell.

The result is a GeoJSON FeatureCollection of problems for the map, with a summary; errors block a commit.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.plans.draft import CELL_CODE, DraftCell, communities, draft_cells, households_of
from gis.plans.geo import LocalMetric, as_multipolygon, feature, feature_collection, lonlat
from gis.plans.models import BoundaryPlan
from gis.plans.topology import Problem, Rules, check_community, check_compounds, invalid_location

__all__ = ["Rules", "validate_plan", "geometry_problems"]


def geometry_problems(code: str, geom: BaseGeometry | None) -> tuple[list[Problem], BaseGeometry | None]:
    """Problems of one cell geometry (in degrees) and the usable (repaired) polygonal geometry, if any."""
    if geom is None or geom.is_empty:
        return [
            Problem("empty_geometry", "error", f"网格 {code}: 几何为空 / the geometry is empty", None, [code])
        ], None
    if not isinstance(geom, Polygon | MultiPolygon):
        msg = f"网格 {code}: 不是面要素 ({geom.geom_type}) / a cell must be a Polygon or MultiPolygon"
        return [Problem("not_polygonal", "error", msg, shapely.point_on_surface(geom), [code])], None
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return [], geom
    where = invalid_location(reason, geom)
    repaired = as_multipolygon(shapely.make_valid(geom))
    msg = (
        f"网格 {code}: 几何无效 ({reason}) / invalid geometry: {reason}; "
        "use the make_valid repair (POST /v1/plans/{id}/repair) or redraw the ring"
    )
    extra = {"reason": reason, "repair": "make_valid", "repaired_area_changes": not repaired.is_empty}
    return [Problem("invalid_geometry", "error", msg, where, [code], extra=extra)], (
        repaired if not repaired.is_empty else None
    )


def code_problems(cells: list[DraftCell]) -> list[Problem]:
    out: list[Problem] = []
    for code, n in Counter(c.code for c in cells).items():
        if n > 1:
            out.append(
                Problem("duplicate_code", "error", f"网格编码 {code} 重复 / code {code} used {n} times", None, [code])
            )
    for c in cells:
        if not CELL_CODE.match(c.code):
            out.append(
                Problem("bad_code", "error", f"网格编码 {c.code!r} 不是15位数字 / not 15 digits", None, [c.code])
            )
        elif c.code[:12] != c.community_code:
            msg = f"网格 {c.code}: 编码前缀不是社区编码 {c.community_code} / code must start with its community code"
            out.append(Problem("code_prefix", "error", msg, None, [c.code]))
    return out


def _compounds(session: Session, community_codes: list[str]) -> dict[str, list[tuple[str, BaseGeometry]]]:
    rows = session.execute(
        text(
            "SELECT a.code, x.code, ST_AsBinary(x.geom) FROM compounds x JOIN admin_areas a ON a.id = x.community_id "
            "WHERE a.code = ANY(:codes) ORDER BY x.code"
        ),
        {"codes": community_codes},
    ).all()
    out: dict[str, list[tuple[str, BaseGeometry]]] = {}
    for community, code, wkb in rows:
        out.setdefault(community, []).append((code, shapely.from_wkb(bytes(wkb))))
    return out


def validate_plan(session: Session, plan: BoundaryPlan, rules: Rules | None = None) -> dict[str, Any]:
    """All problems of the plan's draft as a GeoJSON FeatureCollection (geometries in WGS84) with a summary."""
    rules = rules or Rules()
    codes = sorted(plan.base)
    if not codes:
        return _result([], {}, [])
    comms = communities(session, codes)
    cells = draft_cells(session, plan, codes)
    present = [c for c in cells if c.status != "remove"]
    metric = LocalMetric.around([c.geom for c in comms.values()])
    compounds = _compounds(session, codes)
    problems: list[Problem] = code_problems(present)
    degree_problems: list[Problem] = []  # already in degrees (validity locations)
    coverage: dict[str, bool] = {}
    for code in codes:
        usable_codes, usable = [], []
        for c in (c for c in present if c.community_code == code):
            found, geom = geometry_problems(c.code, c.geom)
            degree_problems += found
            if geom is not None:
                usable_codes.append(c.code)
                usable.append(geom)
        cells_m = list(metric.to_m(usable)) if usable else []
        found, coverage[code] = check_community(code, metric.to_m(comms[code].geom), usable_codes, cells_m, rules)
        problems += found
        comp = compounds.get(code, [])
        problems += check_compounds(
            code, usable_codes, cells_m, [k for k, _ in comp], list(metric.to_m([g for _, g in comp])), rules
        )
    degree_problems += _households(session, codes, present, rules)
    for p in problems:
        if p.geom is not None:
            p.geom = metric.to_deg(p.geom)
    return _result(degree_problems + problems, coverage, present)


def _households(session: Session, codes: list[str], cells: list[DraftCell], rules: Rules) -> list[Problem]:
    if rules.households_min is None and rules.households_max is None:
        return []
    changed = [c for c in cells if c.status in ("add", "change") and c.geom is not None]
    if not changed:
        return []
    counted = households_of(session, codes).per_cell([c.geom for c in changed])
    lo, hi = rules.households_min or 0, rules.households_max or 10**9
    out = []
    for c, n in zip(changed, counted, strict=True):
        if not lo <= n <= hi:
            out.append(
                Problem(
                    "households_out_of_band",
                    "warning",
                    f"网格 {c.code}: {n} 户，不在 {lo}–{hi} 户范围内 / {n} households, outside the band {lo}–{hi}",
                    shapely.point_on_surface(shapely.make_valid(c.geom)),
                    [c.code],
                    extra={"households": n, "band": [lo, hi]},
                )
            )
    return out


def _result(problems: list[Problem], coverage: dict[str, bool], cells: list[DraftCell]) -> dict[str, Any]:
    features = []
    for p in problems:
        where = shapely.point_on_surface(p.geom) if p.geom is not None and not p.geom.is_empty else None
        props = {
            "kind": p.kind,
            "severity": p.severity,
            "message": p.message,
            "cells": p.cells,
            "area_m2": p.area_m2,
            "location": lonlat(where) if where is not None else None,
            **p.extra,
        }
        features.append(feature(p.geom, props))
    errors = sum(1 for p in problems if p.severity == "error")
    summary = {
        "ok": errors == 0,
        "errors": errors,
        "warnings": len(problems) - errors,
        "by_kind": dict(Counter(p.kind for p in problems)),
        "coverage_valid": coverage,
        "cells": len(cells),
    }
    return feature_collection(features, summary=summary)
