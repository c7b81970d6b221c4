"""Periodic ticket work as plain functions (the scheduler only calls them; tests call them directly):
flag overdue tickets, escalate automatically per SLA tier, write nightly and monthly summaries, delete
photos that were uploaded but never attached to a ticket."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.errors import GridError
from gis.evaluation.report import scheduled_reports as evaluation_reports  # noqa: F401  (scheduler.CRON: 通报)
from gis.models import Organization, utcnow
from gis.patrol.tasks import nightly_patrols, patrol_partitions  # noqa: F401  (scheduled with the ticket tasks)
from gis.settings import get_settings
from gis.tickets import escalation, events, photos, sla, workflow
from gis.tickets.config import load_config
from gis.tickets.models import Attachment, Rating, Ticket, TicketReport
from gis.tickets.queries import overdue_clause

log = logging.getLogger(__name__)


def mark_overdue(session: Session, *, now: datetime | None = None) -> list[int]:
    """Flag tickets whose running clock passed its deadline (once per ticket; counts in KPIs)."""
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(Ticket)
            .where(overdue_clause(now), Ticket.overdue.is_(False))
            .order_by(Ticket.id)
            .with_for_update(skip_locked=True)  # a ticket being edited now is flagged next run
        )
    )
    for t in rows:
        t.overdue = True
        events.record(
            session,
            t,
            "overdue",
            user=None,
            label="系统 SLA",
            note=f"超期 / overdue at stage {t.due_stage}",
            public=False,
            payload={"stage": t.due_stage, "due_at": t.due_at.isoformat() if t.due_at else None},
            at=now,
        )
        if t.unit_id is not None:
            events.notify_unit(session, t, [t.unit_id], "overdue", at=now, occurrence=f"t{t.id}:overdue")
    session.flush()
    return [t.id for t in rows]


def auto_escalate(session: Session, *, now: datetime | None = None) -> list[int]:
    """吹哨 automatically when a tier says so (e.g. 棘手 past its 7 working days).

    Each ticket is escalated and committed on its own: a run holds one ticket's lock at a time, so staff acting
    on other tickets never wait for the whole run."""
    now = now or utcnow()
    cfg = load_config()
    pairs = [(p.code, t.code) for p in cfg.profiles.values() for t in p.tiers.values() if t.escalate == "overdue"]
    if not pairs:
        return []
    sources = workflow.MACHINE["escalate"].sources
    ids = list(
        session.scalars(
            select(Ticket.id)
            .where(
                or_(*(and_(Ticket.sla_profile == p, Ticket.tier == t) for p, t in pairs)),
                Ticket.state.in_(sources),
                Ticket.resolve_due_at < now,
            )
            .order_by(Ticket.id)
        )
    )
    session.commit()  # end the read before taking ticket locks one by one
    done = []
    for ticket_id in ids:
        try:
            escalation.escalate(
                session, ticket_id, user=None, label="自动吹哨 (SLA)", note="超过时限，自动吹哨", now=now
            )
            session.commit()
            done.append(ticket_id)
        except GridError as exc:  # e.g. no department configured: leave it to the dispatcher
            session.rollback()
            log.warning("ticket %s not escalated automatically: %s", ticket_id, exc.message)
    return done


def summarize(session: Session, start: datetime, end: datetime, *, now: datetime | None = None) -> dict[str, Any]:
    """KPIs over [start, end): intake, resolution, on-time rate, satisfaction, per unit and community."""
    now = now or utcnow()
    in_period = and_(Ticket.opened_at >= start, Ticket.opened_at < end)
    resolved = and_(Ticket.resolved_at >= start, Ticket.resolved_at < end)
    opened = session.scalar(select(func.count()).where(in_period)) or 0
    n_resolved = session.scalar(select(func.count()).where(resolved)) or 0
    on_time = session.scalar(select(func.count()).where(resolved, Ticket.resolved_at <= Ticket.resolve_due_at)) or 0
    overdue_open = session.scalar(select(func.count()).where(overdue_clause(now))) or 0
    rating = session.execute(
        select(func.count(), func.avg(Rating.stars), func.count().filter(Rating.stars >= 4)).where(
            Rating.at >= start, Rating.at < end
        )
    ).one()
    by_unit = [
        {"unit": name or "社区自办", "opened": n, "ever_overdue": late}
        for name, n, late in session.execute(
            select(Organization.name, func.count(), func.count().filter(Ticket.overdue.is_(True)))
            .select_from(Ticket)
            .outerjoin(Organization, Organization.id == Ticket.unit_id)
            .where(in_period)
            .group_by(Organization.name)
            .order_by(func.count().desc())
        )
    ]
    by_community = dict(
        session.execute(select(Ticket.community_code, func.count()).where(in_period).group_by(Ticket.community_code))
        .tuples()
        .all()
    )
    return {
        "opened": opened,
        "resolved": n_resolved,
        "on_time_rate": round(on_time / n_resolved, 4) if n_resolved else None,
        "overdue_open_now": overdue_open,
        "ratings": rating[0],
        "avg_stars": round(float(rating[1]), 2) if rating[1] is not None else None,
        "satisfaction_rate": round(rating[2] / rating[0], 4) if rating[0] else None,
        "by_unit": by_unit,
        "by_community": {k or "": v for k, v in by_community.items()},
    }


def _save_report(session: Session, kind: str, first: date, last: date, data: dict[str, Any]) -> None:
    stmt = insert(TicketReport).values(kind=kind, period_start=first, period_end=last, data=data, created_at=utcnow())
    stmt = stmt.on_conflict_do_update(constraint="uq_ticket_report_period", set_={"data": data, "created_at": utcnow()})
    session.execute(stmt)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=sla.SHANGHAI)


BACKFILL_DAYS = 31  # a worker that was down catches up on this many missed nightly reports


def _missing(session: Session, kind: str, starts: list[date]) -> list[date]:
    have = set(
        session.scalars(
            select(TicketReport.period_start).where(TicketReport.kind == kind, TicketReport.period_start.in_(starts))
        )
    )
    return [d for d in starts if d not in have]


def nightly_summary(session: Session, day: date | None = None) -> dict[str, Any]:
    """民情日报: the day's numbers (Asia/Shanghai), stored once per day (re-running replaces it).

    Without a day: yesterday, plus any of the last BACKFILL_DAYS days whose report is missing (the worker
    may have been down at 00:30)."""
    if day is None:
        yesterday = utcnow().astimezone(sla.SHANGHAI).date() - timedelta(days=1)
        for missed in _missing(session, "daily", [yesterday - timedelta(days=k) for k in range(1, BACKFILL_DAYS)]):
            nightly_summary(session, missed)
        day = yesterday
    data = summarize(session, _local_midnight(day), _local_midnight(day + timedelta(days=1)))
    _save_report(session, "daily", day, day, data)
    return data


def monthly_report(session: Session, month: date | None = None) -> dict[str, Any]:
    """物业工单定期通报 / monthly KPIs per unit (the basis of the 红黑榜); without a month, last month and the
    month before it when its report is missing."""
    today = utcnow().astimezone(sla.SHANGHAI).date()
    if month is None:
        last = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        before = (last - timedelta(days=1)).replace(day=1)
        if _missing(session, "monthly", [before]):
            monthly_report(session, before)
    first = (month or (today.replace(day=1) - timedelta(days=1))).replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    data = summarize(session, _local_midnight(first), _local_midnight(nxt))
    _save_report(session, "monthly", first, nxt - timedelta(days=1), data)
    return data


UPLOAD_TTL = timedelta(hours=24)  # an upload not attached to a ticket by then is abandoned


def sweep_uploads(session: Session, *, media_dir: Path | None = None, now: datetime | None = None) -> list[int]:
    """Delete photos uploaded more than UPLOAD_TTL ago and never attached: their rows, then (after the commit)
    their files, unless another row stores the same bytes."""
    now = now or utcnow()
    media = Path(media_dir if media_dir is not None else get_settings().media_dir)
    stale = list(
        session.scalars(
            select(Attachment)
            .where(Attachment.ticket_id.is_(None), Attachment.created_at < now - UPLOAD_TTL)
            .order_by(Attachment.id)
            .with_for_update(skip_locked=True)  # one being attached right now is not stale
        )
    )
    ids = [a.id for a in stale]
    files = {(photos.path_for(media, a), photos.thumb_for(media, a), a.sha256) for a in stale}
    for a in stale:
        session.delete(a)
    session.commit()
    shared = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_([f[2] for f in files]))))
    session.commit()
    for path, thumb, sha in files:
        if sha not in shared:
            path.unlink(missing_ok=True)
            thumb.unlink(missing_ok=True)
    return ids
