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

from gis.plans.draft import Community, DraftFeature, communities, draft_features, households_of
from gis.plans.geo import LocalMetric, as_multipolygon, feature, feature_collection, lonlat
from gis.plans.layers import CELL_CODE
from gis.plans.models import BoundaryPlan
from gis.plans.topology import NOISE_M2, Problem, Rules, check_community, check_compounds, invalid_location

__all__ = ["Rules", "validate_plan", "geometry_problems"]


def geometry_problems(
    code: str, geom: BaseGeometry | None, what: str = "网格"
) -> tuple[list[Problem], BaseGeometry | None]:
    """Problems of one geometry (in degrees) and the usable (repaired) polygonal geometry, if any."""
    if geom is None or geom.is_empty:
        return [
            Problem("empty_geometry", "error", f"{what} {code}: 几何为空 / the geometry is empty", None, [code])
        ], None
    if not isinstance(geom, Polygon | MultiPolygon):
        msg = f"{what} {code}: 不是面要素 ({geom.geom_type}) / it must be a Polygon or MultiPolygon"
        return [Problem("not_polygonal", "error", msg, shapely.point_on_surface(geom), [code])], None
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return [], geom
    where = invalid_location(reason, geom)
    repaired = as_multipolygon(shapely.make_valid(geom))
    msg = (
        f"{what} {code}: 几何无效 ({reason}) / invalid geometry: {reason}; "
        "use the make_valid repair (POST /v1/plans/{id}/repair) or redraw the ring"
    )
    extra = {"reason": reason, "repair": "make_valid", "repaired_area_changes": not repaired.is_empty}
    return [Problem("invalid_geometry", "error", msg, where, [code], extra=extra)], (
        repaired if not repaired.is_empty else None
    )


def code_problems(cells: list[DraftFeature]) -> list[Problem]:
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


def validate_plan(session: Session, plan: BoundaryPlan, rules: Rules | None = None) -> dict[str, Any]:
    """All problems of the plan's draft as a GeoJSON FeatureCollection (geometries in WGS84) with a summary."""
    rules = rules or Rules()
    codes = sorted(plan.base)
    if not codes:
        return _result([], {}, [])
    comms = communities(session, codes, plan)
    cells = draft_features(session, plan, "cell", codes)
    present = [c for c in cells if c.status != "remove"]
    metric = LocalMetric.around([c.geom for c in comms.values()])
    compounds, compounds_households = _drafted_compounds(session, plan, codes)
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
    _mark_expected_straddles(problems, compounds_households, rules)
    degree_problems += _households(session, codes, present, rules)
    area_found, area_degrees = area_problems(session, plan, codes, comms, metric, rules)
    problems += area_found
    degree_problems += area_degrees
    for p in problems:
        if p.geom is not None:
            p.geom = metric.to_deg(p.geom)
    return _result(degree_problems + problems, coverage, present)


def _households(session: Session, codes: list[str], cells: list[DraftFeature], rules: Rules) -> list[Problem]:
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


def _result(problems: list[Problem], coverage: dict[str, bool], cells: list[DraftFeature]) -> dict[str, Any]:
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


def _drafted_compounds(
    session: Session, plan: BoundaryPlan, community_codes: list[str]
) -> tuple[dict[str, list[tuple[str, BaseGeometry]]], dict[str, int]]:
    """The compounds of each community as the plan draws them (removed ones left out, invalid ones repaired),
    and their households."""
    out: dict[str, list[tuple[str, BaseGeometry]]] = {}
    households: dict[str, int] = {}
    for a in draft_features(session, plan, "compound", community_codes):
        if a.geom is not None and not a.geom.is_empty:
            geom = a.geom if shapely.is_valid(a.geom) else as_multipolygon(shapely.make_valid(a.geom))
            out.setdefault(a.community_code, []).append((a.code, geom))
            households[a.code] = int(a.attributes.get("households") or 0)
    return out, households


def _mark_expected_straddles(problems: list[Problem], households: dict[str, int], rules: Rules) -> None:
    """A compound with more households than one cell may hold has to be shared by several cells (by building):
    say so, so planners can tell these from compounds cut by a careless edge."""
    if rules.households_max is None:
        return
    for p in problems:
        n = households.get(str(p.extra.get("compound")), 0)
        if p.kind == "compound_straddles" and n > rules.households_max:
            p.extra["expected"] = True
            p.message += (
                f"（{n} 户，超过单个网格上限 {rules.households_max}，按楼栋分属多个网格属正常）/ "
                f"it has {n} households, more than one cell may hold ({rules.households_max}): "
                "sharing it by building is expected"
            )


_SIBLINGS = text(
    """
    SELECT s.code, ST_AsBinary(s.geom) FROM admin_areas s
    WHERE s.level = 'community' AND left(s.code, 9) = ANY(:streets) AND s.code <> ALL(:codes)
    """
)
_BUILDINGS = text(
    """
    SELECT x.code, count(b.id) AS buildings,
           count(b.id) FILTER (WHERE NOT ST_Covers(ST_GeomFromWKB(decode(d.wkb, 'hex'), 4326),
                                                   ST_PointOnSurface(b.geom))) AS outside
    FROM unnest(CAST(:codes AS text[]), CAST(:wkbs AS text[])) AS d(code, wkb)
    JOIN compounds x ON x.code = d.code JOIN buildings b ON b.compound_id = x.id
    GROUP BY x.code
    """
)


def area_problems(
    session: Session,
    plan: BoundaryPlan,
    codes: list[str],
    comms: dict[str, Community],
    metric: LocalMetric,
    rules: Rules,
) -> tuple[list[Problem], list[Problem]]:
    """Drafted communities and compounds: valid geometry; communities of a 街道 not overlapping; compounds
    inside their community, not overlapping each other, not dropping buildings; no compound removed with
    its buildings. Returns (problems in metres, problems in degrees)."""
    drafted = [a for a in draft_features(session, plan, "community", codes) if a.status in ("add", "change")]
    degree_problems = [p for a in drafted for p in geometry_problems(a.code, a.geom, "社区")[0]]
    metric_problems = _community_overlaps(session, drafted, codes, comms, metric, rules)
    compounds = draft_features(session, plan, "compound", codes)
    changed = [a for a in compounds if a.status in ("add", "change") and a.geom is not None]
    degree_problems += [p for a in changed for p in geometry_problems(a.code, a.geom, "小区")[0]]
    usable = {a.code: shapely.make_valid(a.geom) for a in compounds if a.geom is not None}
    for a in changed:
        metric_problems += _compound_placement(a, compounds, usable, comms, metric, rules)
    touched = [a for a in compounds if a.status in ("change", "remove")]
    degree_problems += _removed_with_buildings(session, [a for a in touched if a.status == "remove"])
    degree_problems += _buildings_left_outside(session, touched, usable)
    return metric_problems, degree_problems


def _community_overlaps(
    session: Session,
    drafted: list[DraftFeature],
    codes: list[str],
    comms: dict[str, Community],
    metric: LocalMetric,
    rules: Rules,
) -> list[Problem]:
    """Each drafted community against the other communities of its 街道 (live, or as the plan draws them)."""
    if not drafted:
        return []
    out: list[Problem] = []
    streets = sorted({a.code[:9] for a in drafted})
    rows = session.execute(_SIBLINGS, {"streets": streets, "codes": codes}).all()
    others = {code: shapely.from_wkb(bytes(wkb)) for code, wkb in rows}
    others.update({c: comm.geom for c, comm in comms.items()})
    for a in drafted:
        mine = metric.to_m(shapely.make_valid(comms[a.code].geom))
        for other, geom in sorted(others.items()):
            if other == a.code or other[:9] != a.code[:9]:
                continue
            overlap = shapely.intersection(mine, metric.to_m(shapely.make_valid(geom)))
            area = float(overlap.area)
            if area <= NOISE_M2:
                continue
            error = area >= rules.sliver_m2
            out.append(
                Problem(
                    "community_overlap" if error else "community_sliver",
                    "error" if error else "warning",
                    f"社区 {a.code} 与社区 {other} 重叠 {area:.1f} ㎡ / communities {a.code} and {other} overlap "
                    f"by {area:.1f} m²; redraw the shared edge",
                    overlap,
                    [],
                    area_m2=round(area, 1),
                    extra={"communities": [a.code, other]},
                )
            )
    return out


def _compound_placement(
    a: DraftFeature,
    compounds: list[DraftFeature],
    usable: dict[str, BaseGeometry],
    comms: dict[str, Community],
    metric: LocalMetric,
    rules: Rules,
) -> list[Problem]:
    """A drafted compound reaching outside its community, or overlapping another compound of it."""
    out: list[Problem] = []
    mine = metric.to_m(usable[a.code])
    community = comms.get(a.community_code)
    if community is not None:
        outside = shapely.difference(mine, metric.to_m(shapely.make_valid(community.geom)))
        if outside.area > max(rules.straddle_min_m2, NOISE_M2):
            out.append(
                Problem(
                    "compound_outside_community",
                    "warning",
                    f"小区 {a.code} 有 {outside.area:.1f} ㎡ 在社区 {a.community_code} 之外 / compound {a.code} "
                    f"reaches {outside.area:.1f} m² outside its community {a.community_code}",
                    outside,
                    [],
                    area_m2=round(float(outside.area), 1),
                    extra={"compound": a.code},
                )
            )
    for other in compounds:
        if other.code == a.code or other.geom is None or other.community_code != a.community_code:
            continue
        if other.status in ("add", "change") and other.code < a.code:
            continue  # each pair of drafted compounds once
        overlap = shapely.intersection(mine, metric.to_m(usable[other.code]))
        if overlap.area > max(rules.sliver_m2, NOISE_M2):
            out.append(
                Problem(
                    "compound_overlap",
                    "warning",
                    f"小区 {a.code} 与小区 {other.code} 重叠 {overlap.area:.1f} ㎡ / compounds overlap",
                    overlap,
                    [],
                    area_m2=round(float(overlap.area), 1),
                    extra={"compounds": [a.code, other.code]},
                )
            )
    return out


def _removed_with_buildings(session: Session, removed: list[DraftFeature]) -> list[Problem]:
    """A compound removed while buildings still belong to it (an error: they would lose their compound)."""
    counts = _building_counts(session, [a.code for a in removed])
    return [
        Problem(
            "compound_has_buildings",
            "error",
            f"小区 {a.code} 还有 {counts[a.code]} 栋楼，不能撤销 / compound {a.code} still has "
            f"{counts[a.code]} building(s): redraw it or move them before removing it",
            shapely.point_on_surface(a.live_geom) if a.live_geom is not None else None,
            [],
            extra={"compound": a.code, "buildings": counts[a.code]},
        )
        for a in removed
        if counts.get(a.code)
    ]


def _buildings_left_outside(
    session: Session, touched: list[DraftFeature], usable: dict[str, BaseGeometry]
) -> list[Problem]:
    """A redrawn compound whose new boundary leaves some of its buildings outside."""
    if not touched:
        return []
    wkbs = [shapely.to_wkb(usable[a.code], hex=True) if a.code in usable else "" for a in touched]
    held = {
        r.code: r
        for r in session.execute(
            _BUILDINGS,
            {"codes": [a.code for a in touched if a.geom is not None], "wkbs": [w for w in wkbs if w]},
        ).all()
    }
    out: list[Problem] = []
    for a in touched:
        r = held.get(a.code)
        if r is not None and r.outside:
            out.append(
                Problem(
                    "buildings_outside_compound",
                    "warning",
                    f"小区 {a.code}: {r.outside}/{r.buildings} 栋楼在新边界之外 / {r.outside} of its "
                    f"{r.buildings} buildings lie outside the redrawn compound",
                    shapely.point_on_surface(usable[a.code]),
                    [],
                    extra={"compound": a.code, "buildings_outside": int(r.outside)},
                )
            )
    return out


def _building_counts(session: Session, codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = session.execute(
        text(
            "SELECT x.code, count(b.id) FROM compounds x JOIN buildings b ON b.compound_id = x.id "
            "WHERE x.code = ANY(:codes) GROUP BY 1"
        ),
        {"codes": codes},
    ).all()
    return {code: int(n) for code, n in rows}
