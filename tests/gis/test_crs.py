from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis.crs import InputCRS, to_wgs84, wgs84_to_gcj02
from gis.errors import InvalidInput


@given(st.floats(116.5, 117.6), st.floats(36.3, 37.0))
def test_gcj02_round_trip_within_a_metre(lon: float, lat: float) -> None:
    glon, glat = wgs84_to_gcj02(lon, lat)
    back = to_wgs84(glon, glat, InputCRS.gcj02)
    assert abs(back[0] - lon) < 1e-5 and abs(back[1] - lat) < 1e-5


def test_bd09_is_further_shifted_than_gcj02() -> None:
    lon, lat = 117.05, 36.67
    gcj = to_wgs84(lon, lat, "gcj02")
    bd = to_wgs84(lon, lat, "bd09")
    assert gcj != bd
    assert abs(bd[0] - lon) > abs(gcj[0] - lon)


def test_gauss_kruger_zone_39_to_wgs84() -> None:
    # EPSG:4527 = CGCS2000 / 3-degree Gauss-Kruger zone 39 (central meridian 117 E), with zone prefix
    lon, lat = to_wgs84(39_504_466.0, 4_059_000.0, "EPSG:4527")
    assert 117.0 < lon < 117.1 and 36.6 < lat < 36.7


@pytest.mark.parametrize("bad", [("mars", 117.0, 36.0), ("wgs84", 181.0, 0.0), ("EPSG:999999", 1.0, 1.0)])
def test_bad_crs_or_range_is_refused(bad: tuple[str, float, float]) -> None:
    crs, lon, lat = bad
    with pytest.raises(InvalidInput):
        to_wgs84(lon, lat, crs)


@given(
    st.floats(min_value=-180, max_value=180, allow_nan=False),
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.sampled_from([InputCRS.gcj02, InputCRS.bd09]),
)
def test_shifted_crs_never_crash_anywhere_on_earth(lon: float, lat: float, crs: InputCRS) -> None:
    """GCJ-02/BD-09 are only shifted inside China; elsewhere a point passes as-is instead of a math error."""
    x, y = to_wgs84(lon, lat, crs)
    assert -180 <= x <= 180 and -90 <= y <= 90


def test_shifted_crs_outside_china_is_unchanged() -> None:
    assert to_wgs84(-180, -90, InputCRS.gcj02) == (-180, -90)
    assert to_wgs84(2.35, 48.85, InputCRS.bd09) == pytest.approx((2.35, 48.85), abs=0.02)
