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


def open_now_sql(hours: str) -> str:
    """`is_open` in SQL for statements that build their JSON in PostgreSQL: `hours` is a jsonb expression,
    the bound :dow (weekday, Monday = 0) and :hhmm ('HH:MM') are the local time of `open_now_params`.
    tests/gis/test_open_now_sql.py checks it against `is_open`."""
    return (
        f"CASE WHEN {hours} IS NULL OR jsonb_array_length({hours}) = 0 THEN NULL ELSE EXISTS ("
        f"SELECT 1 FROM jsonb_array_elements({hours}) AS span(s) CROSS JOIN LATERAL ("
        "SELECT coalesce(s->>'open', '00:00') COLLATE \"C\" AS o, coalesce(s->>'close', '24:00') COLLATE \"C\" AS c, "
        "CAST(:hhmm AS text) COLLATE \"C\" AS h) AS t WHERE (s->'days') @> to_jsonb(CAST(:dow AS int)) AND CASE "
        "WHEN t.c = '24:00' OR t.c <= t.o THEN t.h >= t.o OR (t.c <> '24:00' AND t.h < t.c) "
        "ELSE t.o <= t.h AND t.h < t.c END) END"
    )


def open_now_params(at: datetime | None = None) -> dict[str, Any]:
    """The :dow and :hhmm of `open_now_sql` for `at` (default now), in Asia/Shanghai."""
    local = (at or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    return {"dow": local.weekday(), "hhmm": local.strftime("%H:%M")}
