"""The diff map's data for the maps page, and the editor page (local assets only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

from gis.plans.diffmap import plan_diff_map
from gis.plans.draft import FeatureInput
from gis.plans.edits import put_features
from gis.plans.models import BoundaryPlan
from tests.plans.conftest import LiveCells


def test_diff_map_data(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    a, b = cells.neighbours()
    edge = shapely.intersection(cells.geoms[a], cells.geoms[b])
    x0, y0, x1, y1 = edge.bounds
    taken = shapely.intersection(cells.geoms[b], box(x0 - 0.0006, y0 - 0.0006, x1 + 0.0006, y1 + 0.0006))
    put_features(
        session,
        plan,
        "cell",
        [
            FeatureInput(a, shapely.union(cells.geoms[a], taken)),
            FeatureInput(b, shapely.difference(cells.geoms[b], taken)),
        ],
    )
    data = plan_diff_map(session, plan.id)
    changes = {f["properties"]["code"]: f["properties"]["change"] for f in data.draft["features"]}
    assert changes[a] == changes[b] == "changed" and list(changes.values()).count("unchanged") == len(cells.geoms) - 2
    pieces = data.changed["features"]
    assert len(pieces) == 1 and (pieces[0]["properties"]["from_code"], pieces[0]["properties"]["to_code"]) == (b, a)
    assert abs(shapely.geometry.shape(pieces[0]["geometry"]).area - taken.area) < taken.area * 1e-6
    assert set(data.affected) >= {"compounds", "buildings", "service_resources"}
    assert data.bounds[0] < data.bounds[2]


def test_editor_page_uses_local_assets(client: TestClient, make_user: Callable[..., Any]) -> None:
    _, planner = make_user("planner")
    pid = client.post("/v1/plans", json={"name": "编辑"}, headers=planner).json()["id"]
    page = client.get(f"/plans/{pid}/edit")
    assert page.status_code == 200 and "leaflet-geoman" in page.text
    assert not re.search(r"(src|href)=\"https?://", page.text)
    for url in re.findall(r"(?:src|href)=\"(/assets/[^\"]+)\"", page.text):
        assert client.get(url).status_code == 200, url
    assert client.get("/plans/999999/edit").status_code == 404


def test_features_of_the_draft_for_the_editor(
    client: TestClient, make_user: Callable[..., Any], cells: LiveCells
) -> None:
    _, planner = make_user("planner")
    _, manager = make_user("manager", jurisdiction=[cells.community])  # the plan touches their community (M9)
    pid = client.post("/v1/plans", json={"name": "编辑"}, headers=planner).json()["id"]
    code = sorted(cells.geoms)[0]
    r = client.post(
        f"/v1/plans/{pid}/reshape",
        json={"code": code, "geometry": mapping(cells.geoms[code].buffer(-1e-4))},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    draft = client.get(f"/v1/plans/{pid}/features?scope=draft", headers=manager).json()
    assert len(draft["features"]) == len(cells.geoms)
    changed = client.get(f"/v1/plans/{pid}/features", headers=manager).json()
    assert [f["properties"]["code"] for f in changed["features"]] == [code]
    assert client.post(f"/v1/plans/{pid}/merge", json={"codes": [code, code]}, headers=manager).status_code == 403
    exported = client.get(f"/v1/plans/{pid}/export?format=csv&scope=plan", headers=manager)
    assert exported.status_code == 200 and exported.text.count("\n") == 2 and code in exported.text
