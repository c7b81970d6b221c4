"""The intake fast path (one lookup statement, one insert statement) agrees with the reference functions
`routing.anchor_point`, `routing.route` and `dedupe.find_duplicates`, and writes the same rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import OutsideServiceArea
from gis.models import Compound, GridCell, User
from gis.tickets import dedupe, idempotency, routing
from gis.tickets.config import load_config
from gis.tickets.intake import TicketDraft, create_ticket, lookup
from gis.tickets.models import IdempotencyKey, Ticket, TicketEvent
from tests.tickets.conftest import IN_COMPOUND, LEFT_CELL, OUTSIDE, RIGHT_CELL, Area


def _points(session: Session) -> list[tuple[float, float]]:
    """Points of the tiny area (inside/outside the compound, on the shared cell edge), of demo cells and
    compounds, and of existing tickets (so duplicate candidates exist)."""
    pts = [IN_COMPOUND, LEFT_CELL, RIGHT_CELL, (100.01, 30.005), (100.0, 30.0)]
    for model in (GridCell, Compound):
        surface = func.ST_PointOnSurface(model.geom)
        stmt = select(func.ST_X(surface), func.ST_Y(surface)).order_by(model.code).limit(15)
        pts += [(float(x), float(y)) for x, y in session.execute(stmt)]
    stmt = select(func.ST_X(Ticket.geom), func.ST_Y(Ticket.geom)).order_by(Ticket.id).limit(30)
    pts += [(float(x), float(y)) for x, y in session.execute(stmt)]
    return pts


def test_lookup_agrees_with_anchor_route_and_dedupe(session: Session, area: Area) -> None:
    cfg = load_config()
    admin = session.scalar(select(User).where(User.role == "admin"))
    # some open tickets close together, so the duplicate search has candidates to order
    for i, (dx, cat) in enumerate(((0.0, "noise"), (0.0001, "noise"), (0.0002, "garbage"), (0.0003, "noise"))):
        draft = TicketDraft(
            category=cat, description=f"近邻 {i}", lon=LEFT_CELL[0] + dx, lat=LEFT_CELL[1], channel="staff"
        )
        create_ticket(session, draft, user=admin)
    session.flush()
    checked = with_duplicates = to_property = 0
    for lon, lat in _points(session):
        for category in cfg.categories.values():
            try:
                anchor = routing.anchor_point(session, lon, lat)
            except OutsideServiceArea:
                with pytest.raises(OutsideServiceArea):
                    lookup(session, cfg, category, lon, lat)
                continue
            expected_route = routing.route(session, cfg, category, anchor)
            expected_dups = dedupe.find_duplicates(session, category=category.code, lon=lon, lat=lat)
            got_anchor, got_route, got_dups = lookup(session, cfg, category, lon, lat)
            assert got_anchor == anchor
            assert got_route == expected_route
            assert got_dups == expected_dups
            checked += 1
            with_duplicates += len(expected_dups) > 1
            to_property += expected_route.reason.startswith("小区物业")
    assert checked > 100 and with_duplicates > 0 and to_property > 0
    with pytest.raises(OutsideServiceArea):
        lookup(session, cfg, cfg.category("noise"), *OUTSIDE)


def test_fast_insert_writes_the_same_row_event_and_key(session: Session, area: Area) -> None:
    resident = area.resident_user
    opened = datetime(2026, 9, 30, 9, 0, tzinfo=UTC)
    draft = TicketDraft(
        category="property_service",
        description="  楼道灯坏了  ",
        lon=IN_COMPOUND[0],
        lat=IN_COMPOUND[1],
        address="测试小区 1 栋",
        opened_at=opened,
        attributes={"floor": 3},
    )
    result = create_ticket(session, draft, user=resident, client_key="fast-1", now=opened)
    t = result.ticket
    in_memory = {c.key: getattr(t, c.key) for c in Ticket.__table__.columns if c.key != "geom"}
    session.expire_all()
    row = session.get(Ticket, t.id)
    assert row is not None
    assert {c.key: getattr(row, c.key) for c in Ticket.__table__.columns if c.key != "geom"} == in_memory
    assert session.scalar(select(func.ST_AsText(Ticket.geom)).where(Ticket.id == t.id)) == (
        f"POINT({IN_COMPOUND[0]} {IN_COMPOUND[1]})"
    )
    assert row.description == "楼道灯坏了" and row.reporter_id == resident.id and row.overdue is False
    assert row.due_at is not None and row.resolve_due_at is not None
    evs = list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)))
    assert [(e.action, e.from_state, e.to_state, e.public, e.actor_id) for e in evs] == [
        ("created", None, "reported", True, resident.id)
    ]
    assert evs[0].at == opened
    assert evs[0].payload["cell_code"] == row.cell_code and evs[0].payload["route"] == result.route_reason
    assert evs[0].payload["unit_id"] == row.unit_id and evs[0].payload["unit_name"] == result.unit_name
    key = session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "fast-1"))
    assert key is not None
    assert key.response == {"ticket_id": t.id, "route_reason": result.route_reason}
    assert key.request_sha256 == idempotency.body_hash(draft.body())
    again = create_ticket(session, draft, user=resident, client_key="fast-1", now=opened)
    assert again.replayed and again.ticket.id == t.id
