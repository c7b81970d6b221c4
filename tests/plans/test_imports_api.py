"""Background imports over HTTP (202, then poll the job to done or failed), compound and community
endpoints, and exports of every layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shapely
from fastapi.testclient import TestClient
from shapely.geometry import mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.plans.columns import read_features
from gis.plans.write import write_layer
from tests.plans.conftest import COMMUNITY, LiveCells

Maker = Callable[..., tuple[Any, dict[str, str]]]


def _plan(client: TestClient, headers: dict[str, str]) -> int:
    created = client.post("/v1/plans", json={"name": "导入测试"}, headers=headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_background_import_runs_to_done_with_its_report(client: TestClient, make_user: Maker, cells: LiveCells) -> None:
    _, planner = make_user("planner")
    pid = _plan(client, planner)
    first = sorted(cells.geoms)[0]
    rows = [{"code": c, "households": 250, "geom": g} for c, g in sorted(cells.geoms.items())]
    rows[0]["geom"] = shapely.buffer(rows[0]["geom"], -0.00005)
    started = client.post(
        f"/v1/plans/{pid}/imports",
        files={"file": ("redrawn.gpkg", write_layer(rows, "gpkg"))},
        data={"mode": "merge", "layer": "cell"},
        headers=planner,
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status_url"] == f"/v1/plans/{pid}/imports/{job['id']}"
    polled = client.get(job["status_url"], headers=planner)
    assert polled.status_code == 200
    done = polled.json()
    assert done["status"] == "done" and done["stage"] == "done", done
    assert done["done"] == done["total"] == len(rows)
    assert first in done["report"]["changed"] and done["report"]["layer"] == "cell"
    plan = client.get(f"/v1/plans/{pid}", headers=planner).json()
    assert plan["counts"]["change"] >= 1 and plan["source"]["filename"] == "redrawn.gpkg"
    listed = client.get(f"/v1/plans/{pid}/imports", headers=planner).json()
    assert [j["id"] for j in listed] == [job["id"]]


def test_background_import_failure_is_reported_and_writes_nothing(
    client: TestClient, make_user: Maker, cells: LiveCells
) -> None:
    _, planner = make_user("planner")
    pid = _plan(client, planner)
    good = sorted(cells.geoms)[0]
    rows = [{"code": good, "geom": cells.geoms[good]}, {"code": "12345", "geom": cells.geoms[good]}]
    started = client.post(
        f"/v1/plans/{pid}/imports", files={"file": ("bad.geojson", write_layer(rows, "geojson"))}, headers=planner
    )
    assert started.status_code == 202
    failed = client.get(started.json()["status_url"], headers=planner).json()
    assert failed["status"] == "failed" and failed["report"] is None
    assert failed["error"]["error"] == "invalid_input" and "#2" in failed["error"]["message"]
    assert client.get(f"/v1/plans/{pid}", headers=planner).json()["counts"] == {"add": 0, "change": 0, "remove": 0}


def test_import_job_rejects_at_once_what_it_can(client: TestClient, make_user: Maker) -> None:
    _, planner = make_user("planner")
    _, resident = make_user("resident")
    pid = _plan(client, planner)
    wrong = client.post(f"/v1/plans/{pid}/imports", files={"file": ("cells.docx", b"hello")}, headers=planner)
    assert wrong.status_code == 422 and "unsupported file type" in wrong.json()["message"]
    corrupt = client.post(f"/v1/plans/{pid}/imports", files={"file": ("c.gpkg", b"not sqlite")}, headers=planner)
    assert corrupt.status_code == 422 and "corrupt" in corrupt.json()["message"]
    layer = client.post(
        f"/v1/plans/{pid}/imports", files={"file": ("c.csv", b"code\n1")}, data={"layer": "x"}, headers=planner
    )
    assert layer.status_code == 422
    forbidden = client.post(f"/v1/plans/{pid}/imports", files={"file": ("c.csv", b"code\n1")}, headers=resident)
    assert forbidden.status_code == 403
    missing = client.get(f"/v1/plans/{pid}/imports/999999", headers=planner)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert client.get(f"/v1/plans/{pid}/imports").status_code == 401


def test_compound_endpoints_and_export_of_each_layer(client: TestClient, make_user: Maker, session: Session) -> None:
    _, planner = make_user("planner")
    pid = _plan(client, planner)
    code, wkb = session.execute(
        text(
            "SELECT x.code, ST_AsBinary(x.geom) FROM compounds x JOIN admin_areas a ON a.id = x.community_id "
            "WHERE a.code = :c ORDER BY x.code LIMIT 1"
        ),
        {"c": COMMUNITY},
    ).one()
    smaller = shapely.buffer(shapely.from_wkb(bytes(wkb)), -0.00002)
    put = client.put(
        f"/v1/plans/{pid}/areas/compound/{code}",
        json={"geometry": mapping(smaller), "attributes": {"households": 123, "kind": "open"}},
        headers=planner,
    )
    assert put.status_code == 200, put.text
    features = client.get(f"/v1/plans/{pid}/features?layer=compound&scope=plan", headers=planner).json()
    assert [f["properties"]["code"] for f in features["features"]] == [code]
    assert features["features"][0]["properties"]["households"] == 123
    assert features["features"][0]["properties"]["status"] == "change"

    exported = client.get(f"/v1/plans/{pid}/export?layer=compound&format=gpkg&scope=plan", headers=planner)
    assert exported.status_code == 200 and "compounds" in exported.headers["content-disposition"]
    back = read_features(exported.content, "x.gpkg", layer="compound")
    assert [f.code for f in back.features] == [code] and back.features[0].households == 123
    xlsx = client.get(f"/v1/plans/{pid}/export?layer=compound&format=xlsx&scope=plan", headers=planner)
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    communities = client.get(f"/v1/plans/{pid}/export?layer=community&format=geojson", headers=planner)
    assert communities.status_code == 200  # the draft holds the (unchanged) community the compound lies in
    assert [f.code for f in read_features(communities.content, "c.geojson", layer="community").features] == [COMMUNITY]
    nothing = client.get(f"/v1/plans/{pid}/export?layer=community&format=geojson&scope=plan", headers=planner)
    assert nothing.status_code == 422  # no community changed: said, not an empty file

    bad = client.put(
        f"/v1/plans/{pid}/areas/compound/{code}",
        json={"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
        headers=planner,
    )
    assert bad.status_code == 422
    removed = client.delete(f"/v1/plans/{pid}/areas/community/{COMMUNITY}", headers=planner)
    assert removed.status_code == 422 and "cannot be removed" in removed.json()["message"]
    reverted = client.post(f"/v1/plans/{pid}/areas/compound/{code}/revert", headers=planner)
    assert reverted.status_code == 200
    after = client.get(f"/v1/plans/{pid}", headers=planner).json()
    assert after["area_counts"]["compound"] == {"add": 0, "change": 0, "remove": 0}


def test_boundary_files_have_their_own_size_limit(
    settings: Any, sessions: Any, make_user: Maker, cells: LiveCells
) -> None:
    from api.app import create_app

    limits = settings.limits.model_copy(update={"max_body_bytes": 100_000, "max_upload_bytes": 400_000})
    app = create_app(settings.model_copy(update={"limits": limits}))
    app.state.sessions = sessions
    _, planner = make_user("planner")
    padding = {"note": "x" * 150_000}  # a file bigger than any other request may be, smaller than the upload limit
    rows = [{"code": c, "geom": g, **padding} for c, g in sorted(cells.geoms.items())[:1]]
    with TestClient(app) as c:
        pid = _plan(c, planner)
        ok = c.post(
            f"/v1/plans/{pid}/import",
            files={"file": ("a.geojson", write_layer(rows, "geojson"))},
            data={"mode": "merge"},
            headers=planner,
        )
        assert ok.status_code == 200, ok.text
        other = c.post("/v1/plans", content=b"{" + b" " * 150_000 + b"}", headers=planner)
        assert other.status_code == 413
        rows[0]["note"] = "x" * 450_000
        big = c.post(
            f"/v1/plans/{pid}/imports", files={"file": ("a.geojson", write_layer(rows, "geojson"))}, headers=planner
        )
        assert big.status_code == 413 and "gridgov plans import" in big.json()["message"]


def test_start_on_a_community_and_ask_for_fresh_codes(client: TestClient, make_user: Maker, cells: LiveCells) -> None:
    _, planner = make_user("planner")
    pid = _plan(client, planner)
    started = client.post(f"/v1/plans/{pid}/communities", json={"code": COMMUNITY}, headers=planner)
    assert started.status_code == 200 and started.json()["communities"] == [COMMUNITY]
    drafted = client.get(f"/v1/plans/{pid}/features?scope=draft", headers=planner).json()["features"]
    assert sorted(f["properties"]["code"] for f in drafted) == sorted(cells.geoms)  # the live cells, unchanged
    codes = client.get(f"/v1/plans/{pid}/next-codes?community={COMMUNITY}&n=2", headers=planner).json()["codes"]
    top = max(int(c[12:]) for c in cells.geoms)
    assert len(codes) == 2 and all(int(c[12:]) > top for c in codes)
    unknown = client.post(f"/v1/plans/{pid}/communities", json={"code": "370102019999"}, headers=planner)
    assert unknown.status_code == 422 and "370102019999" in unknown.json()["message"]
    assert client.get(f"/v1/plans/{pid}/next-codes?community=12", headers=planner).status_code == 422
