"""Open311 GeoReport v2: field names as the spec lists them, JSON and XML, api_key on POST."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.tickets.open311 import create_key
from tests.tickets.conftest import LEFT_CELL, OUTSIDE, Area, ok, report

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip
ATTRIBUTE_FIELDS = {
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
}


@pytest.fixture()
def api_key(session: Session) -> str:
    key = create_key(session, "test-app")
    session.commit()
    return key


def test_services_and_definitions(client: TestClient) -> None:
    services = client.get("/open311/v2/services.json").json()
    assert services and set(services[0]) == SERVICE_FIELDS
    assert {s["service_code"] for s in services} >= {"garbage", "noise", "elevator"}
    definition = client.get("/open311/v2/services/elevator.json").json()
    assert definition["service_code"] == "elevator"
    assert all(set(a) == ATTRIBUTE_FIELDS for a in definition["attributes"])
    xml = ElementTree.fromstring(client.get("/open311/v2/services.xml").content)
    assert xml.tag == "services" and xml[0].tag == "service" and xml[0].find("service_code") is not None
    missing = client.get("/open311/v2/services/ufo.json")
    assert missing.status_code == 404 and set(missing.json()[0]) == {"code", "description"}


def test_post_needs_a_valid_api_key(client: TestClient, area: Area, api_key: str) -> None:
    form = {"service_code": "noise", "lat": LEFT_CELL[1], "long": LEFT_CELL[0], "description": "噪音"}
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 401 and r.json()[0]["code"] == 401
    r = client.post("/open311/v2/requests.json", data={**form, "api_key": "wrong"})
    assert r.status_code == 401
    r = client.post(
        "/open311/v2/requests.json", data={**form, "api_key": api_key, "lat": OUTSIDE[1], "long": OUTSIDE[0]}
    )
    assert r.status_code == 404 and "service area" in r.json()[0]["description"]
    r = client.post(
        "/open311/v2/requests.json",
        data={**form, "api_key": api_key, "first_name": "Wang", "phone": "13600000000", "attribute[urgency]": "urgent"},
    )
    assert r.status_code == 201, r.text
    created = r.json()[0]
    assert set(created) >= {"service_request_id", "service_notice", "account_id"}
    rid = created["service_request_id"]
    one = client.get(f"/open311/v2/requests/{rid}.json").json()
    assert len(one) == 1 and set(one[0]) == REQUEST_FIELDS
    assert one[0]["status"] == "open" and one[0]["service_code"] == "noise"
    assert abs(one[0]["lat"] - LEFT_CELL[1]) < 1e-6 and abs(one[0]["long"] - LEFT_CELL[0]) < 1e-6
    tok = client.get(f"/open311/v2/tokens/{created['token']}.json").json()
    assert tok == [{"service_request_id": rid, "token": created["token"]}]
    detail = client.get(f"/v1/tickets/{rid}", headers=area.dispatcher).json()
    assert detail["channel"] == "open311" and detail["urgency"] == "urgent"


def test_requests_filters_and_status_mapping(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    g = report(client, area.resident, category="garbage")["id"]
    unit = area.unit_member(area.departments["police"].id)
    for who, action in ((area.dispatcher, "accept"), (area.dispatcher, "dispatch"), (unit, "claim"), (unit, "resolve")):
        ok(client, who, t, action)
    closed = client.get("/open311/v2/requests.json", params={"status": "closed", "service_code": "noise"}).json()
    assert str(t) in {r["service_request_id"] for r in closed} and all(r["status"] == "closed" for r in closed)
    open_ = client.get("/open311/v2/requests.json", params={"status": "open", "service_code": "garbage"}).json()
    assert str(g) in {r["service_request_id"] for r in open_}
    old = client.get("/open311/v2/requests.json", params={"end_date": "2001-01-01T00:00:00Z"}).json()
    assert old == []
    xml = ElementTree.fromstring(
        client.get("/open311/v2/requests.xml", params={"service_request_id": f"{t},{g}"}).content
    )
    assert xml.tag == "service_requests" and {r.findtext("service_request_id") for r in xml} == {str(t), str(g)}
    assert {child.tag for child in xml[0]} == REQUEST_FIELDS
    bad = client.get("/open311/v2/requests.json", params={"status": "maybe"})
    assert bad.status_code == 400


def test_public_listing_shows_only_public_reports_coarsely(client: TestClient, area: Area) -> None:
    """H2: internal cases never appear, a resident's report appears with ~100 m coordinates and masked phones."""
    internal = report(
        client, area.worker, channel="patrol", description="3号楼301 张三 13800000000", at=(100.0081234, 30.0081234)
    )["id"]
    personal = report(client, area.resident, category="dispute", description="邻居漏水纠纷")["id"]
    public = report(
        client,
        None,
        description="路口噪音，联系我13912345678",
        reporter_name="李",
        reporter_phone="13912345678",
        at=(100.0081234, 30.0081234),
    )["id"]
    ids = f"{internal},{personal},{public}"
    for rows in (
        client.get("/open311/v2/requests.json", params={"service_request_id": ids}).json(),
        client.get("/open311/v2/requests.json").json(),
    ):
        got = {r["service_request_id"]: r for r in rows}
        assert str(internal) not in got and str(personal) not in got
        row = got[str(public)]
        assert "13912345678" not in row["description"] and "139****5678" in row["description"]
        assert row["lat"] == 30.008 and row["long"] == 100.008
    assert client.get(f"/open311/v2/requests/{internal}.json").status_code == 404


def test_public_listing_is_paged_and_bounded(client: TestClient, area: Area) -> None:
    made = [
        report(client, None, description=f"第{i}处噪音", reporter_name="王", reporter_phone="13600000000")["id"]
        for i in range(3)
    ]
    first = client.get("/open311/v2/requests.json", params={"page_size": 2}).json()
    second = client.get("/open311/v2/requests.json", params={"page_size": 2, "page": 2}).json()
    assert len(first) == 2
    assert {r["service_request_id"] for r in first}.isdisjoint(r["service_request_id"] for r in second)
    assert {str(i) for i in made} <= {r["service_request_id"] for r in first + second}
    assert client.get("/open311/v2/requests.json", params={"page_size": 5000}).status_code in (400, 422)
    many = ",".join(str(i) for i in range(1, 200))
    assert client.get("/open311/v2/requests.json", params={"service_request_id": many}).status_code == 400


def test_xml_stays_well_formed_with_control_characters(client: TestClient, area: Area) -> None:
    """L2: one report with a control character must not break requests.xml for every client."""
    rid = report(client, None, description="a\u0007b", reporter_name="王", reporter_phone="13600000000")["id"]
    xml = ElementTree.fromstring(client.get("/open311/v2/requests.xml", params={"service_request_id": rid}).content)
    assert xml[0].findtext("description") == "ab"
