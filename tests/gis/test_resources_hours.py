from __future__ import annotations

from datetime import datetime

from gis.resources import SHANGHAI, is_open

WEEKDAYS = [{"days": [0, 1, 2, 3, 4], "open": "08:30", "close": "17:30"}]


def at(day: int, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 23 + day, h, m, tzinfo=SHANGHAI)  # 2026-11-23 is a Monday


def test_weekday_office_hours() -> None:
    assert is_open(WEEKDAYS, at(0, "09:00")) is True
    assert is_open(WEEKDAYS, at(0, "17:30")) is False
    assert is_open(WEEKDAYS, at(5, "10:00")) is False


def test_round_the_clock_and_past_midnight() -> None:
    allday = [{"days": list(range(7)), "open": "00:00", "close": "24:00"}]
    assert is_open(allday, at(6, "03:00")) is True
    night = [{"days": list(range(7)), "open": "18:00", "close": "02:00"}]
    assert is_open(night, at(1, "23:00")) is True
    assert is_open(night, at(1, "12:00")) is False


def test_unknown_hours_are_none() -> None:
    assert is_open([], at(0, "10:00")) is None
