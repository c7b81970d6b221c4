"""The working calendar as a table, so handling times in working hours are plain SQL.

`working_epoch(ts)` is the number of working seconds from the calendar's first day to `ts` (the same working
time as `gis.tickets.sla.working_seconds_between`: a working day is the whole 24 h of a working date in
Asia/Shanghai, 调休 Saturdays included, holidays excluded), so "working seconds between a and b" is
working_epoch(b) − working_epoch(a). Days are filled from `gis.tickets.sla.is_working_day` on demand
(`ensure_calendar`); refilling after a chinese-calendar upgrade is `ensure_calendar(..., refresh=True)`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, DateTime, Float, case, cast, delete, extract, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.evaluation.models import WorkCalendarDay
from gis.tickets.sla import is_working_day

FIRST_DAY = date(2004, 1, 1)  # chinese_calendar's first year with data
DAY_S = 86_400


def ensure_calendar(session: Session, until: date, *, refresh: bool = False) -> int:
    """Make the table cover FIRST_DAY … the end of the year after `until`; returns how many days were written."""
    if refresh:
        session.execute(delete(WorkCalendarDay))
    last = session.scalar(select(func.max(WorkCalendarDay.day)))
    end = date(until.year + 1, 12, 31)  # a ticket received in December may be solved in January
    if last is not None and last >= end:
        return 0
    day = FIRST_DAY if last is None else last + timedelta(days=1)
    before = 0
    if last is not None:
        row = session.get(WorkCalendarDay, last)
        before = (row.working_days_before + int(row.working)) if row is not None else 0
    rows: list[dict[str, Any]] = []
    while day <= end:
        working = is_working_day(day)
        rows.append({"day": day, "working": working, "working_days_before": before})
        before += int(working)
        day += timedelta(days=1)
    for k in range(0, len(rows), 5000):
        session.execute(insert(WorkCalendarDay).values(rows[k : k + 5000]).on_conflict_do_nothing())
    session.flush()
    return len(rows)


def local_date(ts: Any) -> Any:
    """SQL: the Asia/Shanghai date of an instant."""
    return cast(func.timezone("Asia/Shanghai", ts), Date)


def working_epoch(ts: Any, wc: Any) -> Any:
    """SQL: working seconds from FIRST_DAY to the instant `ts`, given `wc`, the work_calendar row of its local date
    (joined on `wc.day == local_date(ts)`); NULL when `ts` is NULL or outside the table."""
    local = func.timezone("Asia/Shanghai", ts)
    inside = extract("epoch", local - cast(wc.day, DateTime))
    return cast(wc.working_days_before * DAY_S + case((wc.working, inside), else_=0), Float)
