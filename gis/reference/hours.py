"""Opening hours in the OpenStreetMap `opening_hours` syntax (e.g. "Mo-Fr 08:30-11:30,13:30-17:30; PH off"),
parsed and evaluated by the `opening-hours-py` library, with China's public holidays from `chinese-calendar`.

Why the holiday substitution: the library's own holiday table for CN knows only the first day of each holiday
(2026-10-01, not the golden week) and nothing of 调休. So the library runs without a country, and on a day
that chinese-calendar marks as a statutory holiday (法定节假日, weekend days inside the holiday included) the
`PH` selector of the expression is replaced by that day's weekday before evaluating: "Mo-Fr 09:00-17:00;
PH off" on a holiday Thursday reads "Mo-Fr 09:00-17:00; Th off". The previous day is included when it is a
holiday too, so a span past midnight on a holiday eve is evaluated by the same rule.

Limits (documented in docs/reference-data.md): 调休 working weekends are not modelled (OSM has no selector for
them: the weekend rule applies); years chinese-calendar has no data for count as having no holidays; month and
date selectors work, but the weekly `hours` JSON kept for the pages' in-browser refresh is derived from the
current week only.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import opening_hours
from opening_hours import OpeningHours, State

from gis.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_LEN = 255
_WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_PH = re.compile(r"\bPH\b")
# the library's parse error (not in its type stubs)
ParserError: type[Exception] = getattr(opening_hours, "ParserError", ValueError)
EXAMPLE = "Mo-Fr 08:30-11:30,13:30-17:30; Sa 09:00-12:00; PH off"


def _build(expr: str) -> OpeningHours:
    return OpeningHours(expr, timezone=SHANGHAI, auto_country=False, auto_timezone=False)


def _reason(message: str) -> str:
    """'at character 7: expected EOI, …' from the library's pest-style parser report."""
    where = re.search(r"-->\s*\d+:(\d+)", message)
    wanted = re.search(r"=\s*(.+)", message)
    parts = [f"at character {where.group(1)}" if where else "", wanted.group(1).strip() if wanted else ""]
    return ": ".join(p for p in parts if p) or message.strip()[:200]


def parse(expr: str, field: str = "opening_hours") -> str:
    """The expression, trimmed, if it parses; else InvalidInput saying where it stops parsing."""
    cleaned = " ".join((expr or "").split())
    if not cleaned:
        raise InvalidInput(f"营业时间不能为空 / {field} is empty: e.g. {EXAMPLE!r}", detail={"field": field})
    if len(cleaned) > MAX_LEN:
        raise InvalidInput(f"营业时间过长 / {field} is longer than {MAX_LEN} characters", detail={"field": field})
    try:
        _build(cleaned)
    except (ParserError, ValueError) as exc:
        reason = _reason(str(exc))
        raise InvalidInput(
            f"营业时间无法识别：{cleaned!r}。请用 OpenStreetMap opening_hours 格式，如 {EXAMPLE!r} / {field}: "
            f"{cleaned!r} is not in OpenStreetMap opening_hours syntax ({reason}); e.g. {EXAMPLE!r}",
            detail={"field": field, "reason": reason},
        ) from exc
    return cleaned


def statutory_holiday(day: date) -> bool:
    """A 法定节假日 (a named holiday, weekend days inside it included); False where the calendar has no data."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return False
    return bool(on_holiday and name is not None)


def _for_day(expr: str, local: datetime) -> str:
    today = local.date()
    days = [d for d in (today - timedelta(days=1), today) if statutory_holiday(d)]
    if not days or not _PH.search(expr):
        return expr
    return _PH.sub(",".join(_WEEKDAYS[d.weekday()] for d in days), expr)


def is_open(expr: str, at: datetime | None = None) -> bool | None:
    """营业中 (True) / 休息中 (False) at `at` (default now); None when the expression says "unknown"."""
    local = (at or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    return _is_open_in_minute(expr, local.replace(second=0, microsecond=0))


# The syntax's times are whole minutes, so the state at the start of a minute holds all through it: one
# evaluation per expression and minute (locate asks for the same few expressions on every request; evaluating
# them was a seventh of its Python time).
@lru_cache(maxsize=4096)
def _is_open_in_minute(expr: str, local: datetime) -> bool | None:
    state, _ = _build(_for_day(expr, local)).state(local)
    if state == State.UNKNOWN:
        return None
    return state == State.OPEN


def weekly_spans(expr: str, *, week_of: date | None = None, holidays: bool = False) -> list[dict[str, Any]]:
    """The hours of one week as the `hours` JSON the pages refresh 营业中/休息中 from in the browser:
    [{"days": [weekday], "open": "HH:MM", "close": "HH:MM"}] (Mon=0; "24:00" for a span reaching midnight).

    `holidays=False`: an ordinary week (what is stored); True: the week of `week_of` (default this week) with its
    holidays applied, so a page shown during the golden week refreshes to 休息中 where the hours say `PH off`."""
    start_day = week_of or datetime.now(SHANGHAI).date()
    monday = start_day - timedelta(days=start_day.weekday())
    plain = _build(expr)
    spans: list[dict[str, Any]] = []
    for i in range(7):
        begin = datetime.combine(monday + timedelta(days=i), time.min, SHANGHAI)
        end = begin + timedelta(days=1)
        evaluator = _build(_for_day(expr, begin)) if holidays else plain
        for opens, closes, state, _ in evaluator.intervals(begin, end):
            if state != State.OPEN:
                continue
            close = "24:00" if closes.astimezone(SHANGHAI) >= end else closes.astimezone(SHANGHAI).strftime("%H:%M")
            spans.append({"days": [i], "open": opens.astimezone(SHANGHAI).strftime("%H:%M"), "close": close})
    return spans


_WORDS = [
    ("24/7", "全天24小时"),
    ("PH", "法定节假日"),
    ("SH", "学校假期"),
    ("off", "休息"),
    ("closed", "休息"),
    ("unknown", "时间不定"),
    ("Mo", "周一"),
    ("Tu", "周二"),
    ("We", "周三"),
    ("Th", "周四"),
    ("Fr", "周五"),
    ("Sa", "周六"),
    ("Su", "周日"),
]


def describe(expr: str) -> str:
    """A Chinese reading of the expression for boards and popups: "周一至周五 08:30-17:30；法定节假日 休息"."""
    text = expr
    for token, word in _WORDS:
        text = re.sub(rf"(?<![A-Za-z]){re.escape(token)}(?![A-Za-z])", word, text)
    text = re.sub(r"(周.)-(周.)", r"\1至\2", text)
    return text.replace("; ", "；").replace(";", "；").replace(",", "、")[:120]
