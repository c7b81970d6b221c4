"""The plan diff map page: planners see live vs draft cells and what would move; others are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.plans.draft import CellInput, put_cells
from gis.plans.models import BoundaryPlan
from tests.plans.conftest import LiveCells
from tests.plans.test_commit import _shift_edge

Maker = Callable[..., tuple[Any, dict[str, str]]]


def test_diff_page_shows_the_change(
    client: TestClient, session: Session, plan: BoundaryPlan, cells: LiveCells, make_user: Maker
) -> None:
    a, b, new_a, new_b = _shift_edge(cells)
    put_cells(session, plan, [CellInput(a, new_a), CellInput(b, new_b)])
    session.commit()
    _, planner = make_user("planner")
    r = client.get(f"/maps/plans/{plan.id}", headers=planner)
    assert r.status_code == 200, r.text
    html = r.text
    assert "变化概况" in html and "边界调整" in html
    assert a in html and b in html
    for host in ("cdn.jsdelivr", "unpkg.com", "cdnjs."):
        assert host not in html


def test_diff_page_needs_a_planner(client: TestClient, plan: BoundaryPlan, make_user: Maker) -> None:
    assert client.get(f"/maps/plans/{plan.id}").status_code == 401
    _, worker = make_user("grid_worker", jurisdiction=["370102010001001"])
    assert client.get(f"/maps/plans/{plan.id}", headers=worker).status_code == 403
    _, planner = make_user("planner")
    missing = client.get("/maps/plans/999999", headers=planner)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
