"""A worker's day (`GET /v1/patrols/me/today`): assigned compounds with minutes on site so far, the
must-visit list, and tickets dispatched to them or claimable by the community in their cells."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.auth import require_role
from gis.models import Compound, User, utcnow
from gis.patrol import access, derive, mustvisit
from gis.patrol.config import load_config
from gis.patrol.models import PatrolAssignment, PatrolVisit
from gis.tickets import workflow
from gis.tickets.access import is_unit, visible_filter
from gis.tickets.models import Ticket

MAX_TICKETS = 50


def my_day(session: Session, user: User, *, now: datetime | None = None) -> dict[str, Any]:
    require_role(user, *access.PATROL_ROLES)
    now = now or utcnow()
    day = access.local_day(now)
    start, end = access.day_bounds(day)
    rule = load_config().rule
    assigned = session.execute(
        select(Compound.code, Compound.name)
        .join(PatrolAssignment, PatrolAssignment.compound_code == Compound.code)
        .where(PatrolAssignment.user_id == user.id, PatrolAssignment.valid_to.is_(None))
        .order_by(Compound.code)
    ).all()
    minutes = derive.site_minutes(session, day, user_ids=[user.id], rule=rule)
    checked_in = set(
        session.scalars(
            select(PatrolVisit.compound_code).where(
                PatrolVisit.user_id == user.id, PatrolVisit.t >= start, PatrolVisit.t < end
            )
        )
    )
    compounds = [
        {
            "code": code,
            "name": name,
            "minutes_on_site": minutes.get((user.id, code), 0.0),
            "required_minutes": rule.required_minutes,
            "visited": code in checked_in or minutes.get((user.id, code), 0.0) > 0,
        }
        for code, name in assigned
    ]
    must = mustvisit.day_list(session, user, day)
    tickets = [
        {
            "id": t.id,
            "category": t.category,
            "state": t.state,
            "cell_code": t.cell_code,
            "compound_code": t.compound_code,
            "due_at": t.due_at,
        }  # fmt: skip
        for t in session.scalars(
            select(Ticket)
            .where(visible_filter(session, user), Ticket.state.in_(sorted(workflow.OPEN_STATES)))
            .order_by(Ticket.due_at.nulls_last(), Ticket.id)
            .limit(MAX_TICKETS * 4)
        )
        if is_unit(session, user, t)
    ][:MAX_TICKETS]
    return {
        "date": day.isoformat(),
        "compounds": compounds,
        "must_visit": [*must["households"], *must["tickets"]],
        "tickets": tickets,
    }
