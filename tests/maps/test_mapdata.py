"""Map data queries against real PostGIS: the 15-minute reach (network vs buffer), resources and gaps,
community data, and the operations layers by bbox and jurisdiction."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import LineString, Point, shape
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gis.access import under_codes
from gis.errors import InvalidInput, NotFound
from gis.mapdata import (
    LIFE_CIRCLE_NEEDS,
    cell_metric_features,
    community_map_data,
    compound_map_data,
    gaps_for,
    has_walking_network,
    household_heat,
    resource_points,
)
from gis.models import AdminArea, Building, Compound, GridCell, ServiceResource, Street


def demo_compound(session: Session) -> Compound:
    compound = session.scalar(select(Compound).where(~Compound.code.startswith("99")).order_by(Compound.code))
    assert compound is not None, "the demo data has compounds"
    return compound


def test_compound_data_has_what_the_page_shows(session: Session) -> None:
    compound = demo_compound(session)
    data = compound_map_data(session, compound.code)
    assert data.compound["name"] == compound.name
    assert data.compound["community"]["name"]
    assert data.cell is not None and data.cell["properties"]["code"] == compound.cell_code
    assert data.reach.method in ("network", "buffer") and "15分钟" in data.reach.label
    reach = shape(data.reach.geometry)
    assert reach.contains(shape(data.compound["geometry"]).representative_point())
    assert data.resources, "the demo puts services around every compound"
    straight = [r["distance_m"] for r in data.resources if r["in_reach"] or r["walk_m"] is not None]
    assert straight == sorted(straight), "nearest first"
    for r in data.resources:
        walk = r["walk_m"] if data.reach.method == "network" else r["distance_m"]
        assert r["in_reach"] == (walk is not None and walk <= data.reach.reach_m)
        if r["walk_m"] is not None:
            assert r["walk_m"] >= r["distance_m"] - 1, "a walk is never shorter than the straight line"
    assert data.gaps == gaps_for({r["type"] for r in data.resources if r["in_reach"]})
    x1, y1, x2, y2 = data.bounds
    cx, cy = shape(data.compound["geometry"]).centroid.coords[0]
    assert x1 < cx < x2 and y1 < cy < y2


def test_unknown_compound_and_community_are_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        compound_map_data(session, "NOPE")
    with pytest.raises(NotFound):
        community_map_data(session, demo_compound(session).code)  # a compound code is not a community


@pytest.fixture()
def river_area(session: Session, tiny_area: dict[str, Any]) -> dict[str, Any]:
    """Streets around the tiny test compound: one street east, and a service north of it across a
    'river' that the street graph only crosses far to the east."""
    ox, oy = tiny_area["origin"]
    nodes = {
        1: (ox + 0.0065, oy + 0.004),  # just east of the compound (~50 m): a gate
        2: (ox + 0.0165, oy + 0.004),
        3: (ox + 0.010, oy + 0.0095),  # north bank, reached only via node 2 (the bridge)
        4: (ox + 0.000, oy + 0.0095),
    }
    edges = [(1, 2), (2, 3), (3, 4)]
    base = 9_000_000
    for i, (a, b) in enumerate(edges, start=1):
        line = LineString([nodes[a], nodes[b]])
        session.add(
            Street(
                id=base + i, name="测试路", source=base + a, target=base + b, length_m=0.0, geom=f"SRID=4326;{line.wkt}"
            )
        )
    east = ServiceResource(
        code="R99EAST",
        type="health_station",
        name="东边卫生站",
        geom=f"SRID=4326;{Point(ox + 0.0115, oy + 0.0042).wkt}",
    )
    north = ServiceResource(
        code="R99NORTH", type="childcare", name="河对岸托育园", geom=f"SRID=4326;{Point(ox + 0.004, oy + 0.0096).wkt}"
    )
    session.add_all([east, north])
    session.flush()
    session.execute(
        Street.__table__.update().where(Street.id > base).values(length_m=func.ST_Length(func.Geography(Street.geom)))
    )
    session.flush()
    return tiny_area


def test_walking_reach_follows_streets_not_the_crow(session: Session, river_area: dict[str, Any]) -> None:
    if not has_walking_network(session):
        pytest.skip("pgRouting is not installed in the test database")
    data = compound_map_data(session, river_area["compound"].code)
    assert data.reach.method == "network" and "路网" in data.reach.label
    by_code = {r["code"]: r for r in data.resources}
    east, north = by_code["R99EAST"], by_code["R99NORTH"]
    assert east["in_reach"] and 400 < east["walk_m"] < 700
    assert north["distance_m"] < 500, "the service across the river is close as the crow flies"
    assert not north["in_reach"], "but the walk goes round by the bridge, beyond 15 minutes"
    reach = shape(data.reach.geometry)
    assert reach.contains(Point(river_area["origin"][0] + 0.0115, river_area["origin"][1] + 0.0042))
    assert not reach.contains(Point(river_area["origin"][0] + 0.004, river_area["origin"][1] + 0.0096))


def test_without_streets_the_reach_is_a_1km_buffer(session: Session, river_area: dict[str, Any]) -> None:
    session.execute(delete(Street))
    data = compound_map_data(session, river_area["compound"].code)
    assert data.reach.method == "buffer" and "直线" in data.reach.label
    by_code = {r["code"]: r for r in data.resources}
    assert by_code["R99NORTH"]["in_reach"] and by_code["R99NORTH"]["walk_m"] is None
    assert "托育" not in data.gaps and "卫生" not in data.gaps
    missing = {need for need in LIFE_CIRCLE_NEEDS if need not in ("托育", "卫生", "便民维修")}
    assert set(data.gaps) == missing, "the tiny area has a repair point, a clinic and a nursery, nothing else"
    far = {r["type"] for r in data.resources if not r["in_reach"]}
    assert far & {"elderly_care", "party_service_center"}, "each gap still points at the nearest such service"


def test_community_data(session: Session) -> None:
    community = session.scalar(select(AdminArea).where(AdminArea.level == "community").order_by(AdminArea.code))
    assert community is not None
    data = community_map_data(session, community.code)
    live = session.scalar(
        select(func.count()).where(GridCell.community_id == community.id, GridCell.valid_to.is_(None))
    )
    assert len(data.cells["features"]) == live
    assert data.compounds["features"] and all(
        isinstance(f["properties"]["gaps"], list) for f in data.compounds["features"]
    )
    assert data.resources and all("open_now" in r for r in data.resources)


def _community_bbox(session: Session) -> tuple[AdminArea, tuple[float, float, float, float]]:
    community = session.scalar(select(AdminArea).where(AdminArea.level == "community").order_by(AdminArea.code))
    assert community is not None
    box = session.execute(
        select(
            func.ST_XMin(community.geom),
            func.ST_YMin(community.geom),
            func.ST_XMax(community.geom),
            func.ST_YMax(community.geom),
        )
    ).one()
    return community, (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def test_cells_by_metric_respect_bbox_scope_and_limit(session: Session) -> None:
    community, bbox = _community_bbox(session)
    fc = cell_metric_features(session, bbox=bbox, metric="households", scope=None)
    assert fc["features"] and not fc["truncated"]
    assert all(f["properties"]["value"] == f["properties"]["households"] for f in fc["features"])
    assert fc["metric"]["colours"] and len(fc["metric"]["colours"]) == len(fc["metric"]["breaks"]) + 1
    mine_only = under_codes((GridCell.code,), [community.code])
    mine = cell_metric_features(session, bbox=bbox, metric="households", scope=mine_only)
    assert mine["features"] and all(f["properties"]["code"].startswith(community.code) for f in mine["features"])
    nothing = under_codes((GridCell.code,), [])
    assert cell_metric_features(session, bbox=bbox, metric="households", scope=nothing)["features"] == []
    cut = cell_metric_features(session, bbox=bbox, metric="households", scope=None, limit=2)
    assert len(cut["features"]) == 2 and cut["truncated"]
    with pytest.raises(InvalidInput, match="households"):
        cell_metric_features(session, bbox=bbox, metric="spaceships", scope=None)


def test_household_heat_keeps_the_total_at_any_grid(session: Session) -> None:
    community, bbox = _community_bbox(session)
    total = session.scalar(
        select(func.sum(Building.households)).where(Building.geom.intersects(func.ST_MakeEnvelope(*bbox, 4326)))
    )
    fine = household_heat(session, bbox=bbox, scope=None, grid_m=5)
    coarse = household_heat(session, bbox=bbox, scope=None, grid_m=500)
    assert sum(p[2] for p in fine) == sum(p[2] for p in coarse) == total
    assert len(coarse) < len(fine)
    assert household_heat(session, bbox=bbox, scope=under_codes((Building.code,), []), grid_m=50) == []


def test_resource_points_are_public_shape(session: Session) -> None:
    _, bbox = _community_bbox(session)
    fc = resource_points(session, bbox=bbox, types=[])
    assert fc["features"]
    p = fc["features"][0]["properties"]
    assert {"name", "type_label", "open_now", "address"} <= set(p) and "hours" not in p
    only = resource_points(session, bbox=bbox, types=["repair"])
    assert {f["properties"]["type"] for f in only["features"]} <= {"repair"}
