"""SLA clocks on the Chinese working calendar: 国庆 and 春节 with their 调休 make-up days, 挂起 pauses,
wall-clock tiers, and the fallback beyond the calendar's data."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from gis.tickets import sla
from gis.tickets.config import Duration, load_config

SH = sla.SHANGHAI
THREE_WD = Duration(working_days=3)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_national_day_2024_skips_the_holiday() -> None:
    # Monday 30 Sep 2024 10:00; 1–7 Oct is 国庆; three working days end Thursday 10 Oct 10:00
    assert sla.due_after(THREE_WD, at(2024, 9, 30, 10)) == at(2024, 10, 10, 10)


def test_make_up_saturday_counts_as_a_working_day() -> None:
    # Saturday 12 Oct 2024 was a 调休 working day: Fri 11 Oct + 3 working days is Tue 15 Oct, not Wed 16
    assert sla.is_working_day(at(2024, 10, 12).date())
    assert sla.due_after(THREE_WD, at(2024, 10, 11, 10)) == at(2024, 10, 15, 10)


def test_spring_festival_2025_with_make_up_days() -> None:
    assert sla.is_working_day(at(2025, 1, 26).date())  # Sunday before 春节: 调休 working day
    assert not sla.is_working_day(at(2025, 1, 29).date())  # 春节
    # Monday 27 Jan 09:00, holiday 28 Jan – 4 Feb: 3 working days end Friday 7 Feb 09:00
    assert sla.due_after(THREE_WD, at(2025, 1, 27, 9)) == at(2025, 2, 7, 9)
    # a report on the first day of the holiday starts counting at 00:00 of the first working day (5 Feb)
    assert sla.due_after(THREE_WD, at(2025, 1, 29, 15)) == at(2025, 2, 8, 0)  # i.e. 24:00 on Fri 7 Feb


def test_seven_working_days_over_national_day_2025() -> None:
    # 2025: 1–8 Oct holiday, Sat 11 Oct make-up day; Tue 30 Sep 14:00 + 7 working days
    due = sla.due_after(Duration(working_days=7), at(2025, 9, 30, 14))
    assert due == at(2025, 10, 16, 14)


def test_wall_clock_tiers_ignore_the_calendar() -> None:
    cfg = load_config()
    normal = cfg.profiles["four_level"].tiers["normal"]
    assert sla.due_after(normal.resolve, at(2024, 10, 1, 8)) == at(2024, 10, 2, 8)  # 24 h, even on 国庆
    arrive = cfg.profiles["p1715"].stages["claim"]
    assert sla.due_after(arrive, at(2024, 10, 1, 8)) == at(2024, 10, 1, 8, 10)  # "1715": 10 minutes


def test_suspension_moves_working_day_deadlines_by_working_time_only() -> None:
    due = at(2024, 10, 10, 10)
    # suspended Fri 27 Sep 12:00 → resumed Tue 8 Oct 12:00: working time in between is
    # Fri 12 h + Sun 29 Sep (调休) 24 h + Mon 30 Sep 24 h + Tue 8 Oct 12 h = 72 h = 3 working days
    moved = sla.extend_for_pause(due, THREE_WD, at(2024, 9, 27, 12), at(2024, 10, 8, 12))
    assert sla.working_seconds_between(at(2024, 9, 27, 12), at(2024, 10, 8, 12)) == 72 * 3600
    # and the deadline (Thu 10 Oct 10:00) moves by 3 working days: Fri 11, Sat 12 (调休), Mon 14
    assert moved == sla.add_working_time(due, 72 * 3600) == at(2024, 10, 14, 10)
    wall = Duration(wall=timedelta(hours=24))
    assert sla.extend_for_pause(due, wall, at(2024, 10, 1), at(2024, 10, 3)) == due + timedelta(days=2)


def test_beyond_the_calendar_data_weekends_are_assumed_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    sla._warn_no_calendar.cache_clear()
    sla.is_working_day.cache_clear()
    with caplog.at_level(logging.WARNING, logger="gis.tickets.sla"):
        # 2099: no holiday data; Friday 2 Jan 2099 + 1 working day skips the weekend
        assert sla.due_after(Duration(working_days=1), at(2099, 1, 2, 10)) == at(2099, 1, 5, 10)
    assert any("2099" in r.getMessage() for r in caplog.records)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        sla.add_working_time(datetime(2024, 10, 1), 10)
