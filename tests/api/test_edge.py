"""The typed API edge: shared query parsers, answers shaped by schemas, role checks, clear 404s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from gis.tickets.config import load_config

Maker = Callable[..., tuple[Any, dict[str, str]]]


def test_ticket_categories_show_the_configured_categories_and_deadlines(client: TestClient) -> None:
    cfg = load_config()
    body = client.get("/v1/ticket-categories").json()
    assert [c["code"] for c in body["categories"]] == list(cfg.categories)
    noise = next(c for c in body["categories"] if c["code"] == "noise")
    assert set(noise) == {"code", "label", "group", "unit_type", "property"}
    profile = body["profiles"][cfg.default_profile]
    assert profile["tiers"] and all(t["resolve"] for t in profile["tiers"].values())
    assert body["dedupe_radius_m"] == cfg.dedupe_radius_m


def test_an_unknown_tile_layer_names_the_layers_that_exist(client: TestClient) -> None:
    r = client.get("/tiles/secrets/1/0/0.pbf")
    assert r.status_code == 404
    message = r.json()["message"]
    assert "'secrets'" in message and "?" not in message and "cells" in message


def test_me_shows_the_user_without_secrets(client: TestClient, make_user: Maker) -> None:
    user, h = make_user("grid_worker", jurisdiction=["990000000001001"])
    me = client.get("/v1/auth/me", headers=h).json()
    assert me == {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": "grid_worker",
        "organization_id": None,
        "jurisdiction": ["990000000001001"],
    }


def test_comma_lists_may_also_be_repeated(client: TestClient) -> None:
    once = client.get("/v1/resources", params={"type": "repair,childcare", "limit": 1000}).json()
    repeated = client.get("/v1/resources", params=[("type", "repair"), ("type", "childcare"), ("limit", 1000)]).json()
    assert once["numberMatched"] == repeated["numberMatched"]
    assert {f["properties"]["type"] for f in once["features"]} == {"repair", "childcare"}


def test_near_is_read_the_same_way_for_tickets_and_features(client: TestClient, make_user: Maker) -> None:
    _, h = make_user("admin")
    for path in ("/v1/tickets", "/v1/cells"):
        for near, needle in (("117,36,0", "radius_m"), ("117", "near"), ("a,b", "near")):
            r = client.get(path, params={"near": near}, headers=h)
            assert r.status_code == 422 and needle in r.json()["message"], (path, near, r.text)
        r = client.get(path, params={"near": "117,36", "crs": "mars"}, headers=h)
        assert r.status_code == 422 and "crs" in r.json()["message"]


def test_page_size_is_capped_by_the_settings(client: TestClient, make_user: Maker) -> None:
    _, h = make_user("admin")
    for path in ("/v1/tickets", "/v1/cells"):
        r = client.get(path, params={"limit": 1001}, headers=h)
        assert r.status_code == 422 and "1000" in r.json()["message"], path
    # OGC API pages (GIS clients reading whole layers) go up to max_ogc_page_size, 10,000
    assert client.get("/ogc/collections/cells/items", params={"limit": 1001}, headers=h).status_code == 200
    r = client.get("/ogc/collections/cells/items", params={"limit": 10_001}, headers=h)
    assert r.status_code == 422 and "10000" in r.json()["message"]


def test_plan_roles_answer_as_before(client: TestClient, make_user: Maker) -> None:
    _, manager = make_user("manager")
    _, worker = make_user("grid_worker")
    assert client.get("/v1/plans").status_code == 401
    assert client.get("/v1/plans", headers=manager).status_code == 200
    r = client.get("/v1/plans", headers=worker)
    assert r.status_code == 403 and "planner, admin, manager" in r.json()["message"]
    r = client.post("/v1/plans", json={"name": "x"}, headers=manager)
    assert r.status_code == 403 and "planner, admin" in r.json()["message"]
    r = client.post("/v1/plans", json={"name": "x"}, headers=worker)
    assert r.status_code == 403 and r.json()["message"].endswith("needs one of: planner, admin")
