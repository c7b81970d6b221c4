"""吹哨 (红色吹哨单 / 小区吹哨、多方报到): a ticket calls several departments; each must 报到
(acknowledge) and report its part; the ticket can be resolved only when every part is done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, InvalidTransition
from gis.models import Organization, User, utcnow
from gis.tickets import events, workflow
from gis.tickets.config import load_config
from gis.tickets.models import Ticket, TicketPart


def _organizations(
    session: Session, ticket: Ticket, organization_ids: list[int] | None, unit_types: list[str] | None
) -> list[Organization]:
    orgs: list[Organization] = []
    if organization_ids:
        orgs = list(session.scalars(select(Organization).where(Organization.id.in_(organization_ids))))
        missing = sorted(set(organization_ids) - {o.id for o in orgs})
        if missing:
            raise InvalidInput(f"单位不存在 / no organization with id {missing}")
        return orgs
    cfg = load_config()
    if not unit_types:
        category = cfg.categories.get(ticket.category)
        unit_types = list(category.escalate_to if category and category.escalate_to else ())
        unit_types = unit_types or list(cfg.profiles[ticket.sla_profile].escalate_to)
    for unit_type in unit_types:
        org = session.scalar(
            select(Organization)
            .where(Organization.unit_type == unit_type, Organization.kind == "department")
            .order_by(Organization.code)
            .limit(1)
        )
        if org is not None and org not in orgs:
            orgs.append(org)
    return orgs


def escalate(
    session: Session,
    ticket_id: int,
    *,
    user: User | None,
    organization_ids: list[int] | None = None,
    unit_types: list[str] | None = None,
    note: str | None = None,
    label: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Call departments (explicit ids, unit types, or the category's configured ones)."""
    now = now or utcnow()
    ticket = workflow.lock_ticket(session, ticket_id)
    orgs = _organizations(session, ticket, organization_ids, unit_types)
    if not orgs:
        raise InvalidInput(
            "吹哨须指定至少一个部门 / escalation needs at least one department: give organization_ids or unit_types"
        )
    payload = {"organizations": [{"id": o.id, "name": o.name} for o in orgs]}
    ticket = workflow.transition(
        session, ticket_id, "escalate", user=user, note=note, payload=payload, label=label, now=now
    )
    existing = set(session.scalars(select(TicketPart.organization_id).where(TicketPart.ticket_id == ticket.id)))
    called = [org for org in orgs if org.id not in existing]
    for org in called:
        session.add(
            TicketPart(ticket_id=ticket.id, organization_id=org.id, called_at=now, due_at=ticket.resolve_due_at)
        )
    if called:
        events.notify_unit(session, ticket, [o.id for o in called], "escalation_call", at=now)
    events.notify_unit(session, ticket, [], "escalated", at=now, unit="、".join(o.name for o in orgs))
    session.flush()
    return ticket


def _my_part(session: Session, ticket: Ticket, user: User) -> TicketPart:
    if ticket.state != "escalated":
        raise InvalidTransition(
            f"工单不在吹哨状态 / ticket {ticket.id} is {ticket.state}, not escalated",
            detail={"state": ticket.state, "allowed": workflow.allowed_actions(ticket.state)},
        )
    part = None
    if user.organization_id is not None:
        part = session.scalar(
            select(TicketPart)
            .where(TicketPart.ticket_id == ticket.id, TicketPart.organization_id == user.organization_id)
            .with_for_update()
        )
    if part is None:
        raise Forbidden("贵单位未被吹哨调度 / your organization was not called to this ticket")
    return part


def acknowledge(session: Session, ticket_id: int, *, user: User, now: datetime | None = None) -> TicketPart:
    """报到: the called department confirms it has taken its part."""
    now = now or utcnow()
    ticket = workflow.lock_ticket(session, ticket_id)
    part = _my_part(session, ticket, user)
    if part.state != "called":
        raise InvalidTransition(
            f"已报到 / your part is already {part.state}", detail={"state": part.state, "allowed": ["report"]}
        )
    part.state, part.acknowledged_at = "acknowledged", now
    events.record(
        session, ticket, "part_acknowledged", user=user, payload={"organization_id": part.organization_id}, at=now
    )
    session.flush()
    return part


def report(session: Session, ticket_id: int, *, user: User, text: str, now: datetime | None = None) -> TicketPart:
    """A called department reports its part done (报到 is implied if it had not yet acknowledged)."""
    now = now or utcnow()
    if not text.strip():
        raise InvalidInput("请填写处置情况 / the report must say what was done")
    ticket = workflow.lock_ticket(session, ticket_id)
    part = _my_part(session, ticket, user)
    if part.state == "done":
        raise InvalidTransition("本部门已报告办结 / your part is already done", detail={"state": "done", "allowed": []})
    part.acknowledged_at = part.acknowledged_at or now
    part.state, part.done_at, part.report = "done", now, text.strip()
    events.record(
        session,
        ticket,
        "part_done",
        user=user,
        note=text.strip(),
        payload={"organization_id": part.organization_id},
        at=now,
    )
    session.flush()
    left = session.scalars(select(TicketPart).where(TicketPart.ticket_id == ticket.id, TicketPart.state != "done"))
    if not list(left):
        events.record(
            session, ticket, "parts_complete", user=None, note="各部门均已办结，可办结工单 / every part is done", at=now
        )
    return part


def parts(session: Session, ticket_id: int) -> list[tuple[TicketPart, Organization]]:
    stmt = (
        select(TicketPart, Organization)
        .join(Organization, Organization.id == TicketPart.organization_id)
        .where(TicketPart.ticket_id == ticket_id)
        .order_by(TicketPart.id)
    )
    return [(p, o) for p, o in session.execute(stmt).tuples()]
