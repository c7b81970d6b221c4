"""Nightly patrol work (the scheduler only calls it; tests call it directly): close patrols never ended,
store the day's minutes on site, write the 民情工作日志, notify the 定岗 rule's misses; and, as its own short
job, keep patrol_fixes' partitions (the next periods created ahead, those past the retention dropped)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.models import utcnow
from gis.notify import area_events
from gis.patrol import access, derive, partitions, worklog
from gis.patrol.patrols import close_stale


def nightly_patrols(session: Session, day: date | None = None) -> dict[str, Any]:
    """For `day` (default: yesterday, Asia/Shanghai): auto-close, site minutes, logs. Re-running replaces."""
    day = day or access.local_day(utcnow()) - timedelta(days=1)
    closed = close_stale(session)
    sites = derive.store_site_days(session, day)
    logs = worklog.write_logs(session, day)
    missed = area_events.patrol_missed(session, day, derive.rule_misses(session, day))
    return {"day": day.isoformat(), "auto_closed": closed, "site_days": sites, "logs": logs, "rule_missed": missed}


def patrol_partitions(session: Session, today: date | None = None) -> dict[str, Any]:
    """Create the current and next periods' partitions of patrol_fixes, drop those past the retention.

    Its own transaction (scheduler: a job of its own, before nightly_patrols): DETACH locks patrol_fixes, so
    the locks are held for milliseconds, and a lock not granted within 5 s fails the job (retried next night)
    rather than queue ingest behind it."""
    today = today or access.local_day(utcnow())
    session.execute(text("SET LOCAL lock_timeout = '5s'"))
    created = partitions.ensure(session, today)
    dropped = partitions.prune(session, today)
    return {"created": created, "dropped": dropped}
