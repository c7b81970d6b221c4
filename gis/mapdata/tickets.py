"""Ticket layers of the operations map: points for the clustered layer, a heat grid and per-cell counts
for the choropleth — always limited to the tickets the user may read (gis.tickets.access), filtered by
category / state / opening date, built in SQL with bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import User, utcnow
from gis.resources import SHANGHAI
from gis.spatial import METRES_PER_DEGREE, BBox, bbox_envelope, feature_collection, feature_expr, geojson
from gis.tickets.access import visible_filter
from gis.tickets.config import load_config
from gis.tickets.models import Ticket
from gis.tickets.queries import overdue_clause
from gis.tickets.workflow import OPEN_STATES, STATE_LABELS

# Pseudo-states of the state filter (besides every real state).
OPEN = "open"  # 未办结: any state still being worked on
OVERDUE = "overdue"  # 超期: the running clock's deadline has passed
STATE_FILTER_LABELS: dict[str, str] = {OPEN: "未办结", OVERDUE: "超期", **STATE_LABELS}
MAX_RANGE_DAYS = 3660


def category_labels() -> dict[str, str]:
    """Category code → Chinese label (from the ticket configuration)."""
    return {code: c.label for code, c in load_config().categories.items()}


@dataclass(frozen=True)
class TicketFilters:
    """What the operations page's filters ask for; `check()` refuses unknown values (→ 422)."""

    categories: tuple[str, ...] = ()
    states: tuple[str, ...] = ()  # real states and/or OPEN / OVERDUE
    opened_from: date | None = None  # inclusive, 北京时间 days
    opened_to: date | None = None  # inclusive

    def check(self) -> TicketFilters:
        known = category_labels()
        bad = sorted(set(self.categories) - set(known))
        if bad:
            message = f"未知的工单类别 / unknown category {bad}; use one of: {', '.join(known)}"
            raise InvalidInput(message, detail={"known": list(known)})
        bad = sorted(set(self.states) - set(STATE_FILTER_LABELS))
        if bad:
            raise InvalidInput(f"未知的工单状态 / unknown state {bad}; use one of: {', '.join(STATE_FILTER_LABELS)}")
        if self.opened_from and self.opened_to:
            if self.opened_from > self.opened_to:
                raise InvalidInput("开始日期晚于结束日期 / opened_from must not be after opened_to")
            if (self.opened_to - self.opened_from).days > MAX_RANGE_DAYS:
                raise InvalidInput(f"日期范围过大 / the date range may span at most {MAX_RANGE_DAYS} days")
        return self


@dataclass(frozen=True)
class TicketScope:
    """The WHERE clauses selecting the tickets one user may see that match the filters, and `now`."""

    where: tuple[ColumnElement[bool], ...]
    now: datetime = field(default_factory=utcnow)


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=SHANGHAI)


def ticket_scope(session: Session, user: User, filters: TicketFilters, *, now: datetime | None = None) -> TicketScope:
    """Visibility (jurisdiction, role) and the filters as bound SQL clauses."""
    now = now or utcnow()
    return TicketScope((visible_filter(session, user), *filter_clauses(filters, now)), now)


def filter_clauses(filters: TicketFilters, now: datetime) -> list[ColumnElement[bool]]:
    """The filters alone as SQL clauses (checked first: InvalidInput on unknown values); also the ticket tiles'."""
    f = filters.check()
    where: list[ColumnElement[bool]] = []
    if f.categories:
        where.append(Ticket.category.in_(f.categories))
    real = [s for s in f.states if s in STATE_LABELS]
    state_clauses: list[ColumnElement[bool]] = []
    if real:
        state_clauses.append(Ticket.state.in_(real))
    if OPEN in f.states:
        state_clauses.append(Ticket.state.in_(sorted(OPEN_STATES)))
    if OVERDUE in f.states:
        state_clauses.append(overdue_clause(now))
    if state_clauses:  # several choices: any of them
        where.append(or_(*state_clauses))
    if f.opened_from is not None:
        where.append(Ticket.opened_at >= _day_start(f.opened_from))
    if f.opened_to is not None:
        where.append(Ticket.opened_at < _day_start(f.opened_to + timedelta(days=1)))
    return where


def counts_by_cell(session: Session, scope: TicketScope, *extra: ColumnElement[bool]) -> dict[str, int]:
    """Visible, filtered tickets counted per cell code: one grouped query."""
    n = func.count()
    rows = session.execute(select(Ticket.cell_code, n).where(*scope.where, *extra).group_by(Ticket.cell_code))
    return {code: int(count) for code, count in rows.tuples()}


def ticket_point_properties(now: datetime) -> dict[str, Any]:
    """What a ticket point of the map carries: codes (the page holds the Chinese labels), due time, overdue."""
    return {
        "id": Ticket.id,
        "category": Ticket.category,
        "state": Ticket.state,
        "urgency": Ticket.urgency,
        "cell_code": Ticket.cell_code,
        "address": Ticket.address,
        "opened_at": Ticket.opened_at,
        "due_at": Ticket.due_at,
        "overdue": func.coalesce(overdue_clause(now), False),
    }


def ticket_points(session: Session, *, bbox: BBox, scope: TicketScope, limit: int = 3000) -> dict[str, Any]:
    """Tickets in a bbox for the clustered layer, newest first; `truncated` when more than `limit` matched.

    Properties are codes (the page holds the Chinese labels) plus due time and an overdue flag."""
    feature = feature_expr(geojson(Ticket.geom), ticket_point_properties(scope.now))
    rows = list(
        session.scalars(
            select(feature)
            .where(*scope.where, Ticket.geom.intersects(bbox_envelope(bbox)))
            .order_by(Ticket.opened_at.desc())
            .limit(limit + 1)
        )
    )
    return feature_collection(rows[:limit], truncated=len(rows) > limit)


def ticket_heat(
    session: Session, *, bbox: BBox, scope: TicketScope, grid_m: float, limit: int = 20_000
) -> list[list[float]]:
    """[[lat, lon, tickets], …]: visible, filtered tickets counted on a `grid_m` grid (zoom-dependent)."""
    point = func.ST_SnapToGrid(Ticket.geom, max(grid_m, 1.0) / METRES_PER_DEGREE)
    inner = select(point.label("p")).where(*scope.where, Ticket.geom.intersects(bbox_envelope(bbox))).subquery()
    n = func.count()
    rows = session.execute(select(func.ST_Y(inner.c.p), func.ST_X(inner.c.p), n).group_by(inner.c.p).limit(limit))
    return [[round(float(y), 6), round(float(x), 6), float(c)] for y, x, c in rows.tuples()]
