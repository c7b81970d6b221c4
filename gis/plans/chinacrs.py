"""GCJ-02 / BD-09 to WGS84 for whole coordinate arrays (numpy), for file imports.

gis.crs converts single points with prcoords; files need the same maths vectorised. The GCJ-02 offset is
inverted by fixed-point iteration (four rounds: well under a millimetre)."""

from __future__ import annotations

from typing import Any

import numpy as np

_A = 6378245.0
_EE = 0.00669342162296594323
Array = np.ndarray[Any, Any]


def _gcj_offset(lon: Array, lat: Array) -> tuple[Array, Array]:
    x, y = lon - 105.0, lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * pi)
    return dlon, dlat


def wgs_to_gcj(xy: Array) -> Array:
    dlon, dlat = _gcj_offset(xy[:, 0], xy[:, 1])
    return np.column_stack([xy[:, 0] + dlon, xy[:, 1] + dlat])


def gcj_to_wgs(xy: Array) -> Array:
    wgs = xy.copy()
    for _ in range(4):
        wgs = wgs - (wgs_to_gcj(wgs) - xy)
    return wgs


def bd_to_wgs(xy: Array) -> Array:
    x, y = xy[:, 0] - 0.0065, xy[:, 1] - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * np.pi * 3000.0 / 180.0)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * np.pi * 3000.0 / 180.0)
    return gcj_to_wgs(np.column_stack([z * np.cos(theta), z * np.sin(theta)]))
