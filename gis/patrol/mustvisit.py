"""四必到: the register of 特殊群体 households (visible to the cell's workers and managers only) and each
day's must-visit list — households due by their kind's frequency, plus open hotline tickets, hazards and
disputes in the worker's cells — with what was visited and what was missed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from gis.access import area_codes
from gis.auth import require_role
from gis.errors import InvalidInput
from gis.models import User
from gis.patrol import access
from gis.patrol.config import load_config
from gis.patrol.models import HouseholdVisit, MustVisitHousehold, PatrolVisit
from gis.tickets import workflow
from gis.tickets.models import Ticket

REGISTER_ROLES = ("admin", "manager", "grid_worker")


def _cells_filter(session: Session, user: User) -> ColumnElement[bool]:
    if user.role in access.WIDE_ROLES:
        return true()
    codes = area_codes(session, user)
    if not codes:
        return false()
    return or_(*(MustVisitHousehold.cell_code.startswith(c, autoescape=True) for c in codes))


def list_households(session: Session, user: User, *, cell: str | None = None) -> list[dict[str, Any]]:
    require_role(user, *REGISTER_ROLES)
    stmt = select(MustVisitHousehold).where(MustVisitHousehold.active, _cells_filter(session, user))
    if cell is not None:
        stmt = stmt.where(MustVisitHousehold.cell_code == cell)
    return [household_public(h) for h in session.scalars(stmt.order_by(MustVisitHousehold.id))]


def household_public(h: MustVisitHousehold) -> dict[str, Any]:
    kind = load_config().households.get(h.kind)
    return {
        "id": h.id,
        "cell_code": h.cell_code,
        "compound_code": h.compound_code,
        "building": h.building,
        "unit": h.unit,
        "kind": h.kind,
        "kind_label": kind.label if kind else h.kind,
        "label": h.label,
        "every_days": h.every_days,
    }


def add_household(
    session: Session,
    user: User,
    *,
    cell_code: str,
    building: str,
    unit: str,
    kind: str,
    compound_code: str | None = None,
    label: str | None = None,
    every_days: int | None = None,
) -> MustVisitHousehold:
    """Register a household in a cell of the user's jurisdiction."""
    require_role(user, *REGISTER_ROLES)
    access.require_code_in_scope(session, user, cell_code)
    k = load_config().household_kind(kind)
    if every_days is not None and every_days < 1:
        raise InvalidInput("every_days must be at least 1")
    h = MustVisitHousehold(
        cell_code=cell_code,
        compound_code=compound_code,
        building=building,
        unit=unit,
        kind=kind,
        label=label,
        every_days=every_days or k.every_days,
        created_by_id=user.id,
    )
    session.add(h)
    session.flush()
    return h


def _last_visits(session: Session, ids: list[int], before: date) -> dict[int, date]:
    start, _ = access.day_bounds(before)
    rows = session.execute(
        select(HouseholdVisit.household_id, func.max(HouseholdVisit.at))
        .where(HouseholdVisit.household_id.in_(ids), HouseholdVisit.at < start)
        .group_by(HouseholdVisit.household_id)
    ).all()
    return {int(h): access.local_day(t) for h, t in rows}


def due_households(session: Session, user: User, day: date) -> list[MustVisitHousehold]:
    """Households of the user's cells due on `day` (never visited, or last visit ≥ every_days before)."""
    rows = list(
        session.scalars(
            select(MustVisitHousehold)
            .where(MustVisitHousehold.active, _cells_filter(session, user))
            .order_by(MustVisitHousehold.id)
        )
    )
    last = _last_visits(session, [h.id for h in rows], day)
    return [h for h in rows if h.id not in last or (day - last[h.id]).days >= h.every_days]


def must_visit_tickets(session: Session, user: User) -> list[dict[str, Any]]:
    """Open hotline tickets, hazards and disputes in the worker's cells."""
    cfg = load_config()
    codes = area_codes(session, user)
    if not codes:
        return []
    stmt = (
        select(Ticket.id, Ticket.category, Ticket.channel, Ticket.state, Ticket.cell_code, Ticket.compound_code)
        .where(
            or_(*(Ticket.cell_code.startswith(c, autoescape=True) for c in codes)),
            Ticket.state.in_(sorted(workflow.OPEN_STATES)),
            or_(Ticket.channel.in_(cfg.ticket_channels), Ticket.category.in_(cfg.ticket_categories)),
        )
        .order_by(Ticket.id)
    )
    return [
        {
            "kind": "ticket",
            "ticket_id": i,
            "category": cat,
            "channel": ch,
            "state": st,
            "cell_code": cell,
            "compound_code": comp,
        }  # fmt: skip
        for i, cat, ch, st, cell, comp in session.execute(stmt)
    ]


def visited_on(session: Session, user_id: int, day: date) -> set[int]:
    start, end = access.day_bounds(day)
    return set(
        session.scalars(
            select(HouseholdVisit.household_id)
            .join(PatrolVisit, PatrolVisit.id == HouseholdVisit.visit_id)
            .where(PatrolVisit.user_id == user_id, HouseholdVisit.at >= start, HouseholdVisit.at < end)
        )
    )


def day_list(session: Session, user: User, day: date) -> dict[str, Any]:
    """The day's must-visit list: due households (visited or missed) and must-visit tickets."""
    require_role(user, *REGISTER_ROLES)
    due = due_households(session, user, day)
    done = visited_on(session, user.id, day)
    households = [{**household_public(h), "kind": h.kind, "visited": h.id in done} for h in due]
    return {
        "date": day.isoformat(),
        "households": households,
        "tickets": must_visit_tickets(session, user),
        "visited": [h["id"] for h in households if h["visited"]],
        "missed": [h["id"] for h in households if not h["visited"]],
    }


def missed_between(session: Session, user: User, first: date, last: date) -> dict[str, list[int]]:
    """Households missed per day over [first, last] (for the logs and the demo check)."""
    out = {}
    d = first
    while d <= last:
        out[d.isoformat()] = day_list(session, user, d)["missed"]
        d += timedelta(days=1)
    return out
