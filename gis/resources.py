"""Service-resource types (R1, R5) and opening-hours logic."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gis.reference import hours as osm_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")

# code -> Chinese label. 美好生活中心 modules (托育, 养老, 健康, 科普, 超市, 24h驿站) are types of their own.
RESOURCE_TYPES: dict[str, str] = {
    "party_service_center": "党群服务中心",
    "community_canteen": "社区食堂",
    "elderly_meal_point": "长者助餐点",
    "elderly_care": "养老服务站",
    "childcare": "托育服务",
    "repair": "便民维修",
    "health_station": "卫生服务站",
    "good_life_center": "美好生活中心",
    "science_education": "科普活动室",
    "supermarket": "便民超市",
    "station_24h": "24小时驿站",
    "police_office": "警务室",
}


def is_open(hours: list[dict[str, Any]], at: datetime | None = None) -> bool | None:
    """Whether a resource is open at `at` (default now, Asia/Shanghai); None when hours are unknown."""
    if not hours:
        return None
    local = (at or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    hhmm = local.strftime("%H:%M")
    for span in hours:
        if local.weekday() not in span.get("days", []):
            continue
        opens, closes = str(span.get("open", "00:00")), str(span.get("close", "24:00"))
        if closes == "24:00" or closes <= opens:  # open round the clock or past midnight
            if hhmm >= opens or (closes != "24:00" and hhmm < closes):
                return True
        elif opens <= hhmm < closes:
            return True
    return False


def open_now(osm: str | None, hours: list[dict[str, Any]] | None, at: datetime | None = None) -> bool | None:
    """营业中 / 休息中: from the OpenStreetMap `opening_hours` expression when the resource has one (holidays
    included, gis/reference/hours.py), else from the weekly spans; None when unknown."""
    if osm:
        try:
            return osm_hours.is_open(osm, at)
        except osm_hours.ParserError:  # stored before a library change: unknown rather than a 500
            return None
    return is_open(hours or [], at)
