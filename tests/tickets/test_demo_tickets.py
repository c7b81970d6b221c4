"""Demo tickets cover every state and are built by the workflow (consistent audit trail)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.demo_tickets import load_demo_tickets, purge_demo_tickets
from gis.tickets.models import Ticket, TicketEvent
from gis.tickets.workflow import STATE_LABELS
from tests.tickets.conftest import Area


def test_demo_tickets_cover_every_state(session: Session, area: Area) -> None:
    purge_demo_tickets(session)  # the demo 街道 of the test database comes with its own tickets
    before = set(session.scalars(select(Ticket.id)))
    made = load_demo_tickets(session, seed=7, count=60)
    assert made >= 55
    assert load_demo_tickets(session, seed=7, count=60) == 0  # a second run adds nothing
    new = select(Ticket).where(Ticket.id.not_in(before) if before else Ticket.id > 0)
    tickets = list(session.scalars(new))
    assert {t.state for t in tickets} == set(STATE_LABELS)
    for t in tickets:  # each ticket's last event leads to its current state
        last = session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == t.id, TicketEvent.to_state.is_not(None))
            .order_by(TicketEvent.at.desc(), TicketEvent.id.desc())
        ).first()
        assert last is not None and last.to_state == t.state, (t.id, t.state)
    assert purge_demo_tickets(session) == made
    assert (
        session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.id.not_in(before) if before else Ticket.id > 0)
        )
        == 0
    )
