"""Who sees which tickets, and who counts as the dispatcher / the assigned unit of a ticket.

- admin, planner: every ticket.
- manager (网格长 / 社区): tickets anchored under their jurisdiction codes (community, cell or compound).
- grid_worker (网格员): tickets in their cells (jurisdiction codes and cell_staff rows).
- department / property-company users: tickets routed to their organization, or where it was called
  to a 吹哨 part.
- resident: the tickets they reported.
Cell and compound codes are hierarchical (community code + sequence), so "under a code" is a prefix test.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import Session

from gis.models import CellStaff, User
from gis.tickets.models import Ticket, TicketPart

WIDE_READ_ROLES = frozenset({"admin", "planner"})
DISPATCH_ROLES = frozenset({"admin", "manager"})


def area_codes(session: Session, user: User) -> list[str]:
    """Jurisdiction codes of a manager or grid worker, plus the cells they staff."""
    codes = set(user.jurisdiction or [])
    if user.role in ("grid_worker", "manager"):
        codes.update(session.scalars(select(CellStaff.cell_code).where(CellStaff.user_id == user.id)))
    return sorted(codes)


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
    if user.role in WIDE_READ_ROLES:
        return true()
    if user.role in ("manager", "grid_worker"):
        return _under(area_codes(session, user))
    if user.role == "department":
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
    if user.role in WIDE_READ_ROLES:
        return True
    if user.role in ("manager", "grid_worker"):
        return in_area(session, user, ticket)
    if user.role == "department":
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
        return user.organization_id == ticket.unit_id and user.role in ("department", "grid_worker", "manager")
    return (
        ticket.unit_type == "community" and user.role in ("grid_worker", "manager") and in_area(session, user, ticket)
    )


def is_reporter(user: User, ticket: Ticket) -> bool:
    return ticket.reporter_id is not None and ticket.reporter_id == user.id
