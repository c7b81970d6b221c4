"""Races from the security review, on real committed rows and two connections (reviews M6, M7):
a plan commit racing an intake never leaves the ticket on a closed cell version, and two merges of a pair in
opposite directions end in one merge and one 409, not a deadlock 500.

Everything these tests commit lives far from the demo and the other tests, and is deleted afterwards."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from shapely.geometry import box
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.orm import Session

from gis.auth import create_user
from gis.errors import Conflict
from gis.models import AdminArea, GridCell, User
from gis.plans.commit import commit_plan
from gis.plans.draft import FeatureInput
from gis.plans.edits import put_features
from gis.plans.models import BoundaryPlan
from gis.plans.validate import Rules
from gis.tickets import dedupe, intake, workflow
from gis.tickets.events import purge_events
from gis.tickets.models import Ticket
from tests.conftest import ewkt
from tests.tickets.conftest import far_ticket

COMMUNITY = "990000000078"
OX, OY = 102.0, 32.0
X = (OX + 0.009, OY + 0.005)  # in cell …001 until the plan moves the shared edge west to OX + 0.008
LOOSE = Rules(households_min=None, households_max=None)


def _purge_tickets(s: Session, ids: list[int]) -> None:
    purge_events(s, ids)
    s.execute(update(Ticket).where(Ticket.id.in_(ids)).values(merged_into_id=None))
    s.execute(delete(Ticket).where(Ticket.id.in_(ids)))


@pytest.fixture()
def admin_id(engine: Engine) -> Iterator[int]:
    with Session(engine) as s:
        user = create_user(s, username="t-race-admin", password="test-password", full_name="并发管理员", role="admin")
        s.commit()
        uid = user.id
    yield uid
    with Session(engine) as s:
        _purge_tickets(s, list(s.scalars(select(Ticket.id).where(Ticket.created_by_id == uid))))
        s.execute(delete(User).where(User.id == uid))
        s.commit()


@pytest.fixture()
def plan_id(engine: Engine) -> Iterator[int]:
    """Cells …001 | …002 sharing the edge OX + 0.01, and a committed-ready plan moving it to OX + 0.008."""
    left, right = box(OX, OY, OX + 0.01, OY + 0.01), box(OX + 0.01, OY, OX + 0.02, OY + 0.01)
    with Session(engine) as s:
        area = AdminArea(code=COMMUNITY, name="并发工单社区", level="community", geom=ewkt(left.union(right)))
        s.add(area)
        s.flush()
        s.add_all(
            [
                GridCell(code=COMMUNITY + "001", name="左", community_id=area.id, geom=ewkt(left)),
                GridCell(code=COMMUNITY + "002", name="右", community_id=area.id, geom=ewkt(right)),
            ]
        )
        s.flush()
        plan = BoundaryPlan(name="移动边界")
        s.add(plan)
        s.flush()
        edge = OX + 0.008
        put_features(
            s,
            plan,
            "cell",
            [
                FeatureInput(COMMUNITY + "001", box(OX, OY, edge, OY + 0.01)),
                FeatureInput(COMMUNITY + "002", box(edge, OY, OX + 0.02, OY + 0.01)),
            ],
        )
        s.commit()
        pid = plan.id
    yield pid
    with Session(engine) as s:
        _purge_tickets(s, list(s.scalars(select(Ticket.id).where(Ticket.cell_code.startswith(COMMUNITY)))))
        s.execute(text("DELETE FROM plan_commits WHERE plan_id = :id"), {"id": pid})
        s.execute(text("DELETE FROM boundary_plans WHERE id = :id"), {"id": pid})
        s.execute(text("DELETE FROM grid_cells WHERE code LIKE :p"), {"p": COMMUNITY + "%"})
        s.execute(text("DELETE FROM admin_areas WHERE code = :c"), {"c": COMMUNITY})
        s.commit()


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = fn()
        except Exception as exc:  # reported to the test thread
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _report(s: Session, admin_id: int) -> int:
    draft = intake.TicketDraft(category="noise", description="x", lon=X[0], lat=X[1], channel="staff")
    return intake.create_ticket(s, draft, user=s.get(User, admin_id)).ticket.id


def _commit(engine: Engine, plan_id: int) -> None:
    with Session(engine) as s:
        commit_plan(s, plan_id, message="move the edge", rules=LOOSE)
        s.commit()


def _anchored_live(engine: Engine, ticket_id: int) -> tuple[str, bool]:
    with Session(engine) as s:
        row = s.execute(
            text(
                "SELECT t.cell_code, c.valid_to IS NULL FROM tickets t JOIN grid_cells c ON c.id = t.cell_version_id "
                "WHERE t.id = :id"
            ),
            {"id": ticket_id},
        ).one()
        return str(row[0]), bool(row[1])


def test_a_plan_commit_during_an_intake_reanchors_the_new_ticket(engine: Engine, admin_id: int, plan_id: int) -> None:
    with Session(engine) as s1:
        ticket_id = _report(s1, admin_id)
        s1.flush()  # anchored to …001's live version, not yet committed
        thread, out = _in_thread(lambda: _commit(engine, plan_id))
        time.sleep(0.5)
        assert thread.is_alive()  # the commit waits for the intake instead of missing its ticket
        s1.commit()
    thread.join(30)
    assert "error" not in out, out
    assert _anchored_live(engine, ticket_id) == (COMMUNITY + "002", True)


def test_an_intake_during_a_plan_commit_anchors_to_the_new_version(engine: Engine, admin_id: int, plan_id: int) -> None:
    with Session(engine) as s2:
        commit_plan(s2, plan_id, message="move the edge", rules=LOOSE)  # …001's version closed, not committed

        def report() -> int:
            with Session(engine) as s1:
                ticket_id = _report(s1, admin_id)
                s1.commit()
                return ticket_id

        thread, out = _in_thread(report)
        time.sleep(0.5)
        assert thread.is_alive()  # the intake waits for the commit
        s2.commit()
    thread.join(30)
    assert "error" not in out, out
    assert _anchored_live(engine, out["result"]) == (COMMUNITY + "002", True)


@pytest.fixture()
def pair(engine: Engine, admin_id: int) -> Iterator[tuple[int, int]]:
    with Session(engine) as s:
        admin = s.get(User, admin_id)
        assert admin is not None
        tickets = [
            far_ticket(token=f"merge-race-{i}", opened_at=admin.created_at, created_by_id=admin_id) for i in range(2)
        ]
        s.add_all(tickets)
        s.commit()
        ids = (tickets[0].id, tickets[1].id)
    yield ids
    with Session(engine) as s:
        _purge_tickets(s, list(ids))
        s.commit()


def test_merges_in_opposite_directions_end_in_one_merge_and_one_409(
    engine: Engine, admin_id: int, pair: tuple[int, int]
) -> None:
    barrier = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def merge(own: int, other: int) -> None:
        with Session(engine) as s:
            admin = s.get(User, admin_id)
            workflow.lock_ticket(s, own)
            barrier.wait()
            try:
                dedupe.merge(s, own, other, user=admin)
                s.commit()
                outcome[own] = "merged"
            except Conflict:
                s.rollback()
                outcome[own] = "409"

    a, b = pair
    threads = [threading.Thread(target=merge, args=(a, b)), threading.Thread(target=merge, args=(b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcome.values()) == ["409", "merged"], outcome
    with Session(engine) as s:
        states = dict(s.execute(select(Ticket.id, Ticket.state).where(Ticket.id.in_(pair))).tuples().all())
    assert sorted(states.values()) == ["merged", "reported"]
