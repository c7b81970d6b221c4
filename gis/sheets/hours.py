"""Opening hours as a 服务资源台账 writes them → the machine-readable `hours` of `ServiceResource`
([{"days": [0..6, Mon=0], "open": "HH:MM", "close": "HH:MM"}], read by gis.resources.is_open).

Accepted, several spans separated by ；/;/，: `周一至周五 08:30-17:30`, `周一、周三 09:00-12:00`, `每天 07:00-19:00`,
`工作日 …`, `周末 …`, `全天开放` / `24小时`, and the OpenStreetMap forms `Mo-Fr 08:30-17:30`, `24/7`. A span
may list several times (`周一至周五 08:00-12:00,14:00-17:30`).
"""

from __future__ import annotations

import re
from typing import Any

from gis.sheets.columns import CellError

_DAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_OSM_DAY = {"Mo": 0, "Tu": 1, "We": 2, "Th": 3, "Fr": 4, "Sa": 5, "Su": 6}
_WEEK = list(range(7))
_ALWAYS = re.compile(r"^(全天开放|全天|24小时|24小时开放|全年无休24小时|24/7)$")
_TIME = re.compile(r"^([01]?\d|2[0-4])[:：]([0-5]\d)\s*[-~–—至到]\s*([01]?\d|2[0-4])[:：]([0-5]\d)$")
_SPAN = re.compile(r"^(?P<days>.*?)\s*(?P<times>\d{1,2}[:：]\d{2}.*)$")


def _days(text: str) -> list[int]:
    text = text.strip().rstrip(":：")
    if text in ("", "每天", "每日", "全天", "周一至周日", "Mo-Su", "daily"):
        return _WEEK
    if text == "工作日":
        return [0, 1, 2, 3, 4]
    if text in ("周末", "双休日"):
        return [5, 6]
    days: list[int] = []
    for part in re.split(r"[、,，]", text):
        part = part.strip().replace("星期", "周")
        osm = re.fullmatch(r"(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?", part)
        cn = re.fullmatch(r"周([一二三四五六日天七])(?:\s*[至到\-~–—]\s*周?([一二三四五六日天七]))?", part)
        if osm:
            a, b = _OSM_DAY[osm.group(1)], _OSM_DAY[osm.group(2) or osm.group(1)]
        elif cn:
            a, b = _DAY[cn.group(1)], _DAY[cn.group(2) or cn.group(1)]
        else:
            raise CellError(f"无法识别的星期 / unknown days “{part}”：请写成“周一至周五”“周六、周日”或“每天”")
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return sorted(set(days))


def parse_hours(text: str) -> list[dict[str, Any]]:
    """The spans of an opening-hours text; CellError saying how to write it when it does not parse."""
    text = text.strip()
    if not text:
        return []
    if _ALWAYS.match(text):
        return [{"days": _WEEK, "open": "00:00", "close": "24:00"}]
    spans: list[dict[str, Any]] = []
    for part in (p.strip() for p in re.split(r"[；;]|，(?=\D)|\n", text) if p.strip()):
        m = _SPAN.match(part)
        if m is None:
            raise CellError(
                f"开放时间无法识别 / hours do not parse: “{part}”；请写成“周一至周五 08:30-17:30；周六 09:00-12:00”"
                "或“全天开放”"
            )
        days = _days(m.group("days"))
        for t in re.split(r"\s*[,，、]\s*", m.group("times")):
            tm = _TIME.match(t.strip())
            if tm is None:
                raise CellError(f"时间无法识别 / time does not parse: “{t}”；请写成 08:30-17:30")
            h1, m1, h2, m2 = (int(g) for g in tm.groups())
            if h1 == 24 or (h2 == 24 and m2) or (h1, m1) == (h2, m2):
                raise CellError(f"时间不合理 / impossible time: “{t}”")
            spans.append({"days": days, "open": f"{h1:02d}:{m1:02d}", "close": f"{h2:02d}:{m2:02d}"})
    return spans
