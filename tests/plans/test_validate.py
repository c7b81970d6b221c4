"""Validation finds planted problems at the right place: a gap, an overlap, a sliver, an invalid ring."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import Point, Polygon, box
from sqlalchemy.orm import Session

from gis.plans.draft import FeatureInput
from gis.plans.edits import put_features
from gis.plans.models import BoundaryPlan
from gis.plans.validate import validate_plan
from tests.plans.conftest import LiveCells


def _square(center: Point, half_deg: float) -> Polygon:
    return box(center.x - half_deg, center.y - half_deg, center.x + half_deg, center.y + half_deg)


def _problems(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in result["features"] if f["properties"]["kind"] == kind]


def test_unchanged_draft_is_clean(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    code = sorted(cells.geoms)[0]
    assert put_features(session, plan, "cell", [FeatureInput(code, cells.geoms[code])]) == [None]  # equal to live
    result = validate_plan(session, plan)
    assert result["summary"]["errors"] == 0, result["features"]
    assert result["summary"]["coverage_valid"] == {cells.community: True}


def test_planted_gap_overlap_sliver_and_invalid_ring(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    codes = sorted(cells.geoms)
    a, b = cells.neighbours()
    others = [c for c in codes if c not in (a, b)]
    gap_cell, sliver_cell, bad_cell = others[3], others[10], others[20]
    # gap: a 30 m hole in the middle of one cell
    gap_at = shapely.point_on_surface(cells.geoms[gap_cell])
    gap_hole = _square(gap_at, 0.00015)
    # sliver: a ~2 m x 2 m hole in another (under the 10 m² tolerance)
    sliver_at = shapely.point_on_surface(cells.geoms[sliver_cell])
    sliver_hole = _square(sliver_at, 0.00001)
    # overlap: b grows over a's side of their shared edge
    edge_mid = shapely.intersection(cells.geoms[a], cells.geoms[b]).interpolate(0.5, normalized=True)
    bulge = shapely.intersection(cells.geoms[a], edge_mid.buffer(0.0002))
    # invalid ring: a bow-tie (two vertices swapped)
    ring = list(cells.geoms[bad_cell].geoms[0].exterior.coords)[:-1]
    ring[1], ring[2] = ring[2], ring[1]
    bowtie = Polygon(ring)
    put_features(
        session,
        plan,
        "cell",
        [
            FeatureInput(gap_cell, cells.geoms[gap_cell].difference(gap_hole)),
            FeatureInput(sliver_cell, cells.geoms[sliver_cell].difference(sliver_hole)),
            FeatureInput(b, cells.geoms[b].union(bulge)),
            FeatureInput(bad_cell, bowtie),
        ],
    )
    result = validate_plan(session, plan)
    summary = result["summary"]
    assert not summary["ok"]

    gaps = [g for g in _problems(result, "gap") if gap_cell in g["properties"]["cells"]]
    assert len(gaps) == 1
    assert (
        shapely.geometry.shape(gaps[0]["geometry"]).equals_exact(gap_hole, 1e-7)
        or shapely.geometry.shape(gaps[0]["geometry"]).symmetric_difference(gap_hole).area < 1e-10
    )
    assert 700 < gaps[0]["properties"]["area_m2"] < 1200  # ~33 m x 28 m at this latitude

    slivers = [s for s in _problems(result, "sliver") if sliver_cell in s["properties"]["cells"]]
    assert len(slivers) == 1 and slivers[0]["properties"]["severity"] == "warning"
    assert Point(slivers[0]["properties"]["location"]).distance(sliver_at) < 0.00002
    assert 1 < slivers[0]["properties"]["area_m2"] < 10

    overlaps = _problems(result, "overlap")
    assert len(overlaps) == 1
    assert sorted(overlaps[0]["properties"]["cells"]) == sorted([a, b])
    assert abs(shapely.geometry.shape(overlaps[0]["geometry"]).area - bulge.area) < bulge.area * 0.01

    invalid = _problems(result, "invalid_geometry")
    assert len(invalid) == 1
    props = invalid[0]["properties"]
    assert props["cells"] == [bad_cell] and "Self-intersection" in props["reason"] and props["repair"] == "make_valid"
    crossing = shapely.intersection(
        shapely.LineString([ring[0], ring[1]]), shapely.LineString([ring[2], ring[3]])
    )  # where the bow-tie's edges cross
    assert Point(props["location"]).distance(crossing) < 1e-6
    assert summary["coverage_valid"][cells.community] is False


def test_compound_straddling_and_household_band(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    a, b = cells.neighbours()
    merged = shapely.union_all([cells.geoms[a], cells.geoms[b]])
    # move the whole pair into one cell: b removed, a takes its area
    put_features(session, plan, "cell", [FeatureInput(a, merged)])
    from gis.plans.edits import remove_feature

    remove_feature(session, plan, "cell", b)
    result = validate_plan(session, plan)
    assert result["summary"]["errors"] == 0, [f["properties"]["message"] for f in result["features"]]
    band = [f for f in _problems(result, "households_out_of_band") if f["properties"]["cells"] == [a]]
    assert band and band[0]["properties"]["households"] > 300


def test_cell_outside_its_community_and_bad_codes(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    from gis.plans.draft import DraftFeature
    from gis.plans.validate import code_problems

    edge_cell = sorted(cells.geoms)[0]
    grown = shapely.union(cells.geoms[edge_cell], cells.geoms[edge_cell].buffer(0.0005))  # spills over the border
    put_features(session, plan, "cell", [FeatureInput(edge_cell, grown)])
    result = validate_plan(session, plan)
    outside = _problems(result, "outside_community")
    assert outside and outside[0]["properties"]["cells"] == [edge_cell] and outside[0]["properties"]["area_m2"] > 10
    attrs = {"cell_type": "basic", "households": 0, "population": 0}
    odd = DraftFeature("cell", "3701020100019", "x", cells.community, None, "add", attrs)
    wrong = DraftFeature("cell", "370102010002001", "y", cells.community, None, "add", attrs)
    kinds = sorted(p.kind for p in code_problems([odd, wrong, wrong]))
    assert kinds == ["bad_code", "code_prefix", "code_prefix", "duplicate_code"]
