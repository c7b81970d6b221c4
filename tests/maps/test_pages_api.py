"""Map routes over HTTP: pages, errors as JSON, the asset allow-list, and the bbox data endpoints."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.crs import wgs84_to_gcj02
from gis.models import AdminArea, Compound
from tests.maps.conftest import outside_hosts

Maker = Callable[..., tuple[Any, dict[str, str]]]


def first_compound(session: Session) -> Compound:
    c = session.scalar(select(Compound).where(~Compound.code.startswith("99")).order_by(Compound.code))
    assert c is not None
    return c


def first_community(session: Session) -> AdminArea:
    a = session.scalar(select(AdminArea).where(AdminArea.level == "community").order_by(AdminArea.code))
    assert a is not None
    return a


def bbox_of(session: Session, geom: Any) -> str:
    box = session.execute(select(func.ST_XMin(geom), func.ST_YMin(geom), func.ST_XMax(geom), func.ST_YMax(geom))).one()
    return ",".join(f"{v:.6f}" for v in box)


def test_compound_page(client: TestClient, session: Session) -> None:
    c = first_compound(session)
    r = client.get(f"/maps/compounds/{c.code}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert c.name in html and "小区服务资源地图" in html and "责任公示牌" in html
    assert "便民联系卡" in html and 'class="segno"' in html
    assert f"http://127.0.0.1:8000/maps/compounds/{c.code}" in html, "QR/link text uses public_base_url"
    assert outside_hosts(html) == set()


def test_community_page(client: TestClient, session: Session) -> None:
    a = first_community(session)
    r = client.get(f"/maps/communities/{a.code}")
    assert r.status_code == 200, r.text
    assert a.name in r.text and "/maps/compounds/" in r.text
    assert outside_hosts(r.text) == set()


@pytest.mark.parametrize("path", ["/maps/compounds/NOPE404", "/maps/communities/000000000000"])
def test_unknown_code_is_a_json_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == "not_found"
    assert path.rsplit("/", 1)[1] in r.json()["message"], "the message names the code"


def test_bad_code_is_a_json_422(client: TestClient) -> None:
    r = client.get("/maps/compounds/%3Cscript%3E")
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"


def test_operations_page_is_a_public_shell(client: TestClient) -> None:
    r = client.get("/maps/operations")
    assert r.status_code == 200 and "网格运行图" in r.text and 'id="gg-login"' in r.text
    assert "FeatureCollection" not in r.text
    assert outside_hosts(r.text) == set()


def test_assets_are_served_from_the_allow_list_only(client: TestClient) -> None:
    ok = client.get("/assets/leaflet@1.9.4/dist/leaflet.js")
    assert ok.status_code == 200 and "javascript" in ok.headers["content-type"]
    assert "immutable" in ok.headers["cache-control"]
    font = client.get("/assets/@fortawesome/fontawesome-free@6.7.2/webfonts/fa-solid-900.woff2")
    assert font.status_code == 200 and font.headers["content-type"] == "font/woff2"
    for path in ("/assets/leaflet@1.9.4/package.json", "/assets/leaflet@1.9.3/dist/leaflet.js", "/assets/x"):
        bad = client.get(path)
        assert bad.status_code == 404 and bad.json()["error"] == "not_found", path


def test_every_asset_a_page_links_is_served(client: TestClient, session: Session) -> None:
    html = client.get(f"/maps/compounds/{first_compound(session).code}").text
    links = set(re.findall(r'(?:src|href)="(/assets/[^"]+)"', html))
    assert len(links) >= 8
    for link in links:
        assert client.get(link).status_code == 200, link


def test_cell_layer_needs_a_token_and_keeps_to_jurisdiction(
    client: TestClient, session: Session, make_user: Maker
) -> None:
    a = first_community(session)
    params = {"bbox": bbox_of(session, a.geom), "zoom": 15}
    r = client.get("/maps/data/cells.geojson", params=params)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    _, admin = make_user("admin")
    everything = client.get("/maps/data/cells.geojson", params=params, headers=admin).json()
    assert everything["features"] and everything["metric"]["name"] == "households"
    cell = everything["features"][0]["properties"]["code"]
    _, worker = make_user("grid_worker", jurisdiction=[cell])
    mine = client.get("/maps/data/cells.geojson", params=params, headers=worker).json()
    assert [f["properties"]["code"] for f in mine["features"]] == [cell]
    heat = client.get("/maps/data/heat.json", params=params, headers=admin)
    assert heat.status_code == 200 and heat.json() and len(heat.json()[0]) == 3
    assert client.get("/maps/data/heat.json", params=params).status_code == 401


def test_resource_layer_is_public_and_shifts_for_gcj02(client: TestClient, session: Session) -> None:
    a = first_community(session)
    bbox = bbox_of(session, a.geom)
    wgs = client.get("/maps/data/resources.geojson", params={"bbox": bbox}).json()
    assert wgs["features"]
    first = wgs["features"][0]
    x, y = first["geometry"]["coordinates"]
    gx, gy = wgs84_to_gcj02(x, y)
    x1, y1, x2, y2 = (float(v) for v in bbox.split(","))
    shifted_box = ",".join(f"{v:.6f}" for v in (*wgs84_to_gcj02(x1, y1), *wgs84_to_gcj02(x2, y2)))
    gcj = client.get("/maps/data/resources.geojson", params={"bbox": shifted_box, "crs": "gcj02"}).json()
    match = next(f for f in gcj["features"] if f["properties"]["code"] == first["properties"]["code"])
    assert match["geometry"]["coordinates"] == pytest.approx([gx, gy], abs=1e-6)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "3,2,1,4"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "117,36,118,37", "crs": "bd09"}, "crs"),
        ({"bbox": "117,36,118,37", "zoom": 40}, "zoom"),
        ({}, "bbox"),
    ],
)
def test_bad_data_requests_are_json_422(client: TestClient, params: dict[str, Any], needle: str) -> None:
    r = client.get("/maps/data/resources.geojson", params=params)
    assert r.status_code == 422, r.text
    assert needle in r.json()["message"]


def test_unknown_metric_is_422(client: TestClient, make_user: Maker) -> None:
    _, h = make_user("admin")
    r = client.get("/maps/data/cells.geojson", params={"bbox": "117,36,118,37", "metric": "x"}, headers=h)
    assert r.status_code == 422 and "households" in r.json()["message"]
