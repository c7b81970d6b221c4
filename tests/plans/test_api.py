"""The planner's walk-through over HTTP: create a plan, import a redrawn community from a GeoPackage, see its
problems and diff, repair, commit, see the history and past versions; roles; bad files; conflicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping

from gis.plans.write import write_layer
from tests.plans.conftest import LiveCells

Maker = Callable[..., tuple[Any, dict[str, str]]]


def _redrawn(cells: LiveCells) -> tuple[bytes, str, str, Any]:
    """A GeoPackage of the community with the edge between two neighbours moved."""
    a, b = cells.neighbours()
    edge = shapely.intersection(cells.geoms[a], cells.geoms[b])
    x0, y0, x1, y1 = edge.bounds
    taken = shapely.intersection(cells.geoms[b], box(x0 - 0.0006, y0 - 0.0006, x1 + 0.0006, y1 + 0.0006))
    geoms = {**cells.geoms, a: shapely.union(cells.geoms[a], taken), b: shapely.difference(cells.geoms[b], taken)}
    rows = [{"code": c, "geom": g} for c, g in sorted(geoms.items())]
    return write_layer(rows, "gpkg"), a, b, taken


def test_planner_walkthrough(client: TestClient, make_user: Maker, cells: LiveCells) -> None:
    _, planner = make_user("planner")
    plan = client.post("/v1/plans", json={"name": "泉景社区边界调整"}, headers=planner)
    assert plan.status_code == 201, plan.text
    pid = plan.json()["id"]
    data, a, b, taken = _redrawn(cells)
    imported = client.post(
        f"/v1/plans/{pid}/import", files={"file": ("redrawn.gpkg", data)}, data={"mode": "replace"}, headers=planner
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["changed"] == sorted([a, b]) and imported.json()["removed"] == []

    problems = client.post(f"/v1/plans/{pid}/validate?households_min=0&households_max=100000", headers=planner)
    assert problems.status_code == 200 and problems.json()["summary"]["ok"], problems.json()["summary"]
    diff = client.get(f"/v1/plans/{pid}/diff", headers=planner).json()
    changed = {r["code"]: r for r in diff["cells"]}
    assert changed[a]["change"] == "reshaped" and changed[a]["area_m2_change"] > 0
    assert changed[b]["area_m2_change"] == -changed[a]["area_m2_change"]
    diff_map = client.get(f"/v1/plans/{pid}/diff.geojson", headers=planner).json()
    assert {f["properties"]["side"] for f in diff_map["features"] if f["properties"]["code"] == a} == {"live", "draft"}

    before = datetime.now(UTC)
    moved_preview = diff["moved"]["compounds"]["count"] + diff["moved"]["buildings"]["count"]
    committed = client.post(f"/v1/plans/{pid}/commit", json={"message": "调整边界"}, headers=planner)
    assert committed.status_code == 200, committed.text
    report = committed.json()
    assert report["changed"] == sorted([a, b])
    assert report["moved"]["compounds"]["count"] + report["moved"]["buildings"]["count"] == moved_preview

    history = client.get(f"/v1/plans/history?community={cells.community}", headers=planner).json()
    assert history[0]["plan_id"] == pid and history[0]["message"] == "调整边界"
    # the cell at a point that changed hands: old answer before the commit, new one now
    spot = shapely.point_on_surface(taken)
    then = client.get("/v1/locate", params={"lon": spot.x, "lat": spot.y, "at": before.isoformat()}).json()
    now = client.get("/v1/locate", params={"lon": spot.x, "lat": spot.y}).json()
    assert then["cell"]["code"] == b and now["cell"]["code"] == a

    again = client.post(f"/v1/plans/{pid}/commit", json={"message": "again"}, headers=planner)
    assert again.status_code == 409
    for fmt in ("geojson", "gpkg", "shp", "csv"):
        exported = client.get(f"/v1/plans/{pid}/export?format={fmt}", headers=planner)
        assert exported.status_code == 200 and len(exported.content) > 100


def test_stale_plan_gets_409(client: TestClient, make_user: Maker, cells: LiveCells) -> None:
    _, planner = make_user("planner")
    data, _, _, _ = _redrawn(cells)
    ids = [client.post("/v1/plans", json={"name": n}, headers=planner).json()["id"] for n in ("甲", "乙")]
    for pid in ids:
        r = client.post(f"/v1/plans/{pid}/import", files={"file": ("x.gpkg", data)}, headers=planner)
        assert r.status_code == 200, r.text
    ok = client.post(f"/v1/plans/{ids[0]}/commit", json={"message": "first"}, headers=planner)
    assert ok.status_code == 200, ok.text
    late = client.post(f"/v1/plans/{ids[1]}/commit", json={"message": "second"}, headers=planner)
    assert late.status_code == 409 and cells.community in late.json()["message"]


def test_roles_and_bad_files(client: TestClient, make_user: Maker, cells: LiveCells) -> None:
    _, worker = make_user("grid_worker", jurisdiction=[cells.community])
    assert client.post("/v1/plans", json={"name": "x"}, headers=worker).status_code == 403
    assert client.get("/v1/plans", headers=worker).status_code == 403
    _, planner = make_user("planner")
    pid = client.post("/v1/plans", json={"name": "x"}, headers=planner).json()["id"]
    wrong = client.post(f"/v1/plans/{pid}/import", files={"file": ("cells.txt", b"abc")}, headers=planner)
    assert wrong.status_code == 422 and "unsupported file type" in wrong.json()["message"]
    corrupt = client.post(f"/v1/plans/{pid}/import", files={"file": ("cells.zip", b"PK\x03\x04junk")}, headers=planner)
    assert corrupt.status_code == 422
    code = sorted(cells.geoms)[0]
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[117.04, 36.66], [117.041, 36.661], [117.041, 36.66], [117.04, 36.661], [117.04, 36.66]]],
    }
    gj = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"code": code}, "geometry": bowtie}],
    }
    import json

    r = client.post(
        f"/v1/plans/{pid}/import",
        files={"file": ("bowtie.geojson", json.dumps(gj).encode())},
        data={"mode": "merge"},
        headers=planner,
    )
    assert r.status_code == 200 and any("Self-intersection" in w for w in r.json()["warnings"])
    v = client.post(f"/v1/plans/{pid}/validate", headers=planner).json()
    assert v["summary"]["by_kind"]["invalid_geometry"] == 1
    fixed = client.post(f"/v1/plans/{pid}/repair", json={}, headers=planner).json()
    assert fixed["repaired"][0]["code"] == code
    committed = client.post(f"/v1/plans/{pid}/commit", json={"message": "x"}, headers=planner)
    assert committed.status_code == 422 and committed.json()["detail"]["summary"]["errors"] > 0  # gaps/overlaps
    split = client.post(
        f"/v1/plans/{pid}/split",
        json={"code": sorted(cells.geoms)[3], "line": mapping(shapely.LineString([(0, 0), (1, 1)]))},
        headers=planner,
    )
    assert split.status_code == 422 and "cross" in split.json()["message"]
