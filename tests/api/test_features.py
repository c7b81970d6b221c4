"""GeoJSON read endpoints: filters, paging, auth and jurisdiction, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.models import AdminArea, GridCell

Maker = Callable[..., tuple[Any, dict[str, str]]]


def test_resources_are_public_and_filter_by_type(client: TestClient) -> None:
    r = client.get("/v1/resources", params={"type": "party_service_center", "limit": 50})
    assert r.status_code == 200
    body = r.json()
    assert body["numberMatched"] >= 8
    assert {f["properties"]["type"] for f in body["features"]} == {"party_service_center"}
    assert all(f["geometry"]["type"] == "Point" for f in body["features"])
    assert body["features"][0]["properties"]["type_label"] == "党群服务中心"


def test_unknown_type_is_422(client: TestClient) -> None:
    r = client.get("/v1/resources", params={"type": "spaceport"})
    assert r.status_code == 422
    assert "spaceport" in r.json()["message"]


def test_cells_require_a_token(client: TestClient) -> None:
    r = client.get("/v1/cells")
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"
    assert client.get("/v1/cells", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_paging_covers_every_cell_once(client: TestClient, make_user: Maker, session: Session) -> None:
    _, h = make_user("admin")
    live = session.scalar(select(func.count()).where(GridCell.valid_to.is_(None)))
    seen: list[str] = []
    offset = 0
    while True:
        page = client.get("/v1/cells", params={"limit": 100, "offset": offset}, headers=h).json()
        assert page["numberMatched"] == live
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 100
    assert len(seen) == len(set(seen)) == live


def test_bbox_within_near_nearest(client: TestClient, make_user: Maker, session: Session) -> None:
    _, h = make_user("admin")
    community = session.scalar(select(AdminArea).where(AdminArea.level == "community").order_by(AdminArea.code))
    within = client.get("/v1/cells", params={"within": community.code, "limit": 1000}, headers=h).json()
    assert within["numberMatched"] > 10
    assert all(f["properties"]["community_code"] == community.code for f in within["features"])

    x1, y1, x2, y2 = session.execute(
        select(
            func.ST_XMin(community.geom),
            func.ST_YMin(community.geom),
            func.ST_XMax(community.geom),
            func.ST_YMax(community.geom),
        )
    ).one()
    in_box = client.get("/v1/compounds", params={"bbox": f"{x1},{y1},{x2},{y2}", "limit": 1000}, headers=h).json()
    assert in_box["numberMatched"] >= within["numberMatched"] // 2

    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    near = client.get("/v1/resources", params={"near": f"{cx},{cy},500", "limit": 1000}).json()
    far = client.get("/v1/resources", params={"near": f"{cx},{cy},2000", "limit": 1000}).json()
    assert 0 < near["numberMatched"] < far["numberMatched"]

    k = client.get("/v1/resources", params={"near": f"{cx},{cy}", "nearest": 5}).json()
    assert k["numberReturned"] == 5
    near_codes = {f["id"] for f in near["features"]}
    assert {f["id"] for f in k["features"]} <= near_codes | {f["id"] for f in far["features"]}


def test_get_by_code_and_missing_code(client: TestClient, make_user: Maker, session: Session) -> None:
    _, h = make_user("planner")
    code = session.scalar(select(GridCell.code).where(GridCell.valid_to.is_(None)).limit(1))
    r = client.get(f"/v1/cells/{code}", headers=h)
    assert r.status_code == 200 and r.json()["properties"]["code"] == code
    assert r.json()["geometry"]["type"] == "MultiPolygon"
    missing = client.get("/v1/cells/000000000000000", headers=h)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_grid_worker_sees_only_their_cell(client: TestClient, make_user: Maker, session: Session) -> None:
    codes = list(
        session.scalars(select(GridCell.code).where(GridCell.valid_to.is_(None)).order_by(GridCell.code).limit(2))
    )
    _, h = make_user("grid_worker", jurisdiction=[codes[0]])
    page = client.get("/v1/cells", params={"limit": 1000}, headers=h).json()
    assert [f["id"] for f in page["features"]] == [codes[0]]
    assert client.get(f"/v1/cells/{codes[1]}", headers=h).status_code == 404
    compounds = client.get("/v1/compounds", params={"limit": 1000}, headers=h).json()
    assert compounds["numberMatched"] >= 1
    assert {f["properties"]["cell_code"] for f in compounds["features"]} == {codes[0]}


def test_manager_sees_their_community(client: TestClient, make_user: Maker, session: Session) -> None:
    community = session.scalar(select(AdminArea.code).where(AdminArea.level == "community").order_by(AdminArea.code))
    _, h = make_user("manager", jurisdiction=[community])
    page = client.get("/v1/cells", params={"limit": 1000}, headers=h).json()
    assert page["numberMatched"] > 10
    assert all(f["id"].startswith(community) for f in page["features"])
    communities = client.get("/v1/communities", headers=h).json()
    assert [f["id"] for f in communities["features"]] == [community]


def test_bad_filters_are_422(client: TestClient, make_user: Maker) -> None:
    _, h = make_user("admin")
    for params in (
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "10,10,5,5"},
        {"near": "117"},
        {"nearest": 3},
        {"limit": 100000},
        {"limit": 0},
        {"near": "117,36,999999"},
    ):
        r = client.get("/v1/compounds", params=params, headers=h)
        assert r.status_code == 422, params
        assert r.json()["message"], params
    assert client.get("/v1/cells", params={"within": "nope"}, headers=h).status_code == 404


def test_simplify_reduces_vertices(client: TestClient, make_user: Maker) -> None:
    _, h = make_user("admin")
    full = client.get("/v1/communities", headers=h).json()
    simple = client.get("/v1/communities", params={"simplify_m": 200}, headers=h).json()

    def vertices(fc: dict[str, Any]) -> int:
        return sum(len(ring) for f in fc["features"] for poly in f["geometry"]["coordinates"] for ring in poly)

    assert vertices(simple) < vertices(full)


def test_not_found_names_the_layer_in_the_singular(client: TestClient, make_user: Any) -> None:
    _, h = make_user("admin")
    for layer, word in (("communities", "community"), ("cells", "cell"), ("compounds", "compound")):
        r = client.get(f"/v1/{layer}/NOPE", headers=h)
        assert r.status_code == 404
        assert f"no {word} with code 'NOPE'" in r.json()["message"]
