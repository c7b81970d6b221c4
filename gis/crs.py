"""Coordinate reference systems accepted on input, converted to WGS84 (EPSG:4326) on entry."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

import prcoords
from pyproj import Transformer

from gis.errors import InvalidInput


class InputCRS(StrEnum):
    wgs84 = "wgs84"
    cgcs2000 = "cgcs2000"  # EPSG:4490: same as WGS84 within a metre
    gcj02 = "gcj02"  # AMap / WeChat / Tencent ("Mars" coordinates)
    bd09 = "bd09"  # Baidu


@lru_cache(maxsize=64)
def _transformer(epsg: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)


def check_lonlat(lon: float, lat: float) -> None:
    if not (-180.0 <= lon <= 180.0) or not (-90.0 <= lat <= 90.0):
        raise InvalidInput(
            f"坐标超出范围 / coordinates out of range: lon={lon}, lat={lat}. "
            "lon must be within [-180, 180] and lat within [-90, 90] (did you swap them?)"
        )


def to_wgs84(lon: float, lat: float, crs: InputCRS | str = InputCRS.wgs84) -> tuple[float, float]:
    """Convert a point from an accepted CRS (or 'EPSG:NNNN') to WGS84 lon/lat."""
    if isinstance(crs, str) and crs.upper().startswith("EPSG:"):
        try:
            epsg = int(crs.split(":", 1)[1])
            lon, lat = _transformer(epsg).transform(lon, lat)
        except Exception as exc:  # pyproj raises several types for unknown codes
            raise InvalidInput(f"unknown or unsupported CRS {crs!r}: {exc}") from exc
        check_lonlat(lon, lat)
        return float(lon), float(lat)
    try:
        kind = InputCRS(crs)
    except ValueError as exc:
        allowed = ", ".join(c.value for c in InputCRS)
        raise InvalidInput(f"unknown crs {crs!r}; use one of {allowed} or EPSG:NNNN") from exc
    check_lonlat(lon, lat)
    if kind in (InputCRS.wgs84, InputCRS.cgcs2000):
        return lon, lat
    point = prcoords.Coords(lat, lon)
    if kind is InputCRS.bd09:  # BD-09 is GCJ-02 shifted once more, everywhere on earth
        point = prcoords.bd_gcj(point)
    if not in_china(point.lon, point.lat):
        # GCJ-02 shifts only points inside China; elsewhere it equals WGS84 (and prcoords' iteration
        # would hit a math domain error near the poles)
        lon_out = (float(point.lon) + 180.0) % 360.0 - 180.0 if abs(point.lon) > 180 else float(point.lon)
        return lon_out, max(-90.0, min(90.0, float(point.lat)))
    c = prcoords.gcj_wgs_bored(point)
    return float(c.lon), float(c.lat)


def in_china(lon: float, lat: float) -> bool:
    """The rough box inside which GCJ-02 applies its shift (the bound every GCJ-02 library uses)."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """For map pages drawn over a GCJ-02 basemap."""
    c = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    return float(c.lon), float(c.lat)
