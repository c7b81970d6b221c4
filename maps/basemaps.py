"""Basemap choice (settings `basemap` / `basemap_key`) and the coordinates overlays are drawn in.

- `none` (default): no tiles at all, boundaries and our own streets only — works with no network.
- an XYZ URL template (`https://tiles.example.gov.cn/{z}/{x}/{y}.png`): e.g. an intranet tile server.
- `tianditu`: 天地图 vector map + Chinese labels (needs a key; CGCS2000 ≈ WGS84, no shift).
- `amap`: 高德 tiles in GCJ-02 — every overlay coordinate is shifted with gis.crs.wgs84_to_gcj02 so
  that it lines up (the data endpoints do the same when the page asks with `crs=gcj02`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import folium

from gis.crs import wgs84_to_gcj02
from gis.errors import InvalidInput

Project = Callable[[float, float], tuple[float, float]]


def _identity(lon: float, lat: float) -> tuple[float, float]:
    return lon, lat


@dataclass(frozen=True)
class TileSpec:
    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 19


@dataclass(frozen=True)
class Basemap:
    """How a page draws its background and which coordinate system its overlays use."""

    kind: str  # none | xyz | tianditu | amap
    tiles: tuple[TileSpec, ...] = ()
    crs: str = "wgs84"  # coordinates of overlays sent to the page: wgs84 or gcj02
    project: Project = field(default=_identity, compare=False, repr=False)

    @property
    def hosts(self) -> tuple[str, ...]:
        """Outside hosts this basemap loads tiles from (allowed in a page's URL check)."""
        out = []
        for t in self.tiles:
            template = urlsplit(t.url).netloc  # as written in the page, e.g. t{s}.tianditu.gov.cn
            out.append(template)
            out.extend(template.replace("{s}", s) for s in t.subdomains)
        return tuple(dict.fromkeys(out))

    def add_to(self, m: folium.Map) -> None:
        for i, t in enumerate(self.tiles):
            folium.TileLayer(
                tiles=t.url,
                attr=t.attribution,
                name="底图" if i == 0 else "注记",
                subdomains=t.subdomains,
                max_zoom=t.max_zoom,
                overlay=i > 0,
                control=False,
            ).add_to(m)


_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


def basemap_from_settings(basemap: str, key: str = "") -> Basemap:
    """Parse the `basemap` setting; InvalidInput with what to write when it is not understood."""
    value = (basemap or "none").strip()
    if value.lower() == "none":
        return Basemap("none")
    if value.lower() == "tianditu":
        if not key:
            raise InvalidInput("basemap 'tianditu' needs a key: set GRIDGOV_BASEMAP_KEY (天地图 tk)")
        attr = "&copy; 天地图 国家地理信息公共服务平台"
        return Basemap(
            "tianditu",
            (
                TileSpec(_TIANDITU.format(s="{s}", layer="vec", key=key), attr, "01234567", 18),
                TileSpec(_TIANDITU.format(s="{s}", layer="cva", key=key), attr, "01234567", 18),
            ),
        )
    if value.lower() == "amap":
        url = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
        return Basemap("amap", (TileSpec(url, "&copy; 高德地图", "1234", 18),), "gcj02", wgs84_to_gcj02)
    if all(p in value for p in ("{x}", "{y}", "{z}")) and urlsplit(value).scheme in ("http", "https"):
        return Basemap("xyz", (TileSpec(value, key or "底图", "abc"),))
    raise InvalidInput(
        f"unknown basemap {value!r}: use none, tianditu (with GRIDGOV_BASEMAP_KEY), amap, "
        "or an XYZ URL template such as https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    )


def project_coords(coords: Any, project: Project) -> Any:
    """Apply `project` to every position of a GeoJSON coordinates array (any nesting)."""
    if coords and isinstance(coords[0], int | float):
        x, y = project(float(coords[0]), float(coords[1]))
        return [round(x, 7), round(y, 7)]
    return [project_coords(c, project) for c in coords]


def project_geometry(geometry: dict[str, Any] | None, project: Project) -> dict[str, Any] | None:
    if geometry is None or project is _identity:
        return geometry
    if geometry["type"] == "GeometryCollection":
        return {**geometry, "geometries": [project_geometry(g, project) for g in geometry["geometries"]]}
    return {**geometry, "coordinates": project_coords(geometry["coordinates"], project)}


def project_features(fc: dict[str, Any], project: Project) -> dict[str, Any]:
    """A FeatureCollection (or Feature) with every geometry shifted by `project`."""
    if project is _identity:
        return fc
    if fc.get("type") == "Feature":
        return {**fc, "geometry": project_geometry(fc.get("geometry"), project)}
    return {**fc, "features": [project_features(f, project) for f in fc.get("features", [])]}


def projection_for(crs: str) -> Project:
    """The projection for the `crs` a page asks its data in (wgs84 or gcj02)."""
    if crs == "wgs84":
        return _identity
    if crs == "gcj02":
        return wgs84_to_gcj02
    raise InvalidInput(f"unknown display crs {crs!r}; use wgs84 or gcj02")
