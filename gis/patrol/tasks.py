"""Nightly patrol work (the scheduler only calls it; tests call it directly): close patrols never ended,
store the day's minutes on site, write the 民情工作日志, notify the 定岗 rule's misses."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gis.models import utcnow
from gis.notify import area_events
from gis.patrol import access, derive, worklog
from gis.patrol.patrols import close_stale


def nightly_patrols(session: Session, day: date | None = None) -> dict[str, Any]:
    """For `day` (default: yesterday, Asia/Shanghai): auto-close, site minutes, logs. Re-running replaces."""
    day = day or access.local_day(utcnow()) - timedelta(days=1)
    closed = close_stale(session)
    sites = derive.store_site_days(session, day)
    logs = worklog.write_logs(session, day)
    missed = area_events.patrol_missed(session, day, derive.rule_misses(session, day))
    return {"day": day.isoformat(), "auto_closed": closed, "site_days": sites, "logs": logs, "rule_missed": missed}
