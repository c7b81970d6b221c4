"""Ticket lists with filters (state, unit, cell, community, category, overdue, bbox/near, text),
detail views, and CSV / Excel export. Filters compose as SQLAlchemy expressions with bound parameters."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from gis.access import mask_phone, record_read, reporter_view
from gis.errors import InvalidInput, NotFound
from gis.locate import cell_staff
from gis.models import Organization, User, utcnow
from gis.spatial import bbox_envelope, point_sql
from gis.spreadsheet import spreadsheet_cell
from gis.tickets import access, escalation, events, workflow
from gis.tickets.access import is_reporter
from gis.tickets.config import load_config
from gis.tickets.models import Attachment, FollowUp, Rating, Ticket


@dataclass
class TicketQuery:
    states: list[str] = field(default_factory=list)
    unit_id: int | None = None
    cell: str | None = None
    community: str | None = None
    category: list[str] = field(default_factory=list)
    channel: str | None = None
    overdue: bool | None = None
    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float, float] | None = None
    text: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    limit: int = 100
    offset: int = 0


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Overdue now: the running clock's deadline has passed (a 挂起 ticket's clock is paused)."""
    return (Ticket.due_at < now) & (Ticket.state != "suspended")


def _filters(q: TicketQuery, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    unknown = sorted(set(q.states) - set(workflow.STATE_LABELS))
    if unknown:
        raise InvalidInput(f"unknown state(s) {unknown}; states: {', '.join(workflow.STATE_LABELS)}")
    if q.states:
        where.append(Ticket.state.in_(q.states))
    if q.category:
        for c in q.category:
            load_config().category(c)
        where.append(Ticket.category.in_(q.category))
    if q.unit_id is not None:
        where.append(Ticket.unit_id == q.unit_id)
    if q.cell:
        where.append(Ticket.cell_code == q.cell)
    if q.community:
        where.append(Ticket.community_code == q.community)
    if q.channel:
        where.append(Ticket.channel == q.channel)
    if q.overdue is True:
        where.append(overdue_clause(now))
    elif q.overdue is False:
        where.append(~overdue_clause(now) | Ticket.due_at.is_(None))
    if q.bbox is not None:
        where.append(Ticket.geom.intersects(bbox_envelope(q.bbox)))
    if q.near is not None:
        lon, lat, radius = q.near
        where.append(func.ST_DWithin(func.Geography(Ticket.geom), func.Geography(point_sql(lon, lat)), radius))
    if q.text:
        pattern = "%" + q.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(or_(Ticket.description.ilike(pattern), Ticket.address.ilike(pattern)))
    if q.opened_from is not None:
        where.append(Ticket.opened_at >= q.opened_from)
    if q.opened_to is not None:
        where.append(Ticket.opened_at < q.opened_to)
    return where


def _row_select() -> Select[Any]:
    return select(
        Ticket,
        func.ST_X(Ticket.geom).label("lon"),
        func.ST_Y(Ticket.geom).label("lat"),
        Organization.name.label("unit_name"),
    ).outerjoin(Organization, Organization.id == Ticket.unit_id)


def summary(ticket: Ticket, lon: float, lat: float, unit_name: str | None, now: datetime) -> dict[str, Any]:
    cfg = load_config()
    cat = cfg.categories.get(ticket.category)
    profile = cfg.profiles.get(ticket.sla_profile)
    tier = profile.tiers.get(ticket.tier) if profile else None
    return {
        "id": ticket.id,
        "category": ticket.category,
        "category_label": cat.label if cat else ticket.category,
        "description": ticket.description,
        "address": ticket.address,
        "lon": round(lon, 7),
        "lat": round(lat, 7),
        "channel": ticket.channel,
        "urgency": ticket.urgency,
        "state": ticket.state,
        "state_label": workflow.STATE_LABELS[ticket.state],
        "cell_code": ticket.cell_code,
        "community_code": ticket.community_code,
        "compound_code": ticket.compound_code,
        "unit_id": ticket.unit_id,
        "unit_name": unit_name or cfg.unit_types.get(ticket.unit_type, ticket.unit_type),
        "unit_type": ticket.unit_type,
        "sla_profile": ticket.sla_profile,
        "tier": ticket.tier,
        "tier_label": tier.label if tier else ticket.tier,
        "opened_at": ticket.opened_at,
        "due_stage": ticket.due_stage,
        "due_at": ticket.due_at,
        "resolve_due_at": ticket.resolve_due_at,
        "overdue_now": bool(ticket.due_at and ticket.due_at < now and ticket.state != "suspended"),
        "ever_overdue": ticket.overdue,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "merged_into_id": ticket.merged_into_id,
        "reopen_count": ticket.reopen_count,
    }


def list_tickets(session: Session, user: User, q: TicketQuery, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    where = [access.visible_filter(session, user), *_filters(q, now)]
    matched = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    stmt = (
        _row_select().where(*where).order_by(Ticket.opened_at.desc(), Ticket.id.desc()).limit(q.limit).offset(q.offset)
    )
    items = [summary(t, lon, lat, unit, now) for t, lon, lat, unit in session.execute(stmt).tuples()]
    return {"items": items, "numberMatched": matched, "numberReturned": len(items)}


def get_visible(session: Session, user: User, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not access.can_see(session, user, ticket):
        raise NotFound(f"工单不存在或不在您的辖区 / no ticket {ticket_id} (or it is outside your jurisdiction)")
    return ticket


def detail(session: Session, user: User, ticket_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything about one ticket the user may see: state, SLA, parts, photos, feedback, next actions."""
    now = now or utcnow()
    get_visible(session, user, ticket_id)
    ticket, lon, lat, unit = session.execute(_row_select().where(Ticket.id == ticket_id)).tuples().one()
    out = summary(ticket, lon, lat, unit, now)
    manager, workers = cell_staff(session, ticket.cell_code)
    out.update(
        {
            **reporter_fields(session, user, ticket),
            "cell_manager": manager,
            "cell_workers": workers,
            "allowed_actions": workflow.allowed_actions(ticket.state),
            "parts": [
                {
                    "organization_id": o.id,
                    "organization_name": o.name,
                    "state": p.state,
                    "called_at": p.called_at,
                    "acknowledged_at": p.acknowledged_at,
                    "done_at": p.done_at,
                    "report": p.report,
                }
                for p, o in escalation.parts(session, ticket.id)
            ],
            "photos": [
                {"id": a.id, "url": f"/v1/attachments/{a.id}", "thumb_url": f"/v1/attachments/{a.id}/thumb"}
                for a in session.scalars(
                    select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)
                )
            ],
            "follow_ups": [
                {"method": f.method, "outcome": f.outcome, "note": f.note, "at": f.at}
                for f in session.scalars(select(FollowUp).where(FollowUp.ticket_id == ticket.id).order_by(FollowUp.id))
            ],
            "ratings": [
                {"stars": r.stars, "solved": r.solved, "comment": r.comment, "at": r.at}
                for r in session.scalars(select(Rating).where(Rating.ticket_id == ticket.id).order_by(Rating.id))
            ],
        }
    )
    if ticket.reporter_id == user.id:
        out["token"] = ticket.token
    return out


def reporter_fields(session: Session, user: User, ticket: Ticket) -> dict[str, str | None]:
    """The reporter's name and phone as `user` reads them (gis.access.reporter_view): in full (a read of
    personal data by staff is recorded), with the phone masked, or not at all."""
    own = is_reporter(user, ticket)
    view = reporter_view(user, is_reporter=own)
    if view == "none":
        return {"reporter_name": None, "reporter_phone": None}
    if view == "masked":
        return {"reporter_name": ticket.reporter_name, "reporter_phone": mask_phone(ticket.reporter_phone)}
    if not own:
        read = [f for f in ("reporter_name", "reporter_phone") if getattr(ticket, f)]
        record_read(session, user, subject="ticket", ref=str(ticket.id), fields=read)
    return {"reporter_name": ticket.reporter_name, "reporter_phone": ticket.reporter_phone}


def unit_name(session: Session, unit_id: int | None) -> str | None:
    org = session.get(Organization, unit_id) if unit_id is not None else None
    return org.name if org else None


def ticket_state(session: Session, ticket_id: int) -> str:
    state = session.scalar(select(Ticket.state).where(Ticket.id == ticket_id))
    if state is None:
        raise NotFound(f"工单不存在 / no ticket {ticket_id}")
    return state


def lonlat(session: Session, ticket_id: int) -> tuple[float, float]:
    row = session.execute(select(func.ST_X(Ticket.geom), func.ST_Y(Ticket.geom)).where(Ticket.id == ticket_id)).one()
    return float(row[0]), float(row[1])


PERSONAL_PAYLOAD_KEYS = frozenset({"reporter_name", "reporter_phone"})


def history(session: Session, user: User, ticket_id: int) -> list[dict[str, Any]]:
    """The audit trail; residents see public entries only, and other people by their role, not their name."""
    get_visible(session, user, ticket_id)
    resident = user.role == "resident"
    trail = events.history(session, ticket_id, include_internal=not resident)
    roles: dict[int, str] = {}
    if resident:
        ids = {e.actor_id for e in trail if e.actor_id is not None}
        roles = dict(session.execute(select(User.id, User.role).where(User.id.in_(ids))).tuples().all())
    out = []
    for e in trail:
        actor, actor_id, payload = e.actor_label, e.actor_id, e.payload
        if resident and e.actor_id is not None and e.actor_id != user.id:
            actor, actor_id = events.role_label(roles.get(e.actor_id)), None
        if resident:
            payload = {k: v for k, v in (payload or {}).items() if k not in PERSONAL_PAYLOAD_KEYS}
        out.append(
            {
                "id": e.id,
                "at": e.at,
                "actor": actor,
                "actor_id": actor_id,
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": e.note,
                "public": e.public,
                "payload": payload,
            }
        )
    return out


EXPORT_COLUMNS = (
    ("id", "工单号"),
    ("category_label", "类别"),
    ("state_label", "状态"),
    ("description", "诉求内容"),
    ("address", "地址"),
    ("lon", "经度"),
    ("lat", "纬度"),
    ("cell_code", "网格编码"),
    ("community_code", "社区编码"),
    ("compound_code", "小区编码"),
    ("unit_name", "承办单位"),
    ("tier_label", "时限等级"),
    ("channel", "来源渠道"),
    ("opened_at", "受理时间"),
    ("due_at", "当前时限"),
    ("resolved_at", "办结时间"),
    ("ever_overdue", "曾超期"),
)


MAX_EXPORT_ROWS = 50_000


def export(session: Session, user: User, q: TicketQuery, fmt: str) -> bytes:
    """CSV (UTF-8 with BOM, for Excel) or XLSX of every matching ticket (not one page), Chinese headers."""
    matched = list_tickets(session, user, replace(q, limit=0, offset=0))["numberMatched"]
    if matched > MAX_EXPORT_ROWS:
        raise InvalidInput(
            f"导出条数过多 / {matched} tickets match; an export holds at most {MAX_EXPORT_ROWS}: "
            "narrow it by dates (opened_from/opened_to), community or state"
        )
    rows = list_tickets(session, user, replace(q, limit=MAX_EXPORT_ROWS, offset=0))["items"]
    header = [label for _, label in EXPORT_COLUMNS]
    table = [[spreadsheet_cell(r[key]) for key, _ in EXPORT_COLUMNS] for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(table)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("工单")
        ws.append(header)
        for row in table:
            ws.append(row)
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise InvalidInput("format must be csv or xlsx")
