"""Geometry helpers for plans: a local metric projection, polygon normalising, GeoJSON in and out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from gis.errors import InvalidGeometry


class LocalMetric:
    """A local equirectangular frame centred on the area: metres for areas and tolerances, exactly invertible.

    x = (lon - lon0)·kx, y = (lat - lat0)·ky with the WGS84 ellipsoid's scales at lat0. It is affine in
    longitude/latitude, so a straight edge stays straight: a community's long edge without intermediate
    vertices and the cells' edges along it (with vertices) still coincide in metres. (A transverse Mercator
    bends long edges, and gave false gaps of tens of m² along a 2 km edge.) Over a 街道 the scale error is
    ~1e-4 (the change of cos(lat) over a few km), far below any tolerance used here."""

    A, F = 6378137.0, 1 / 298.257223563  # WGS84

    def __init__(self, lon0: float, lat0: float) -> None:
        e2 = self.F * (2 - self.F)
        phi = np.radians(lat0)
        w = 1 - e2 * np.sin(phi) ** 2
        n = self.A / np.sqrt(w)  # prime vertical radius of curvature
        m = self.A * (1 - e2) / w**1.5  # meridional radius of curvature
        self._origin = np.array([lon0, lat0])
        self._scale = np.array([np.radians(1) * n * np.cos(phi), np.radians(1) * m])

    @classmethod
    def around(cls, geoms: Any) -> LocalMetric:
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        if not np.isfinite([xmin, ymin, xmax, ymax]).all():
            return cls(116.4, 39.9)
        return cls((xmin + xmax) / 2, (ymin + ymax) / 2)

    def to_m(self, geoms: Any) -> Any:
        return shapely.transform(geoms, lambda xy: (xy - self._origin) * self._scale)

    def to_deg(self, geoms: Any) -> Any:
        return shapely.transform(geoms, lambda xy: xy / self._scale + self._origin)


def geoms_from_wkb(rows: Sequence[Any], index: int) -> list[BaseGeometry | None]:
    """The WKB column `index` of query rows as shapely geometries (None stays None), in one batch."""
    blobs = [None if r[index] is None else bytes(r[index]) for r in rows]
    return list(shapely.from_wkb(blobs)) if blobs else []


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Polygon → MultiPolygon; a collection keeps only its polygonal parts (e.g. after make_valid)."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polys: list[Polygon] = []
    for p in parts:
        polys.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    return MultiPolygon(polys)


MAX_VERTICES = 20_000  # per geometry, as gis.settings.limits.max_geometry_vertices


SAME_SHAPE_DEG = 1e-7  # ~1 cm: a file's round trip through another CRS is not a redraw


def same_shape(a: BaseGeometry, b: BaseGeometry, tolerance: float = SAME_SHAPE_DEG) -> bool:
    """The same boundary up to `tolerance` degrees (reprojection noise), e.g. a cell exported to a
    Gauss-Krüger GeoPackage and imported back: the same vertices in the same order, each moved by at most
    `tolerance` (a redraw adds, drops or moves vertices by more)."""
    na, nb = shapely.normalize(as_multipolygon(a)), shapely.normalize(as_multipolygon(b))
    return bool(shapely.equals(na, nb)) or bool(shapely.equals_exact(na, nb, tolerance))


def geometry_from_geojson(obj: Any, *, what: str, max_vertices: int = MAX_VERTICES) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry (or Feature) dict, with a message naming `what`; at most
    `max_vertices` vertices."""
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    try:
        geom = shape(obj)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise InvalidGeometry(f"{what}: 几何对象无法解析 / not a valid GeoJSON geometry ({exc})") from exc
    if geom.is_empty:
        raise InvalidGeometry(f"{what}: 几何为空 / the geometry is empty")
    n = int(shapely.get_num_coordinates(geom))
    if n > max_vertices:
        raise InvalidGeometry(f"{what}: 顶点过多 ({n}) / too many vertices: {n} > {max_vertices}; simplify it")
    return shapely.force_2d(geom)


def feature(geom: BaseGeometry | None, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": mapping(geom) if geom is not None and not geom.is_empty else None,
        "properties": properties,
    }


def feature_collection(features: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, **extra}


def lonlat(point: BaseGeometry) -> list[float]:
    return [round(point.x, 7), round(point.y, 7)]
