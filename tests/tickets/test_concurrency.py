"""Two workers claim the same ticket at the same moment: one wins, the other gets 409, no event is lost.

This test commits for real (two connections must see the same row), then purges what it wrote."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from gis.auth import create_user
from gis.errors import InvalidTransition
from gis.models import Organization, User
from gis.tickets import workflow
from gis.tickets.events import purge_events
from gis.tickets.models import Ticket, TicketEvent
from tests.tickets.conftest import far_ticket


@pytest.fixture()
def committed(engine: Engine) -> Iterator[dict[str, int]]:
    with Session(engine) as s:
        org = Organization(code="!T-concurrency", name="并发测试单位", kind="department", unit_type="police")
        s.add(org)
        s.flush()
        users = [
            create_user(
                s,
                username=f"t-race-{i}",
                password="test-password",
                full_name=f"抢单{i}",
                role="department",
                organization_id=org.id,
            )
            for i in range(2)
        ]
        t = far_ticket(token="race-token", state="dispatched", unit_id=org.id, opened_at=users[0].created_at)
        s.add(t)
        s.commit()
        ids = {"ticket": t.id, "org": org.id, "u0": users[0].id, "u1": users[1].id}
    yield ids
    with Session(engine) as s:
        purge_events(s, [ids["ticket"]])
        s.execute(delete(Ticket).where(Ticket.id == ids["ticket"]))
        s.execute(delete(User).where(User.id.in_([ids["u0"], ids["u1"]])))
        s.execute(delete(Organization).where(Organization.id == ids["org"]))
        s.commit()


def test_two_claims_one_wins_one_gets_409(engine: Engine, committed: dict[str, int]) -> None:
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def claim(user_id: int) -> None:
        with Session(engine) as s:
            user = s.get(User, user_id)
            barrier.wait()
            try:
                workflow.transition(s, committed["ticket"], "claim", user=user)
                s.commit()
                outcomes[user_id] = "won"
            except InvalidTransition as exc:
                s.rollback()
                outcomes[user_id] = f"409 {exc.detail['state']}"

    threads = [threading.Thread(target=claim, args=(committed[k],)) for k in ("u0", "u1")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert sorted(outcomes.values()) == ["409 claimed", "won"]
    with Session(engine) as s:
        claims = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == committed["ticket"])).all()
        assert [(e.action, e.actor_id) for e in claims] == [
            ("claim", next(u for u, o in outcomes.items() if o == "won"))
        ]


def test_events_are_append_only_in_the_database(engine: Engine, committed: dict[str, int]) -> None:
    with Session(engine) as s:
        user = s.get(User, committed["u0"])
        workflow.transition(s, committed["ticket"], "claim", user=user)
        s.commit()
        with pytest.raises(Exception, match="append-only"):
            s.execute(
                text("UPDATE ticket_events SET note = 'rewritten' WHERE ticket_id = :t"), {"t": committed["ticket"]}
            )
        s.rollback()
        with pytest.raises(Exception, match="append-only"):
            s.execute(delete(TicketEvent).where(TicketEvent.ticket_id == committed["ticket"]))
        s.rollback()


def test_audit_trail_cannot_be_deleted_by_a_session_setting(session: Session) -> None:
    """L15: the append-only trigger has no session-setting bypass any more (the demo's events exist)."""
    from sqlalchemy.exc import DBAPIError

    count = select(func.count()).select_from(TicketEvent)
    before = session.scalar(count)
    assert before
    savepoint = session.begin_nested()
    session.execute(text("SET LOCAL gridgov.purge_ticket_events = 'on'"))
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(delete(TicketEvent))
    savepoint.rollback()
    assert session.scalar(count) == before
