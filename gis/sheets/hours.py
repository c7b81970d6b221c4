"""The 营业时间 cell of a 服务资源台账 → an OpenStreetMap `opening_hours` expression, the one format resources keep
(gis/reference/hours.py parses it, computes 营业中/休息中 with China's holidays and derives the Chinese text).

The OSM syntax is taken as it is (`Mo-Fr 08:30-17:30; Sa 09:00-12:00; PH off`, `24/7`); the phrasing of a paper
台账 is converted: `周一至周五 08:30-17:30` → `Mo-Fr 08:30-17:30`, `周一、周三 09:00-12:00` → `Mo,We 09:00-12:00`,
`每天 07:00-19:00`, `工作日 …`, `周末 …`, `全天开放` / `24小时` → `24/7`; several spans separated by ；/;/，, a span
may list several times (`周一至周五 08:00-12:00,14:00-17:30`). An export writes the OSM form back, so a
re-import of an export changes nothing.
"""

from __future__ import annotations

import re

from gis.errors import InvalidInput
from gis.reference import hours
from gis.sheets.columns import CellError

_DAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_WEEK = list(range(7))
_ALWAYS = re.compile(r"^(全天开放|全天|24小时|24小时开放|全年无休24小时)$")
_TIME = re.compile(r"^([01]?\d|2[0-4])[:：]([0-5]\d)\s*[-~–—至到]\s*([01]?\d|2[0-4])[:：]([0-5]\d)$")
_SPAN = re.compile(r"^(?P<days>.*?)\s*(?P<times>\d{1,2}[:：]\d{2}.*)$")
_HINT = (
    "请写成 OpenStreetMap 格式（如 Mo-Fr 08:30-17:30; Sa 09:00-12:00; PH off）或"
    "“周一至周五 08:30-17:30；周六 09:00-12:00”“全天开放”"
)


def _days(text: str) -> list[int]:
    text = text.strip().rstrip(":：")
    if text in ("", "每天", "每日", "全天", "周一至周日"):
        return _WEEK
    if text == "工作日":
        return [0, 1, 2, 3, 4]
    if text in ("周末", "双休日"):
        return [5, 6]
    days: list[int] = []
    for part in re.split(r"[、,，]", text):
        part = part.strip().replace("星期", "周")
        cn = re.fullmatch(r"周([一二三四五六日天七])(?:\s*[至到\-~–—]\s*周?([一二三四五六日天七]))?", part)
        if cn is None:
            raise CellError(
                f"无法识别的星期 / unknown days “{part}”：请写成“周一至周五”“周六、周日”或“每天”（或 Mo-Fr）"
            )
        a, b = _DAY[cn.group(1)], _DAY[cn.group(2) or cn.group(1)]
        days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return sorted(set(days))


def _osm_days(days: list[int]) -> str:
    """[0, 1, 2, 3, 4] → "Mo-Fr"; [0, 2] → "Mo,We"; runs of three or more days become a range."""
    runs: list[list[int]] = []
    for d in days:
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_OSM_DAYS[run[0]]}-{_OSM_DAYS[run[-1]]}")
        else:
            parts.extend(_OSM_DAYS[d] for d in run)
    return ",".join(parts)


def _from_chinese(text: str) -> str:
    if _ALWAYS.match(text):
        return "24/7"
    rules: dict[str, list[str]] = {}  # days -> times, in the order written (one OSM rule per set of days)
    for part in (p.strip() for p in re.split(r"[；;]|，(?=\D)|\n", text) if p.strip()):
        m = _SPAN.match(part)
        if m is None:
            raise CellError(f"营业时间无法识别 / hours do not parse: “{part}”；{_HINT}")
        days = _osm_days(_days(m.group("days")))
        for t in re.split(r"\s*[,，、]\s*", m.group("times")):
            tm = _TIME.match(t.strip())
            if tm is None:
                raise CellError(f"时间无法识别 / time does not parse: “{t}”；请写成 08:30-17:30")
            h1, m1, h2, m2 = (int(g) for g in tm.groups())
            if h1 == 24 or (h2 == 24 and m2) or (h1, m1) == (h2, m2):
                raise CellError(f"时间不合理 / impossible time: “{t}”")
            rules.setdefault(days, []).append(f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}")
    return "; ".join(f"{days} {','.join(times)}" for days, times in rules.items())


def to_osm(text: str) -> str:
    """The cell as an OSM `opening_hours` expression (validated by gis.reference.hours.parse); CellError
    saying how to write it when it is neither OSM syntax nor a phrasing this module knows."""
    text = " ".join(text.split())
    try:
        return hours.parse(text)
    except InvalidInput:
        pass
    try:
        return hours.parse(_from_chinese(text))
    except InvalidInput as exc:  # pragma: no cover - what _from_chinese writes parses
        raise CellError(f"{exc.message}；{_HINT}") from None


def check(value: object) -> None:
    """A Column check: the cell converts to OSM (the converted value is taken by the column's parser)."""
    to_osm(str(value))
