"""Operations on a draft: split a cell by a line or into k parts by households, merge neighbours, reshape,
and generate a balanced partition of a community from its buildings' households.

Every operation writes only to the plan. Neighbours touched by new vertices are snapped to them, so shared
edges keep matching vertex for vertex (a valid coverage)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidGeometry, InvalidInput, NotFound
from gis.plans.draft import (
    DraftFeature,
    FeatureInput,
    communities,
    draft_features,
    editable_plan,
    ensure_base,
    households_of,
    next_codes,
)
from gis.plans.edits import put_features, remove_feature
from gis.plans.geo import LocalMetric, as_multipolygon, geometry_from_geojson
from gis.plans.layers import LAYERS, check_code
from gis.plans.models import BoundaryPlan
from gis.plans.partition import Atom, balanced, partition
from gis.plans.validate import geometry_problems

SNAP_DEG = 1e-9  # vertices this close are the same vertex


def _cells(session: Session, plan: BoundaryPlan, community_code: str) -> dict[str, DraftFeature]:
    ensure_base(session, plan, community_code)
    return {c.code: c for c in draft_features(session, plan, "cell", [community_code]) if c.geom is not None}


def _cell(cells: dict[str, DraftFeature], code: str) -> DraftFeature:
    if code not in cells:
        raise NotFound(f"网格 {code} 不在草案中 / cell {code} is not in the draft (removed, or never existed)")
    return cells[code]


def _aligned_neighbours(cells: dict[str, DraftFeature], new: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Neighbours snapped to the new cells' vertices (only those that change)."""
    reference = shapely.union_all(list(new.values()))
    out = {}
    for code, c in cells.items():
        if code in new or c.geom is None or not shapely.intersects(c.geom, reference.buffer(SNAP_DEG * 10)):
            continue
        snapped = as_multipolygon(shapely.snap(c.geom, reference, SNAP_DEG * 10))
        if not shapely.equals_exact(snapped, c.geom, 0.0):
            out[code] = snapped
    return out


def _save(
    session: Session,
    plan: BoundaryPlan,
    cells: dict[str, DraftFeature],
    community_code: str,
    new: dict[str, BaseGeometry],
    *,
    operation: str,
    removed: list[str] | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    new = {k: as_multipolygon(v) for k, v in new.items()}
    neighbours = _aligned_neighbours({k: v for k, v in cells.items() if k not in (removed or [])}, new)
    households = households_of(session, [community_code]).per_cell(list(new.values()))
    counts = dict(zip(new, households, strict=True))
    put_features(
        session,
        plan,
        "cell",
        [FeatureInput(code, g, (names or {}).get(code), {"households": counts[code]}) for code, g in new.items()]
        + [FeatureInput(code, g) for code, g in neighbours.items()],
    )
    for code in removed or []:
        remove_feature(session, plan, "cell", code)
    return {
        "plan_id": plan.id,
        "operation": operation,
        "codes": list(new),
        "removed": removed or [],
        "households": counts,
        "warnings": [f"相邻网格 {c} 已对齐公共边顶点 / neighbour {c} got the new shared vertices" for c in neighbours],
    }


EXTEND_DEG = 1e-5  # ~1 m


def _extended(line: BaseGeometry, by: float) -> BaseGeometry:
    """Each line's ends pushed outwards along its first and last segment by `by` degrees."""

    def one(ls: LineString) -> LineString:
        xy = np.asarray(ls.coords, dtype=float)
        if len(xy) < 2:
            return ls
        for end, nxt in ((0, 1), (-1, -2)):
            d = xy[end] - xy[nxt]
            norm = float(np.hypot(*d))
            if norm > 0:
                xy[end] = xy[end] + d / norm * by
        return LineString(xy)

    if isinstance(line, MultiLineString):
        return MultiLineString([one(part) for part in line.geoms])
    return one(line) if isinstance(line, LineString) else line


def split_by_line(session: Session, plan_id: int, code: str, line_geojson: dict[str, Any]) -> dict[str, Any]:
    """Split a cell by a line crossing it; the largest piece keeps the code, the others get new codes."""
    plan = editable_plan(session, plan_id)
    community_code = check_code("cell", code, what="split")[:12]
    cells = _cells(session, plan, community_code)
    cell = _cell(cells, code)
    line = geometry_from_geojson(line_geojson, what="切分线 / split line")
    if not isinstance(line, LineString | MultiLineString):
        raise InvalidGeometry(f"切分线必须是线 / the split line must be a LineString, not {line.geom_type}")
    line = _extended(line, EXTEND_DEG)  # a line snapped onto the cell's edge must still cross it
    pieces = shapely.get_parts(shapely.polygonize([shapely.union(shapely.make_valid(cell.geom).boundary, line)]))
    pieces = [p for p in pieces if shapely.covers(cell.geom, shapely.point_on_surface(p))]
    if len(pieces) < 2:
        raise InvalidGeometry(f"切分线没有穿过网格 {code} / the line must cross cell {code} from edge to edge")
    pieces.sort(key=lambda p: -p.area)
    codes = [code, *next_codes(session, plan, community_code, len(pieces) - 1)]
    return _save(session, plan, cells, community_code, dict(zip(codes, pieces, strict=True)), operation="split")


def _atoms(
    session: Session, area_deg: BaseGeometry, community_code: str, metric: LocalMetric, max_whole: int
) -> list[Atom]:
    """Compounds in the area as whole atoms (their buildings' households inside it), or their buildings when a
    compound alone holds more than `max_whole` households."""
    rows = session.execute(
        text(
            """
            SELECT x.code, ST_AsBinary(x.geom) AS compound, ST_AsBinary(b.geom) AS building, b.households
            FROM buildings b JOIN compounds x ON x.id = b.compound_id JOIN admin_areas a ON a.id = x.community_id
            WHERE a.code = :community AND ST_Covers(ST_GeomFromWKB(:area, 4326), ST_PointOnSurface(b.geom))
            ORDER BY x.code, b.id
            """
        ),
        {"community": community_code, "area": shapely.to_wkb(area_deg)},
    ).all()
    by_compound: dict[str, list[Any]] = {}
    for r in rows:
        by_compound.setdefault(r.code, []).append(r)
    atoms = []
    for members in by_compound.values():
        total = sum(int(r.households) for r in members)
        if total <= max_whole:
            atoms.append(Atom(metric.to_m(shapely.from_wkb(bytes(members[0].compound))), total, whole=True))
        else:
            atoms += [Atom(metric.to_m(shapely.from_wkb(bytes(r.building))), int(r.households)) for r in members]
    return atoms


def split_by_households(session: Session, plan_id: int, code: str, parts: int) -> dict[str, Any]:
    """Split a cell into `parts` cells of similar households (compounds kept whole where possible)."""
    plan = editable_plan(session, plan_id)
    community_code = check_code("cell", code, what="split")[:12]
    cells = _cells(session, plan, community_code)
    cell = _cell(cells, code)
    geom = shapely.make_valid(cell.geom)
    metric = LocalMetric.around([geom])
    total = households_of(session, [community_code]).per_cell([geom])[0]
    atoms = _atoms(session, geom, community_code, metric, max(1, total // parts))
    pieces = [metric.to_deg(p.geom) for p in partition(metric.to_m(geom), atoms, parts)]
    if len(pieces) < 2:
        raise InvalidInput(f"网格 {code} 的楼栋太少，无法分成 {parts} 份 / too few buildings to split into {parts}")
    codes = [code, *next_codes(session, plan, community_code, len(pieces) - 1)]
    return _save(session, plan, cells, community_code, dict(zip(codes, pieces, strict=True)), operation="split")


def merge(session: Session, plan_id: int, codes: list[str]) -> dict[str, Any]:
    """Merge neighbouring cells of one community into the first code."""
    plan = editable_plan(session, plan_id)
    community_codes = {check_code("cell", c, what="merge")[:12] for c in codes}
    if len(community_codes) != 1 or len(set(codes)) != len(codes):
        raise InvalidInput("只能合并同一社区内的不同网格 / merge distinct cells of one community")
    community_code = community_codes.pop()
    cells = _cells(session, plan, community_code)
    geoms = [shapely.make_valid(_cell(cells, c).geom) for c in codes]
    merged = shapely.union_all(geoms)
    if not isinstance(merged, Polygon):
        raise InvalidGeometry(
            f"网格 {', '.join(codes)} 不相邻 / the cells are not neighbours (their union is not one piece)"
        )
    return _save(session, plan, cells, community_code, {codes[0]: merged}, operation="merge", removed=codes[1:])


def _give_away(
    cells: dict[str, DraftFeature], code: str, freed: BaseGeometry, new: dict[str, BaseGeometry]
) -> list[str]:
    """Each piece of `freed` whose outer border (not along the reshaped cell) lies mostly (≥ 2/3) along one
    neighbour joins that neighbour. Pieces shared between several neighbours or on the community's edge
    stay gaps for validation to show: which neighbour should take them is the planner's call. Updates `new`."""
    notes = []
    shape = new[code]
    for piece in shapely.get_parts(as_multipolygon(freed)):
        if piece.area < 1e-14:  # crumbs of the overlay, well under 1 mm²
            continue
        outer = float(shapely.difference(piece.boundary, shape.buffer(1e-9)).length)
        borders = {
            other: float(shapely.intersection(piece.boundary, new.get(other, c.geom).buffer(1e-9)).length)
            for other, c in cells.items()
            if other != code and c.geom is not None
        }
        to = max(borders, key=lambda k: borders[k], default=None)
        if to is None or outer <= 0 or borders[to] < outer * 2 / 3:
            continue
        new[to] = shapely.union(new.get(to, shapely.make_valid(cells[to].geom)), piece)
        notes.append(f"网格 {code} 让出的区域已并入相邻网格 {to} / ground given up by {code} joined {to}")
    return notes


def reshape(
    session: Session,
    plan_id: int,
    code: str,
    geometry: dict[str, Any],
    *,
    fit_neighbours: bool = True,
    name: str | None = None,
    households: int | None = None,
) -> dict[str, Any]:
    """Replace a cell's geometry; with `fit_neighbours` the new shape is cut out of the neighbouring cells."""
    plan = editable_plan(session, plan_id)
    community_code = check_code("cell", code, what="reshape")[:12]
    cells = _cells(session, plan, community_code)
    geom = as_multipolygon(geometry_from_geojson(geometry, what=f"网格 {code}"))
    if geom.is_empty:
        raise InvalidGeometry(f"网格 {code}: 新几何必须是面 / the new geometry must be a Polygon or MultiPolygon")
    new: dict[str, BaseGeometry] = {code: geom}
    given: list[str] = []
    if fit_neighbours and shapely.is_valid(geom):
        for other, c in cells.items():
            if other != code and c.geom is not None and shapely.intersection(c.geom, geom).area > 0:
                new[other] = shapely.difference(shapely.make_valid(c.geom), geom)
        if code in cells:  # ground the cell gave up goes to the neighbour it borders most, not into a gap
            given = _give_away(cells, code, shapely.difference(shapely.make_valid(cells[code].geom), geom), new)
    result = _save(session, plan, cells, community_code, new, operation="reshape", names={code: name} if name else None)
    result["warnings"] += given
    if households is not None:
        put_features(session, plan, "cell", [FeatureInput(code, geom, attributes={"households": households})])
        result["households"][code] = households
    return result


def generate(session: Session, plan_id: int, community_code: str, lo: int, hi: int) -> dict[str, Any]:
    """Redraw a whole community as cells of lo–hi households each where possible. Old codes are kept by the
    new cell covering most of them; other new cells get fresh codes; the rest are removed."""
    if not 0 < lo <= hi:
        raise InvalidInput("户数范围无效 / households band must satisfy 0 < min <= max")
    plan = editable_plan(session, plan_id)
    community = communities(session, [community_code])[community_code]
    cells = _cells(session, plan, community_code)
    metric = LocalMetric.around([community.geom])
    atoms = _atoms(session, community.geom, community_code, metric, hi)
    parts = balanced(metric.to_m(community.geom), atoms, lo, hi)
    pieces = [metric.to_deg(p.geom) for p in parts]
    old = list(cells)
    old_geoms = np.asarray([cells[c].geom for c in old], dtype=object)
    overlap = {
        (i, j): float(shapely.intersection(pieces[i], old_geoms[j]).area)
        for i, j in zip(*shapely.STRtree(old_geoms).query(pieces, predicate="intersects"), strict=True)
    }
    names: dict[int, str] = {}
    for (i, j), _area in sorted(overlap.items(), key=lambda kv: -kv[1]):
        if i not in names and old[j] not in names.values():
            names[i] = old[j]
    fresh = iter(next_codes(session, plan, community_code, len(pieces) - len(names)))
    new = {names.get(i) or next(fresh): pieces[i] for i in range(len(pieces))}
    removed = [c for c in old if c not in new]
    result = _save(session, plan, {}, community_code, new, operation="generate", removed=removed)
    out_of_band = [c for c, n in result["households"].items() if not lo <= n <= hi]
    if out_of_band:
        result["warnings"].append(
            f"{len(out_of_band)} 个网格户数不在 {lo}–{hi} 内 (小区过大或过小) / {len(out_of_band)} cell(s) outside "
            f"the band: {', '.join(out_of_band)}"
        )
    return result


def repair(session: Session, plan_id: int, codes: list[str] | None = None) -> dict[str, Any]:
    """Apply make_valid to the plan's invalid cells, compounds and communities (all, or those in `codes`);
    returns what was repaired."""
    plan = editable_plan(session, plan_id)
    fixed = []
    for layer in LAYERS:
        for f in draft_features(session, plan, layer):
            if f.status not in ("add", "change") or f.geom is None or (codes and f.code not in codes):
                continue
            problems, usable = geometry_problems(f.code, f.geom)
            if problems and usable is not None and problems[0].kind == "invalid_geometry":
                put_features(session, plan, layer, [FeatureInput(f.code, as_multipolygon(usable))])
                fixed.append({"layer": layer, "code": f.code, "reason": problems[0].extra.get("reason")})
    return {"plan_id": plan.id, "repaired": fixed}
