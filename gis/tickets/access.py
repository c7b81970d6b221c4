"""Who sees which tickets, and who counts as the dispatcher / the assigned unit of a ticket, on the rules of
`gis.access` (one definition of a user's cells, communities, compounds and organisation).

- admin, planner: every ticket (planners without the reporter's name and phone, `gis.access.reporter_view`).
- manager (网格长 / 社区): tickets anchored under their codes (community, cell or compound; and staffed cells).
- grid_worker (网格员): tickets in their cells (jurisdiction codes and cell_staff rows).
- department and property (物业公司) users: tickets routed to their organization, or where it was called
  to a 吹哨 part.
- resident: the tickets they reported.
Cell and compound codes are hierarchical (community code + sequence), so "under a code" is a prefix test.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import Session

from gis.access import AREA_ROLES, ORG_ROLES, WIDE_ROLES, area_codes
from gis.models import User
from gis.tickets.models import Ticket, TicketPart


def _under(codes: list[str]) -> ColumnElement[bool]:
    if not codes:
        return false()
    clauses = []
    for code in codes:
        clauses.append(Ticket.cell_code.startswith(code, autoescape=True))
        clauses.append(Ticket.compound_code.startswith(code, autoescape=True))
    return or_(*clauses)


def visible_filter(session: Session, user: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the tickets `user` may read."""
    if user.role in WIDE_ROLES:
        return true()
    if user.role in AREA_ROLES:
        return _under(area_codes(session, user))
    if user.role in ORG_ROLES:
        if user.organization_id is None:
            return false()
        part = exists().where(TicketPart.ticket_id == Ticket.id, TicketPart.organization_id == user.organization_id)
        return or_(Ticket.unit_id == user.organization_id, part)
    if user.role == "resident":
        return Ticket.reporter_id == user.id
    return false()


def _code_under(code: str | None, scope: list[str]) -> bool:
    return code is not None and any(code.startswith(s) for s in scope)


def in_area(session: Session, user: User, ticket: Ticket) -> bool:
    scope = area_codes(session, user)
    return _code_under(ticket.cell_code, scope) or _code_under(ticket.compound_code, scope)


def can_see(session: Session, user: User, ticket: Ticket) -> bool:
    if user.role in WIDE_ROLES:
        return True
    if user.role in AREA_ROLES:
        return in_area(session, user, ticket)
    if user.role in ORG_ROLES:
        return user.organization_id is not None and (
            ticket.unit_id == user.organization_id or has_part(session, ticket.id, user.organization_id)
        )
    return user.role == "resident" and ticket.reporter_id == user.id


def has_part(session: Session, ticket_id: int, organization_id: int) -> bool:
    stmt = select(TicketPart.id).where(TicketPart.ticket_id == ticket_id, TicketPart.organization_id == organization_id)
    return session.scalar(stmt) is not None


def is_dispatcher(session: Session, user: User, ticket: Ticket) -> bool:
    """社区派单: admin anywhere, a manager within their jurisdiction."""
    if user.role == "admin":
        return True
    return user.role == "manager" and in_area(session, user, ticket)


def is_unit(session: Session, user: User, ticket: Ticket) -> bool:
    """The assigned unit: a member of the routed organization, or — for tickets the community handles
    itself (unit_type "community") — the cell's grid workers and managers."""
    if ticket.unit_id is not None:
        return user.organization_id == ticket.unit_id and user.role in ORG_ROLES | AREA_ROLES
    return ticket.unit_type == "community" and user.role in AREA_ROLES and in_area(session, user, ticket)


def is_reporter(user: User, ticket: Ticket) -> bool:
    return ticket.reporter_id is not None and ticket.reporter_id == user.id
