"""L11: auto_escalate holds one ticket's lock at a time (staff acting on an already-escalated ticket do not
wait for the whole run), and nightly/monthly reports missed while the worker was down are filled in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from gis.models import utcnow
from gis.tickets import escalation, tasks, workflow
from gis.tickets.events import purge_events
from gis.tickets.models import Ticket, TicketReport
from tests.tickets.conftest import far_ticket


@pytest.fixture()
def overdue_tough(engine: Engine) -> Iterator[list[int]]:
    past = utcnow() - timedelta(days=30)
    with Session(engine) as s:
        rows = [
            far_ticket(
                token=f"l11-{i}",
                category="safety_hazard",
                description="L11",
                state="dispatched",
                unit_type="emergency",
                tier="tough",
                opened_at=past,
                resolve_due_at=past + timedelta(days=7),
            )
            for i in range(2)
        ]
        s.add_all(rows)
        s.commit()
        ids = [t.id for t in rows]
    yield ids
    with Session(engine) as s:
        purge_events(s, ids)
        s.execute(delete(Ticket).where(Ticket.id.in_(ids)))
        s.commit()


def test_auto_escalate_releases_each_ticket_before_the_next(
    engine: Engine, overdue_tough: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    free: list[bool] = []

    def fake_escalate(session: Session, ticket_id: int, **_: Any) -> None:
        workflow.lock_ticket(session, ticket_id)
        if seen and ticket_id in overdue_tough:  # a later ticket: is an earlier one free to act on?
            with Session(engine) as other:
                other.execute(text("SET LOCAL lock_timeout = '1s'"))
                workflow.lock_ticket(other, seen[0])
                free.append(True)
                other.rollback()
        if ticket_id in overdue_tough:
            seen.append(ticket_id)

    monkeypatch.setattr(escalation, "escalate", fake_escalate)
    with Session(engine) as s:
        done = tasks.auto_escalate(s)
        s.rollback()
    assert set(overdue_tough) <= set(done)
    assert free == [True]


def test_missed_nightly_reports_are_backfilled(session: Session) -> None:
    session.execute(delete(TicketReport))
    tasks.nightly_summary(session)
    days = session.scalar(select(func.count()).select_from(TicketReport).where(TicketReport.kind == "daily"))
    assert days == tasks.BACKFILL_DAYS
    tasks.monthly_report(session)
    months = session.scalar(select(func.count()).select_from(TicketReport).where(TicketReport.kind == "monthly"))
    assert months == 2
