"""The plan diff map page: planners see live vs draft cells and what would move; others are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import shapely
from fastapi.testclient import TestClient
from shapely.geometry import mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.plans.draft import FeatureInput
from gis.plans.edits import put_features
from gis.plans.models import BoundaryPlan
from tests.plans.conftest import LiveCells
from tests.plans.test_commit import _shift_edge

Maker = Callable[..., tuple[Any, dict[str, str]]]


def test_diff_page_shows_the_change(
    client: TestClient, session: Session, plan: BoundaryPlan, cells: LiveCells, make_user: Maker
) -> None:
    a, b, new_a, new_b = _shift_edge(cells)
    put_features(session, plan, "cell", [FeatureInput(a, new_a), FeatureInput(b, new_b)])
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
    _, worker = make_user("grid_worker", jurisdiction=["370102010001001"])
    assert client.get(f"/maps/plans/{plan.id}", headers=worker).status_code == 403
    bad = client.get(f"/maps/plans/{plan.id}", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.json()["error"] == "unauthorized"
    _, planner = make_user("planner")
    missing = client.get("/maps/plans/999999", headers=planner)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    _, manager = make_user("manager", jurisdiction=["370102010001"])
    assert client.get(f"/maps/plans/{plan.id}", headers=manager).status_code == 200


def test_a_link_gets_a_shell_without_plan_data(
    client: TestClient, session: Session, plan: BoundaryPlan, cells: LiveCells
) -> None:
    """Opened by a link (no Authorization header) the page holds nothing of the plan; its script asks again
    with the token kept in localStorage."""
    a, b, new_a, new_b = _shift_edge(cells)
    put_features(session, plan, "cell", [FeatureInput(a, new_a), FeatureInput(b, new_b)])
    session.commit()
    r = client.get(f"/maps/plans/{plan.id}")
    assert r.status_code == 200 and "Authorization" in r.headers["vary"]
    scripts = "".join(client.get(src).text for src in re.findall(r'<script src="([^"]+)"', r.text))
    assert "gridgov.token" in scripts and "Bearer" in scripts and "gg.planShell(" in r.text
    assert a not in r.text and "变化概况" not in r.text and "leaflet" not in r.text
    assert client.get("/maps/plans/999999").status_code == 404


def test_diff_page_shows_a_redrawn_compound(
    client: TestClient, session: Session, plan: BoundaryPlan, cells: LiveCells, make_user: Maker
) -> None:
    row = session.execute(
        text(
            "SELECT x.code, ST_AsBinary(x.geom) FROM compounds x JOIN admin_areas a ON a.id = x.community_id "
            "WHERE a.code = :c ORDER BY x.code LIMIT 1"
        ),
        {"c": cells.community},
    ).one()
    code, shrunk = row[0], shapely.from_wkb(bytes(row[1])).buffer(-0.00005)
    _, planner = make_user("planner")
    r = client.put(f"/v1/plans/{plan.id}/areas/compound/{code}", json={"geometry": mapping(shrunk)}, headers=planner)
    assert r.status_code == 200, r.text
    html = client.get(f"/maps/plans/{plan.id}", headers=planner).text
    assert "小区边界调整：1" in html, "the summary counts it"
    assert html.count(code) >= 2, "old and new outline drawn"
