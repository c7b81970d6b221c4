"""Duplicates within 50 m (geodesic) of the same category are offered; merging keeps the reporter."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pyproj import Geod
from sqlalchemy.orm import Session

from gis.notify.models import OutboxMessage
from tests.tickets.conftest import LEFT_CELL, Area, act, ok, report

GEOD = Geod(ellps="WGS84")


def moved(metres: float, azimuth: float = 45.0) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(LEFT_CELL[0], LEFT_CELL[1], azimuth, metres)
    return lon, lat


def test_49_m_is_a_duplicate_and_51_m_is_not(client: TestClient, area: Area) -> None:
    first = report(client, area.resident)["id"]
    near = report(client, area.other_resident, at=moved(49))
    assert [d["id"] for d in near["duplicates"]] == [first]
    assert 48.5 < near["duplicates"][0]["distance_m"] < 49.5
    far = report(client, area.other_resident, at=moved(51, azimuth=225))
    assert far["duplicates"] == []  # 51 m from the first (and ~100 m from the second)
    other_category = report(client, area.other_resident, at=moved(10), category="garbage")
    assert other_category["duplicates"] == []


def test_merge_keeps_and_notifies_the_reporter(client: TestClient, area: Area, session: Session) -> None:
    first = report(client, area.resident)["id"]
    dup = report(client, area.other_resident, at=moved(20))
    assert ok(client, area.other_resident, dup["id"], "merge", payload={"into": first})["state"] == "merged"
    detail = client.get(f"/v1/tickets/{dup['id']}", headers=area.other_resident).json()
    assert detail["merged_into_id"] == first and detail["state_label"] == "合并"
    assert session.query(OutboxMessage).filter_by(ticket_id=dup["id"], event="merged", channel="inbox").count() == 1
    history = client.get(f"/v1/tickets/{first}/history", headers=area.dispatcher).json()
    assert history[-1]["action"] == "merged_in" and history[-1]["payload"]["ticket_id"] == dup["id"]
    # when the surviving ticket is resolved, both reporters hear about it
    police = area.unit_member(area.departments["police"].id)
    for who, action in (
        (area.dispatcher, "accept"),
        (area.dispatcher, "dispatch"),
        (police, "claim"),
        (police, "resolve"),
    ):
        ok(client, who, first, action)
    assert session.query(OutboxMessage).filter_by(ticket_id=first, event="resolved", channel="inbox").count() == 2
    # a merged ticket cannot be merged again or moved on
    assert act(client, area.dispatcher, dup["id"], "accept").status_code == 409


def test_merge_at_intake_and_refusals(client: TestClient, area: Area) -> None:
    first = report(client, area.resident)["id"]
    dup = report(client, area.resident, at=moved(5), merge_into=first)
    assert dup["state"] == "merged"
    r = act(client, area.dispatcher, first, "merge", payload={"into": first})
    assert r.status_code == 409
    r = act(client, area.dispatcher, first, "merge", payload={"into": 99999999})
    assert r.status_code == 404
