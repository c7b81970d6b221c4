"""Events about places rather than tickets: a compound's nightly 民情工作日志 (to its group robot), a boundary
plan going live, the 定岗 rule missed by a worker at a compound, a 街道's 通报 (evaluation report) stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.models import Compound, User, utcnow
from gis.notify.config import load_config
from gis.notify.emit import Event, emit
from gis.notify.ticket_events import link_base


def worklog(session: Session, entry: dict[str, Any], summary: str, *, now: datetime | None = None) -> int:
    """C2: a compound's log for its group (one message per compound and day, whatever the re-runs)."""
    code = str(entry["subject"])
    name = session.scalar(select(Compound.name).where(Compound.code == code)) or code
    ev = Event(
        name="worklog",
        occurrence=f"{code}:{entry['date']}",
        params={"day": entry["date"], "compound": name, "summary": summary},
        place_code=code,
        compound_code=code,
        area_codes=[code],
    )
    return emit(session, ev, now=now)


def plan_committed(session: Session, plan_id: int, message: str, communities: Sequence[str], *,
                   now: datetime | None = None) -> int:  # fmt: skip
    base = link_base(load_config())
    ev = Event(
        name="plan_committed",
        occurrence=f"plan{plan_id}",
        params={"plan_id": plan_id, "message": message, "link": f"{base}/maps/plans/{plan_id}"},
        place_code=communities[0] if communities else None,
        area_codes=list(communities),
        link=f"{base}/maps/plans/{plan_id}",
    )
    return emit(session, ev, now=now)


def patrol_missed(session: Session, day: date, misses: Sequence[dict[str, Any]], *, now: datetime | None = None) -> int:
    """One event per (worker, compound) that missed the 定岗 minutes on `day`."""
    names = dict(
        session.execute(select(User.id, User.full_name).where(User.id.in_([m["worker_id"] for m in misses])))
        .tuples()
        .all()
    )
    n = 0
    for m in misses:
        ev = Event(
            name="patrol_missed",
            occurrence=f"{day.isoformat()}:{m['worker_id']}:{m['compound_code']}",
            params={
                "day": day.isoformat(),
                "compound": m["compound_name"],
                "worker": names.get(m["worker_id"], ""),
                "minutes": round(m["minutes"]),
                "required": m["required_minutes"],
            },  # fmt: skip
            place_code=m["compound_code"],
            worker_ids=[m["worker_id"]],
            area_codes=[m["compound_code"]],
        )
        n += emit(session, ev, now=now or utcnow())
    return n


def report_ready(session: Session, street_code: str, street_name: str, kind: str, period_text: str, *,
                 now: datetime | None = None) -> int:  # fmt: skip
    """E2: a 街道's 通报 was stored (one message per 街道, kind and period, however often it is rewritten)."""
    base = link_base(load_config())
    link = f"{base}/v1/reports/{kind}/file?street={street_code}&period={period_text}"
    ev = Event(
        name="report_ready",
        occurrence=f"{kind}:{street_code}:{period_text}",
        params={
            "street": street_name,
            "period": period_text,
            "kind": "月度" if kind == "monthly" else "季度",
            "link": link,
            "docx": f"{link}&format=docx",
            "xlsx": f"{link}&format=xlsx",
        },  # fmt: skip
        place_code=street_code,
        area_codes=[street_code],
        link=link,
    )
    return emit(session, ev, now=now)
