"""Coverage checks for the cells of one community, on geometries in metres (pure shapely, no database).

A community's cells must tile it: every geometry valid, nothing outside the community, no gaps and no
overlaps (each with its area and location; those under the sliver tolerance are reported as slivers),
and shared edges matching vertex for vertex (shapely.coverage_invalid_edges).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gis.plans.geo import as_multipolygon

NOISE_M2 = 0.01  # floating-point crumbs of overlay operations, not problems
_WHERE = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


@dataclass
class Problem:
    """One finding: a stable `kind`, error (blocks commit) or warning, where, how big, and a message."""

    kind: str
    severity: str
    message: str
    geom: BaseGeometry | None
    cells: list[str] = field(default_factory=list)
    area_m2: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    sliver_m2: float = 10.0  # gaps/overlaps smaller than this are slivers (warnings), larger ones errors
    households_min: int | None = 200
    households_max: int | None = 300
    straddle_min_m2: float = 1.0  # a compound's part in another cell smaller than this is ignored


def invalid_location(reason: str, geom_deg: BaseGeometry) -> BaseGeometry:
    """The point named in a GEOS validity reason ('Self-intersection[x y]'), else a point on the geometry."""
    m = _WHERE.search(reason)
    if m:
        return Point(float(m.group(1)), float(m.group(2)))
    return shapely.point_on_surface(geom_deg) if not geom_deg.is_empty else Point()


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    polys = as_multipolygon(geom)
    return [p for p in polys.geoms if p.area > NOISE_M2]


def _area_problem(kind: str, part: BaseGeometry, cells: list[str], rules: Rules, community: str) -> Problem:
    area = float(part.area)
    label = {"gap": ("空隙", "gap"), "overlap": ("重叠", "overlap"), "outside_community": ("超出社区", "outside")}[kind]
    if area < rules.sliver_m2:
        return Problem(
            "sliver",
            "warning",
            f"社区 {community}: 碎片{label[0]} {area:.2f} m² / sliver {label[1]} of {area:.2f} m² "
            f"(under {rules.sliver_m2:g} m²) {'between ' + ', '.join(cells) if cells else ''}".rstrip(),
            part,
            cells,
            round(area, 2),
            {"of": kind},
        )
    where = f" between {' and '.join(cells)}" if kind == "overlap" else (f" of {cells[0]}" if cells else "")
    return Problem(
        kind,
        "error",
        f"社区 {community}: {label[0]} {area:.1f} m² / {label[1]} of {area:.1f} m²{where}",
        part,
        cells,
        round(area, 1),
    )


def check_community(
    community_code: str, community_m: BaseGeometry, codes: list[str], cells_m: list[BaseGeometry], rules: Rules
) -> tuple[list[Problem], bool]:
    """Overlaps, gaps, cells outside the community, mismatched edges; returns (problems, coverage_valid).

    `cells_m` must already be valid polygonal geometries (repaired ones for invalid input)."""
    problems: list[Problem] = []
    geoms = np.asarray(cells_m, dtype=object)
    if len(geoms) == 0:
        return [
            Problem("gap", "error", f"社区 {community_code} 没有网格 / the community has no cells", community_m)
        ], True
    # outside the community
    outside = shapely.difference(geoms, community_m)
    for i in np.flatnonzero(shapely.area(outside) > NOISE_M2):
        problems += [
            _area_problem("outside_community", p, [codes[i]], rules, community_code) for p in _parts(outside[i])
        ]
    # overlaps: candidate pairs from an STRtree, intersections computed in one vectorised call
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inter = shapely.intersection(geoms[left], geoms[right])
    for k in np.flatnonzero(shapely.area(inter) > NOISE_M2):
        pair = [codes[left[k]], codes[right[k]]]
        problems += [_area_problem("overlap", p, pair, rules, community_code) for p in _parts(inter[k])]
    # shared edges that do not match vertex for vertex (what shapely.coverage_is_valid checks)
    edges = shapely.coverage_invalid_edges(geoms)
    coverage_valid = bool(shapely.is_empty(edges).all())
    union = shapely.coverage_union_all(geoms) if coverage_valid else shapely.union_all(geoms)
    for p in _parts(shapely.difference(community_m, union)):
        touching = [codes[i] for i in tree.query(p, predicate="intersects")]
        problems.append(_area_problem("gap", p, touching, rules, community_code))
    if not coverage_valid:
        shown = shapely.union_all([p.geom for p in problems if p.geom is not None]).buffer(0.05)
        for i in np.flatnonzero(~shapely.is_empty(edges)):
            line = edges[i].difference(shown)
            if line.length > 0.01:
                problems.append(
                    Problem(
                        "edge_mismatch",
                        "warning",
                        f"网格 {codes[i]}: 与相邻网格的公共边不一致 ({line.length:.1f} m) / edge does not match its "
                        "neighbour vertex for vertex; snap it to the neighbour",
                        line,
                        [codes[i]],
                        extra={"length_m": round(float(line.length), 2)},
                    )
                )
    return problems, coverage_valid


def check_compounds(
    community_code: str,
    codes: list[str],
    cells_m: list[BaseGeometry],
    compound_codes: list[str],
    compounds_m: list[BaseGeometry],
    rules: Rules,
) -> list[Problem]:
    """Every compound inside exactly one cell; straddling ones flagged with the cells and the part areas."""
    if not compound_codes:
        return []
    comps = np.asarray(compounds_m, dtype=object)
    cells = np.asarray(cells_m, dtype=object)
    ci, ki = shapely.STRtree(cells).query(comps, predicate="intersects")
    areas = shapely.area(shapely.intersection(comps[ci], cells[ki])) if len(ci) else np.zeros(0)
    problems = []
    for c, code in enumerate(compound_codes):
        sel = (ci == c) & (areas > max(rules.straddle_min_m2, 0.01 * comps[c].area))
        inside = [(codes[k], round(float(a), 1)) for k, a in zip(ki[sel], areas[sel], strict=True)]
        if not inside:
            problems.append(
                Problem(
                    "compound_outside",
                    "warning",
                    f"小区 {code} 不在任何网格内 / compound {code} lies in no cell",
                    comps[c],
                    [],
                    extra={"compound": code},
                )
            )
        elif len(inside) > 1:
            cell_list = ", ".join(f"{k} ({a} m²)" for k, a in inside)
            problems.append(
                Problem(
                    "compound_straddles",
                    "warning",
                    f"小区 {code} 跨越多个网格 / compound {code} straddles cells: {cell_list}",
                    comps[c],
                    [k for k, _ in inside],
                    extra={"compound": code, "parts_m2": dict(inside)},
                )
            )
    return problems
