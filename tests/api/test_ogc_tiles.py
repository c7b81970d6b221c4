"""OGC API – Features and vector tiles over the demo data."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Maker = Callable[..., tuple[Any, dict[str, str]]]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_ogc_landing_conformance_collections(client: TestClient) -> None:
    landing = client.get("/ogc").json()
    assert {link["rel"] for link in landing["links"]} >= {"conformance", "data", "service-desc"}
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert any(c.endswith("/conf/geojson") for c in conf)
    ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert ids == ["communities", "cells", "compounds", "buildings", "resources", "tickets"]


def test_ogc_items_are_geojson_and_paged(client: TestClient, make_user: Maker) -> None:
    r = client.get("/ogc/collections/resources/items", params={"limit": 5})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["numberReturned"] == 5 and body["numberMatched"] > 5
    assert any(link["rel"] == "next" for link in body["links"])
    one = client.get(f"/ogc/collections/resources/items/{body['features'][0]['id']}")
    assert one.status_code == 200 and one.json()["type"] == "Feature"
    assert client.get("/ogc/collections/cells/items").status_code == 401
    _, h = make_user("planner")
    assert client.get("/ogc/collections/cells/items", headers=h).json()["numberMatched"] > 100
    assert client.get("/ogc/collections/nope").status_code == 404


def test_vector_tile_of_the_demo_has_cells(client: TestClient) -> None:
    x, y = tile_of(117.05, 36.67, 14)
    r = client.get(f"/tiles/cells/14/{x}/{y}.pbf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert len(r.content) > 100 and b"cells" in r.content
    far = client.get("/tiles/cells/14/0/0.pbf")
    assert far.status_code == 200 and far.content == b""


def test_bad_tiles_are_4xx(client: TestClient) -> None:
    assert client.get("/tiles/cells/3/9/0.pbf").status_code == 422
    assert client.get("/tiles/cells/30/0/0.pbf").status_code == 422
    assert client.get("/tiles/secrets/1/0/0.pbf").status_code == 404
