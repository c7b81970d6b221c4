"""Coordinate reference systems accepted on input, converted to WGS84 (EPSG:4326) on entry."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

import numpy as np
import prcoords
from numpy.typing import NDArray as _NDArray
from pyproj import Transformer

from gis.errors import InvalidInput

NDArray = _NDArray[np.float64]


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


# Batches (GPS fixes): the same conversions as `to_wgs84`, over numpy arrays (prcoords' formulas, vectorised;
# equal to the per-point function within 1e-9°, tests/patrol/test_ingest.py).
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_PRC_EPS = 1e-5
_BD_DLAT, _BD_DLON = 0.0060, 0.0065


def _wgs_gcj_arrays(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """prcoords.wgs_gcj (without its China check: callers select the points inside)."""
    x, y = lon - 105, lat - 35
    pi = np.pi
    d_lat_m = (-100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + (
        2 * np.sin(x * 6 * pi) + 2 * np.sin(x * 2 * pi) + 2 * np.sin(y * pi) + 4 * np.sin(y / 3 * pi)
        + 16 * np.sin(y / 12 * pi) + 32 * np.sin(y / 30 * pi)) * 20 / 3)  # fmt: skip
    d_lon_m = (300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + (
        2 * np.sin(x * 6 * pi) + 2 * np.sin(x * 2 * pi) + 2 * np.sin(x * pi) + 4 * np.sin(x / 3 * pi)
        + 15 * np.sin(x / 12 * pi) + 30 * np.sin(x / 30 * pi)) * 20 / 3)  # fmt: skip
    rad_lat = np.radians(lat)
    magic = 1 - _GCJ_EE * np.power(np.sin(rad_lat), 2)
    lat_deg_arclen = np.radians((_GCJ_A * (1 - _GCJ_EE)) / np.power(magic, 1.5))
    lon_deg_arclen = np.radians(_GCJ_A * np.cos(rad_lat) / np.sqrt(magic))
    return lon + d_lon_m / lon_deg_arclen, lat + d_lat_m / lat_deg_arclen


def _gcj_wgs_bored_arrays(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """prcoords.gcj_wgs_bored: the rough inverse, then per point up to 10 fixed-point steps until it moves
    less than 1e-5° (each point stops where the per-point function stops)."""
    f_lon, f_lat = _wgs_gcj_arrays(lon, lat)
    w_lon, w_lat = lon - (f_lon - lon), lat - (f_lat - lat)
    active = np.ones(lon.shape, dtype=bool)
    for _ in range(10):
        if not active.any():
            break
        g_lon, g_lat = _wgs_gcj_arrays(w_lon[active], w_lat[active])
        d_lon, d_lat = g_lon - lon[active], g_lat - lat[active]
        w_lon[active] -= d_lon
        w_lat[active] -= d_lat
        still = np.hypot(d_lat, d_lon) > _PRC_EPS
        active[np.flatnonzero(active)[~still]] = False
    return w_lon, w_lat


def _bd_gcj_arrays(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """prcoords.bd_gcj."""
    x, y = lon - _BD_DLON, lat - _BD_DLAT
    r = np.sqrt(x * x + y * y) - 0.00002 * np.sin(np.radians(y) * 3000)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(np.radians(x) * 3000)
    return r * np.cos(theta), r * np.sin(theta)


def to_wgs84_arrays(lon: NDArray, lat: NDArray, crs: str) -> tuple[NDArray, NDArray]:
    """`to_wgs84` of many points of one CRS (wgs84, cgcs2000, gcj02, bd09) at once (ranges already checked)."""
    lon, lat = np.asarray(lon, dtype=np.float64).copy(), np.asarray(lat, dtype=np.float64).copy()
    kind = InputCRS(crs)
    if kind in (InputCRS.wgs84, InputCRS.cgcs2000):
        return lon, lat
    if kind is InputCRS.bd09:
        lon, lat = _bd_gcj_arrays(lon, lat)
    inside = (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)
    out_lon = np.where(np.abs(lon) > 180, (lon + 180.0) % 360.0 - 180.0, lon)
    out_lat = np.clip(lat, -90.0, 90.0)
    if inside.any():
        out_lon[inside], out_lat[inside] = _gcj_wgs_bored_arrays(lon[inside], lat[inside])
    return out_lon, out_lat
