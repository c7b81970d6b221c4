"""Opening hours in OpenStreetMap syntax: 营业中/休息中 computed, China's holidays (golden week included) from
chinese-calendar, and expressions that do not parse refused with the place where they stop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gis.errors import InvalidInput
from gis.reference import hours
from gis.resources import open_now

SH = hours.SHANGHAI
OFFICE = "Mo-Fr 08:30-11:30,13:30-17:30; PH off"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def test_office_hours_follow_the_week_and_the_lunch_break() -> None:
    assert hours.is_open(OFFICE, at(2026, 12, 1, 9, 0)) is True  # a Tuesday morning
    assert hours.is_open(OFFICE, at(2026, 12, 1, 12, 0)) is False  # lunch
    assert hours.is_open(OFFICE, at(2026, 12, 1, 17, 30)) is False  # closing time is exclusive
    assert hours.is_open(OFFICE, at(2026, 12, 5, 10, 0)) is False  # Saturday


def test_every_day_of_the_national_day_golden_week_is_a_holiday() -> None:
    # the library's own CN table knows only 1 October; chinese-calendar knows the week
    for day in range(1, 8):  # 2026: 1–7 October
        assert hours.is_open(OFFICE, at(2026, 10, day, 10, 0)) is False, day
    assert hours.is_open(OFFICE, at(2026, 9, 30, 10, 0)) is True
    assert hours.is_open(OFFICE, at(2026, 10, 8, 10, 0)) is True


def test_holiday_opening_rules_apply_on_holidays_only() -> None:
    canteen = "Mo-Su 10:30-13:00; PH 11:00-12:00"
    assert hours.is_open(canteen, at(2026, 10, 2, 12, 30)) is False  # holiday: shorter hours
    assert hours.is_open(canteen, at(2026, 10, 2, 11, 30)) is True
    assert hours.is_open(canteen, at(2026, 10, 12, 12, 30)) is True  # an ordinary Monday
    weekend = "Sa,Su,PH 09:00-17:00"
    assert hours.is_open(weekend, at(2026, 10, 7, 10, 0)) is True  # a holiday Wednesday
    assert hours.is_open(weekend, at(2026, 10, 14, 10, 0)) is False  # an ordinary Wednesday


def test_round_the_clock_and_past_midnight() -> None:
    assert hours.is_open("24/7", at(2026, 10, 1, 3, 0)) is True
    late = "Fr 20:00-02:00"
    assert hours.is_open(late, at(2026, 12, 4, 23, 0)) is True
    assert hours.is_open(late, at(2026, 12, 5, 1, 0)) is True  # Saturday 01:00, still Friday's span
    assert hours.is_open(late, at(2026, 12, 5, 3, 0)) is False


@pytest.mark.parametrize("bad", ["Mo-Fr 25:00", "周一至周五 9点到5点", "Mo-Fr 08:30-", "Xx 10:00-12:00"])
def test_hours_that_do_not_parse_are_refused_with_where_and_an_example(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        hours.parse(bad)
    assert "opening_hours" in err.value.message and "e.g." in err.value.message
    assert err.value.detail["field"] == "opening_hours"
    assert "character" in err.value.detail["reason"] or err.value.detail["reason"]


def test_blank_and_overlong_hours_are_refused() -> None:
    with pytest.raises(InvalidInput):
        hours.parse("  ")
    with pytest.raises(InvalidInput):
        hours.parse("Mo 10:00-11:00; " * 30)


def test_description_reads_in_chinese() -> None:
    assert hours.describe(OFFICE) == "周一至周五 08:30-11:30、13:30-17:30；法定节假日 休息"
    assert hours.describe("24/7") == "全天24小时"


def test_weekly_spans_feed_the_pages_refresh() -> None:
    spans = hours.weekly_spans("Mo-Fr 08:30-17:30; Sa 22:00-02:00")
    assert {"days": [0], "open": "08:30", "close": "17:30"} in spans
    assert {"days": [5], "open": "22:00", "close": "24:00"} in spans
    assert {"days": [6], "open": "00:00", "close": "02:00"} in spans
    assert not any(s["days"] == [6] and s["open"] != "00:00" for s in spans)


def test_open_now_prefers_the_osm_hours_and_falls_back_to_the_weekly_spans() -> None:
    legacy = [{"days": [3], "open": "08:00", "close": "18:00"}]
    holiday_thursday = at(2026, 10, 1, 10, 0)
    assert open_now(None, legacy, holiday_thursday) is True  # typed spans know no holiday
    assert open_now("Th 08:00-18:00; PH off", legacy, holiday_thursday) is False
    assert open_now(None, [], holiday_thursday) is None


def test_a_holiday_weeks_spans_close_the_page_badges_on_holidays() -> None:
    golden_week = hours.weekly_spans(OFFICE, week_of=at(2026, 10, 1, 9, 0).date(), holidays=True)
    # 2026-09-28 (Mon) to 30 (Wed) are working days, 1–4 October holidays
    assert {s["days"][0] for s in golden_week} == {0, 1, 2}
    ordinary = hours.weekly_spans(OFFICE, week_of=at(2026, 10, 1, 9, 0).date())
    assert {s["days"][0] for s in ordinary} == {0, 1, 2, 3, 4}


def test_the_state_is_exact_to_the_second_around_a_boundary() -> None:
    """`is_open` evaluates an expression once a minute (its times are whole minutes): still exact each second."""
    expr = "Mo-Fr 08:30-17:30"
    day = (2026, 11, 30)  # a Monday, no holiday
    assert hours.is_open(expr, at(*day, 8, 29, 59)) is False
    assert hours.is_open(expr, at(*day, 8, 30, 0)) is True
    assert hours.is_open(expr, at(*day, 17, 29, 59, 999999)) is True
    assert hours.is_open(expr, at(*day, 17, 30, 0)) is False
    # the same instant given in UTC is the same minute in Asia/Shanghai
    assert hours.is_open(expr, datetime(2026, 11, 30, 0, 30, 0, tzinfo=UTC)) is True
    assert hours.is_open(expr, datetime(2026, 11, 30, 0, 29, 59, tzinfo=UTC)) is False
