"""SLA clocks on the Chinese working calendar (工作日, with 调休 make-up days).

A working day is the whole 24 hours of a working date in Asia/Shanghai. "N working days from t"
consumes N × 24 h of working time starting at t: from a working-day morning it ends at the same clock
time N working days later; from a holiday it starts at 00:00 of the next working day. Wall-clock
durations (24 h, 10 min) ignore the calendar. The working calendar comes from `chinese_calendar`
(State Council notices, with 调休); beyond its data the fallback is "Monday–Friday", with a warning.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from gis.tickets.config import Duration, Profile, Tier

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY_S = 86_400.0
_MAX_DAYS = 3 * 366  # no SLA runs longer than this; guards the day walk


@lru_cache(maxsize=8)
def _warn_no_calendar(year: int) -> None:
    log.warning(
        "chinese_calendar has no holiday data for %s: counting Monday–Friday as working days "
        "(upgrade the chinese-calendar package when the State Council publishes the %s schedule)",
        year,
        year,
    )


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    """True on Chinese working days, including 调休 weekend make-up days; False on holidays."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_no_calendar(day.year)
        return day.weekday() < 5


def _local(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("SLA times must be timezone-aware")
    return t.astimezone(SHANGHAI)


def _next_midnight(t: datetime) -> datetime:
    return datetime.combine(t.date() + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def add_working_time(start: datetime, seconds: float) -> datetime:
    """The instant when `seconds` of working time have passed after `start`."""
    t = _local(start)
    left = float(seconds)
    for _ in range(_MAX_DAYS):
        midnight = _next_midnight(t)
        if is_working_day(t.date()):
            available = (midnight - t).total_seconds()
            if left <= available:
                return t + timedelta(seconds=left)
            left -= available
        t = midnight
    raise ValueError(f"working time of {seconds} s is beyond the {_MAX_DAYS}-day SLA horizon")


def working_seconds_between(a: datetime, b: datetime) -> float:
    """Working time (seconds) between two instants; 0 when b <= a."""
    t, end = _local(a), _local(b)
    total = 0.0
    while t < end:
        midnight = min(_next_midnight(t), end)
        if is_working_day(t.date()):
            total += (midnight - t).total_seconds()
        t = midnight
    return total


def due_after(duration: Duration, start: datetime) -> datetime:
    """Deadline for a duration starting at `start` (working days or wall clock)."""
    if duration.working_days is not None:
        return add_working_time(start, duration.working_days * DAY_S)
    return start + (duration.wall or timedelta(0))


def extend_for_pause(due: datetime, duration: Duration, paused_from: datetime, resumed_at: datetime) -> datetime:
    """Push a deadline back by the time a ticket spent 挂起 (in working time for working-day SLAs)."""
    if resumed_at <= paused_from:
        return due
    if duration.working_days is not None:
        return add_working_time(due, working_seconds_between(paused_from, resumed_at))
    return due + (resumed_at - paused_from)


# Which clock runs in each state: a stage of the profile, or the tier's resolution deadline.
STAGE_OF_STATE: dict[str, str] = {
    "reported": "accept",
    "accepted": "dispatch",
    "rejected": "dispatch",
    "dispatched": "claim",
    "reopened": "claim",
    "claimed": "resolve",
    "in_progress": "resolve",
    "escalated": "resolve",
    "resolved": "verify",
}


def stage_duration(profile: Profile, tier: Tier, stage: str) -> Duration:
    return tier.resolve if stage == "resolve" else profile.stages[stage]


def due_for_state(
    profile: Profile, tier: Tier, state: str, *, now: datetime, resolve_due_at: datetime | None
) -> tuple[str | None, datetime | None]:
    """(stage, due_at) of the clock that runs while a ticket is in `state` (None when no clock runs)."""
    stage = STAGE_OF_STATE.get(state)
    if stage is None or (stage != "resolve" and stage not in profile.stages):
        return None, None
    if stage == "resolve":
        return stage, resolve_due_at or due_after(tier.resolve, now)
    return stage, due_after(profile.stages[stage], now)
