"""The nearest resources of each type (gis.locate.nearest_resources, the statement /v1/locate wraps) are the
geodesic nearest: the same answer as ranking every resource of every type by geodesic distance (the
straightforward reference), on random points over the demo 街道 and around it, for a type with few resources,
where the planar order in degrees is not the geodesic one, and far away (where every resource is ranked)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pyproj import Geod
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.locate import nearest_resources
from gis.models import GridCell, ServiceResource
from gis.resources import RESOURCE_TYPES

# every resource ranked: per type (or overall) by geodesic distance, then code
_REFERENCE = text(
    """
    SELECT code, type, distance_m FROM (
        SELECT code, type, distance_m,
               row_number() OVER (PARTITION BY CASE WHEN :per_type THEN type END ORDER BY distance_m, code) AS rank
        FROM (SELECT code, type, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
                         AS distance_m
              FROM service_resources WHERE NOT :per_type OR type = ANY(CAST(:types AS text[]))) d
    ) ranked
    WHERE rank <= :k ORDER BY distance_m, code
    """
)
_WGS84 = Geod(ellps="WGS84")


def _reference(session: Session, lon: float, lat: float, k: int, types: list[str] | None) -> list[tuple[Any, ...]]:
    rows = session.execute(
        _REFERENCE, {"lon": lon, "lat": lat, "k": k, "per_type": types is not None, "types": types or []}
    ).all()
    return [(code, type_, round(float(d), 1)) for code, type_, d in rows]


def _answer(session: Session, lon: float, lat: float, k: int, types: list[str] | None) -> list[tuple[Any, ...]]:
    found = nearest_resources(session, lon, lat, k=k, types=types)
    for r in found:  # the distance is the geodesic one on WGS84 (pyproj agrees within 0.1 m)
        _, _, metres = _WGS84.inv(lon, lat, r["lon"], r["lat"])
        assert abs(metres - r["distance_m"]) <= 0.1
    return [(r["code"], r["type"], r["distance_m"]) for r in found]


def _add(session: Session, code: str, type_: str, lon: float, lat: float) -> None:
    session.add(ServiceResource(code=code, type=type_, name=code, geom=f"SRID=4326;POINT({lon} {lat})"))


@pytest.fixture
def extent(session: Session) -> tuple[float, float, float, float]:
    box = session.execute(select(func.ST_Extent(GridCell.geom))).scalar_one()
    x1, y1, x2, y2 = (float(v) for v in box.removeprefix("BOX(").removesuffix(")").replace(",", " ").split())
    return x1, y1, x2, y2


@pytest.mark.parametrize("k", [1, 3])
def test_nearest_per_type_is_the_geodesic_nearest_on_random_points(
    session: Session, extent: tuple[float, float, float, float], k: int
) -> None:
    x1, y1, x2, y2 = extent
    # a type with two resources only, both at the edge of the 街道
    _add(session, "RARE-1", "rare_kind", x1, y1)
    _add(session, "RARE-2", "rare_kind", x2, (y1 + y2) / 2)
    session.flush()
    types = [*RESOURCE_TYPES, "rare_kind", "no_such_kind"]
    rng = random.Random(k)
    margin = 0.05  # also around the 街道: near its edge and outside it
    for _ in range(40):
        lon = x1 - margin + rng.random() * (x2 - x1 + 2 * margin)
        lat = y1 - margin + rng.random() * (y2 - y1 + 2 * margin)
        expected = _reference(session, lon, lat, k, types)
        assert _answer(session, lon, lat, k, types) == expected
        assert sum(1 for _, t, _ in expected if t == "rare_kind") == min(k, 2)


def test_overall_nearest_is_the_geodesic_nearest(session: Session, extent: tuple[float, float, float, float]) -> None:
    x1, y1, x2, y2 = extent
    rng = random.Random(5)
    for _ in range(15):
        lon, lat = x1 + rng.random() * (x2 - x1), y1 + rng.random() * (y2 - y1)
        assert _answer(session, lon, lat, 5, None) == _reference(session, lon, lat, 5, None)


def test_east_beats_north_although_it_is_more_degrees_away(
    session: Session, extent: tuple[float, float, float, float]
) -> None:
    """At these latitudes 0.0100° east is shorter than 0.0085° north: the planar order in degrees is wrong."""
    x1, y1, x2, y2 = extent
    lon, lat = (x1 + x2) / 2, (y1 + y2) / 2
    _add(session, "NORTH", "stretch_kind", lon, lat + 0.0085)
    _add(session, "EAST", "stretch_kind", lon + 0.0100, lat)
    session.flush()
    found = nearest_resources(session, lon, lat, k=1, types=["stretch_kind"])
    assert [r["code"] for r in found] == ["EAST"]
    both = nearest_resources(session, lon, lat, k=2, types=["stretch_kind"])
    assert [r["code"] for r in both] == ["EAST", "NORTH"]


@pytest.mark.parametrize(("lon", "lat"), [(100.0, 20.0), (179.9, 10.0), (10.0, 85.0), (-70.0, -60.0)])
def test_far_away_every_resource_is_ranked(session: Session, lon: float, lat: float) -> None:
    """Beyond the bound's reach (a radius over 0.9°, near the antimeridian, near a pole) the answer is still the
    geodesic nearest."""
    types = ["party_service_center", "elderly_care"]
    assert _answer(session, lon, lat, 2, types) == _reference(session, lon, lat, 2, types)
