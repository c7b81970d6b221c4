"""GCJ-02 in SQL (migration 0022: gridgov_gcj02_lon/lat, gridgov_wgs84_to_gcj02) is the formula gis/crs.py
runs: within 1e-9 degree on many points inside and outside China's box, and per vertex on a polygon with a
hole, a multipolygon, a line and a collection (type, rings and parts kept)."""

from __future__ import annotations

import random

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.crs import wgs84_to_gcj02

TOL = 1e-9


def test_points_match_gis_crs(session: Session) -> None:
    rng = random.Random(7)
    points = [(rng.uniform(73, 135), rng.uniform(18, 53)) for _ in range(2000)]  # China and around
    points += [(rng.uniform(116.9, 117.2), rng.uniform(36.6, 36.8)) for _ in range(500)]  # the demo 街道
    points += [(2.35, 48.85), (-70.0, -33.0), (150.0, 10.0), (72.0, 30.0), (137.9, 40.0)]  # outside: unshifted
    rows = session.execute(
        text("SELECT gridgov_gcj02_lon(x, y), gridgov_gcj02_lat(x, y) FROM unnest(:xs, :ys) AS p(x, y)"),
        {"xs": [p[0] for p in points], "ys": [p[1] for p in points]},
    ).all()
    for (lon, lat), (x, y) in zip(points, rows, strict=True):
        ex, ey = wgs84_to_gcj02(lon, lat)
        assert abs(x - ex) <= TOL and abs(y - ey) <= TOL, (lon, lat, x, y, ex, ey)
    assert rows[-5] == (2.35, 48.85)


def _shifted(session: Session, wkt: str) -> shapely.Geometry:
    got = session.scalar(text("SELECT ST_AsBinary(gridgov_wgs84_to_gcj02(ST_GeomFromText(:w, 4326)))"), {"w": wkt})
    return shapely.from_wkb(bytes(got))


def _expected(geom: shapely.Geometry) -> shapely.Geometry:
    """gis/crs.py on every vertex (unrounded)."""
    return shapely.transform(geom, lambda xy: np.array([wgs84_to_gcj02(float(x), float(y)) for x, y in xy]))


def test_geometries_are_shifted_per_vertex(session: Session) -> None:
    outer = [(117.0, 36.6), (117.01, 36.6), (117.012, 36.608), (117.0, 36.61), (117.0, 36.6)]
    hole = [(117.004, 36.603), (117.006, 36.603), (117.006, 36.605), (117.004, 36.603)]
    polygon = Polygon(outer, [hole])
    multi = MultiPolygon([polygon, Polygon([(118.0, 36.0), (118.1, 36.0), (118.1, 36.1), (118.0, 36.0)])])
    for geom in (
        polygon,
        multi,
        shapely.LineString(outer),
        shapely.Point(117.0, 36.6),
        shapely.MultiPoint(outer[:3]),
        shapely.MultiLineString([outer, hole]),
    ):
        got = _shifted(session, geom.wkt)
        want = _expected(geom)
        assert got.geom_type == geom.geom_type
        assert shapely.equals_exact(got, want, tolerance=TOL), (got.wkt, want.wkt)
    collection = shapely.GeometryCollection([polygon, shapely.Point(117.0, 36.6)])
    got = _shifted(session, collection.wkt)
    assert got.geom_type == "GeometryCollection" and len(got.geoms) == 2
    assert shapely.equals_exact(got.geoms[0], _expected(polygon), tolerance=TOL)
    assert session.scalar(text("SELECT ST_IsEmpty(gridgov_wgs84_to_gcj02('POLYGON EMPTY'::geometry))"))
