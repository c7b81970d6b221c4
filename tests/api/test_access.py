"""Jurisdiction rules of gis.access on the feature, tile and plan routes (H3, M8, M9), over the demo data."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.models import Building, Compound, Organization

Maker = Callable[..., tuple[Any, dict[str, str]]]
PERSONAL = ("party_member_households", "party_group_leader")


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_a_property_company_reads_only_its_compounds_and_their_buildings(
    client: TestClient, session: Session, make_user: Maker
) -> None:
    """H3: no other building, no party-member registers, no compound contact board."""
    org = session.scalar(select(Organization).where(Organization.code == "PM-01"))
    assert org is not None
    _, h = make_user("property", organization_id=org.id)
    mine = select(Compound.id).where(Compound.property_company_id == org.id)
    expected = session.scalar(select(func.count()).where(Building.compound_id.in_(mine)))
    page = client.get("/v1/buildings", params={"limit": 1000}, headers=h).json()
    assert 0 < page["numberMatched"] == expected
    assert not any(f["properties"].get(k) for f in page["features"] for k in PERSONAL)
    compounds = client.get("/v1/compounds", params={"limit": 1000}, headers=h).json()
    assert {f["properties"]["property_company"] for f in compounds["features"]} == {org.name}
    assert all("contacts" not in f["properties"] for f in compounds["features"])
    assert client.get("/v1/cells", headers=h).json()["numberMatched"] == 0
    items = client.get("/ogc/collections/buildings/items", params={"limit": 1000}, headers=h).json()
    assert items["numberMatched"] == expected


def test_a_department_reads_boundaries_but_not_registers_of_persons(client: TestClient, make_user: Maker) -> None:
    _, h = make_user("department")
    page = client.get("/v1/buildings", params={"limit": 200}, headers=h).json()
    assert page["numberReturned"] == 200
    assert not any(k in f["properties"] for f in page["features"] for k in PERSONAL)
    _, admin = make_user("admin")
    full = client.get("/v1/buildings", params={"limit": 200}, headers=admin).json()
    assert any(f["properties"].get("party_member_households") for f in full["features"])


def test_tiles_follow_the_read_rules_and_have_a_minimum_zoom(client: TestClient, make_user: Maker) -> None:
    """M8: buildings need a token; no layer is served for the whole district at low zoom."""
    x, y = _tile(117.05, 36.67, 15)
    assert client.get(f"/tiles/buildings/15/{x}/{y}.pbf").status_code == 401
    _, admin = make_user("admin")
    r = client.get(f"/tiles/buildings/15/{x}/{y}.pbf", headers=admin)
    assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
    assert client.get("/tiles/buildings/0/0/0.pbf", headers=admin).status_code == 422
    assert client.get("/tiles/cells/3/6/3.pbf").status_code == 422
    x, y = _tile(117.05, 36.67, 14)
    anonymous = client.get(f"/tiles/cells/14/{x}/{y}.pbf").content
    assert b"name" in anonymous and b"households" not in anonymous
    assert b"households" in client.get(f"/tiles/cells/14/{x}/{y}.pbf", headers=admin).content


def test_a_manager_reads_only_the_plans_touching_their_community(client: TestClient, make_user: Maker) -> None:
    """M9: another community's draft is not theirs (404), and not listed."""
    _, planner = make_user("planner")
    _, manager = make_user("manager", jurisdiction=["370102010001"])
    plan = client.post("/v1/plans", json={"name": "二社区调整"}, headers=planner).json()
    r = client.post(f"/v1/plans/{plan['id']}/communities", json={"code": "370102010002"}, headers=planner)
    assert r.status_code == 200, r.text
    for path in ("", "/diff", "/features", "/export?format=gpkg"):
        assert client.get(f"/v1/plans/{plan['id']}{path}", headers=manager).status_code == 404, path
    assert client.get(f"/maps/plans/{plan['id']}", headers=manager).status_code == 404
    assert plan["id"] not in [p["id"] for p in client.get("/v1/plans", headers=manager).json()]
    assert client.get(f"/v1/plans/{plan['id']}", headers=planner).status_code == 200
    client.post(f"/v1/plans/{plan['id']}/communities", json={"code": "370102010001"}, headers=planner)
    assert client.get(f"/v1/plans/{plan['id']}", headers=manager).status_code == 200
    assert plan["id"] in [p["id"] for p in client.get("/v1/plans", headers=manager).json()]
