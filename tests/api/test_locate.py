"""GET /v1/locate: inside, on an edge, on a vertex, outside, GCJ-02 input, bad input."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.crs import wgs84_to_gcj02
from gis.meta import sample_compound_point


def demo_point(session: Session) -> tuple[str, float, float]:
    found = sample_compound_point(session)
    assert found is not None, "the test database holds the demo"
    return found


def test_locate_inside_a_demo_compound_names_people_and_resources(client: TestClient, session: Session) -> None:
    code, lon, lat = demo_point(session)
    r = client.get("/v1/locate", params={"lon": lon, "lat": lat})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["compound"]["code"] == code
    assert body["cell"]["code"].startswith(body["community"]["code"])
    assert len(body["cell"]["code"]) == 15
    assert body["subdistrict"]["name"].endswith("街道")
    assert body["cell"]["manager"]["name"]
    assert body["cell"]["workers"], "every demo cell has at least one grid worker"
    duties = {c["duty"] for c in body["compound"]["contacts"]}
    assert duties == {"secretary", "liaison_worker", "property_steward", "police"}
    types = {res["type"] for res in body["resources"]}
    assert "party_service_center" in types
    distances = [res["distance_m"] for res in body["resources"]]
    assert all(d >= 0 for d in distances)


def test_locate_point_on_shared_edge_and_vertex_is_deterministic(client: TestClient, tiny_area: dict[str, Any]) -> None:
    ox, oy = tiny_area["origin"]
    for lon, lat in [(ox + 0.01, oy + 0.005), (ox + 0.01, oy), (ox + 0.01, oy + 0.01)]:
        answers = {client.get("/v1/locate", params={"lon": lon, "lat": lat}).json()["cell"]["code"] for _ in range(3)}
        assert answers == {"990000000001001"}, "on a shared edge or vertex the lowest code wins"
    right = client.get("/v1/locate", params={"lon": ox + 0.015, "lat": oy + 0.005}).json()
    assert right["cell"]["code"] == "990000000001002"
    assert right["compound"] is None


def test_locate_outer_corner_and_compound_edge(client: TestClient, tiny_area: dict[str, Any]) -> None:
    ox, oy = tiny_area["origin"]
    corner = client.get("/v1/locate", params={"lon": ox, "lat": oy})
    assert corner.status_code == 200 and corner.json()["cell"]["code"] == "990000000001001"
    on_compound_edge = client.get("/v1/locate", params={"lon": ox + 0.002, "lat": oy + 0.004}).json()
    assert on_compound_edge["compound"]["code"] == "990000000001X001"
    nearest = on_compound_edge["resources"][0]
    assert nearest["code"] == "R99001" and 100 < nearest["distance_m"] < 400


def test_locate_outside_every_cell_is_404_with_message(client: TestClient) -> None:
    r = client.get("/v1/locate", params={"lon": 0.5, "lat": 0.5})
    assert r.status_code == 404
    body = r.json()
    assert body["error"] == "outside_service_area"
    assert "outside" in body["message"]


def test_locate_gcj02_input_lands_in_the_same_compound(client: TestClient, session: Session) -> None:
    code, lon, lat = demo_point(session)
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert abs(glon - lon) > 1e-4, "GCJ-02 offsets are hundreds of metres here"
    shifted = client.get("/v1/locate", params={"lon": glon, "lat": glat, "crs": "gcj02"}).json()
    assert shifted["compound"]["code"] == code
    assert shifted["source_crs"] == "gcj02"
    assert abs(shifted["lon"] - lon) < 1e-5 and abs(shifted["lat"] - lat) < 1e-5


def test_locate_bad_input_is_422_json(client: TestClient) -> None:
    for params in (
        {"lon": "abc", "lat": 36.6},
        {"lon": 200, "lat": 36.6},
        {"lat": 36.6},
        {"lon": 117, "lat": 36.6, "crs": "mars"},
        {"lon": 117, "lat": -91},
    ):
        r = client.get("/v1/locate", params=params)
        assert r.status_code == 422, params
        body = r.json()
        assert body["error"] == "invalid_request" and body["message"], params


def test_locate_past_date_uses_the_version_then_in_force(client: TestClient, tiny_area: dict[str, Any]) -> None:
    ox, oy = tiny_area["origin"]
    r = client.get("/v1/locate", params={"lon": ox + 0.005, "lat": oy + 0.005, "at": "2000-01-01T00:00:00+08:00"})
    assert r.status_code == 404, "the tiny area's cells did not exist in 2000"
