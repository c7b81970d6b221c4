"""Geometry helpers for plans: a local metric projection, polygon normalising, GeoJSON in and out."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from gis.errors import InvalidGeometry


class LocalMetric:
    """A transverse Mercator centred on the area: metres for areas and tolerances, round-trippable."""

    def __init__(self, lon0: float, lat0: float) -> None:
        proj = f"+proj=tmerc +lat_0={lat0:.6f} +lon_0={lon0:.6f} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
        self._fwd = Transformer.from_crs("EPSG:4326", proj, always_xy=True)
        self._inv = Transformer.from_crs(proj, "EPSG:4326", always_xy=True)

    @classmethod
    def around(cls, geoms: Any) -> LocalMetric:
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        if not np.isfinite([xmin, ymin, xmax, ymax]).all():
            return cls(116.4, 39.9)
        return cls((xmin + xmax) / 2, (ymin + ymax) / 2)

    def to_m(self, geoms: Any) -> Any:
        return shapely.transform(geoms, lambda xy: np.column_stack(self._fwd.transform(xy[:, 0], xy[:, 1])))

    def to_deg(self, geoms: Any) -> Any:
        return shapely.transform(geoms, lambda xy: np.column_stack(self._inv.transform(xy[:, 0], xy[:, 1])))


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


MAX_VERTICES = 20_000  # per geometry, as gis.settings.max_geometry_vertices


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
