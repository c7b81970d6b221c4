"""The jurisdiction rules of gis.access on the ticket side: property companies (H3), planners (L1), masked
phones, the audit of personal-data reads, cell_staff scope (L16) and published duty phones (M13)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.models import CellStaff, PersonalDataRead
from tests.tickets.conftest import LEFT_CELL, Area, ok, report


def test_a_planner_does_not_read_the_reporter(client: TestClient, area: Area) -> None:
    """L1: boundary planners read tickets but not the reporter's name or phone."""
    t = report(client, None, reporter_name="王阿姨", reporter_phone="13912345678")
    _, planner = area.make_user("planner")
    d = client.get(f"/v1/tickets/{t['id']}", headers=planner).json()
    assert d["reporter_name"] is None and d["reporter_phone"] is None


def test_a_property_company_reads_its_routed_tickets_with_a_masked_phone(
    client: TestClient, area: Area, session: Session
) -> None:
    """H3: a property company has its own role; it reads the tickets routed to it, the phone masked."""
    t = report(client, None, reporter_name="王阿姨", reporter_phone="13912345678")
    _, pm = area.make_user("property", organization_id=area.property_company.id)
    assert client.get(f"/v1/tickets/{t['id']}", headers=pm).status_code == 404  # not routed to it
    ok(client, area.dispatcher, t["id"], "accept")
    ok(client, area.dispatcher, t["id"], "dispatch", payload={"unit_id": area.property_company.id})
    d = client.get(f"/v1/tickets/{t['id']}", headers=pm)
    assert d.status_code == 200, d.text
    assert d.json()["reporter_phone"] == "139****5678"
    assert [i["id"] for i in client.get("/v1/tickets", headers=pm).json()["items"]] == [t["id"]]


def test_staff_reads_of_a_reporter_are_audited_and_listed_for_admins(
    client: TestClient, area: Area, session: Session
) -> None:
    t = report(client, None, reporter_name="王阿姨", reporter_phone="13912345678")
    worker = client.get(f"/v1/tickets/{t['id']}", headers=area.worker).json()
    assert worker["reporter_phone"] == "13912345678"  # the grid worker calls back: unmasked, and recorded
    rows = session.scalars(select(PersonalDataRead).where(PersonalDataRead.ref == str(t["id"]))).all()
    assert [(r.user_id, r.subject, r.fields) for r in rows] == [
        (area.worker_user.id, "ticket", ["reporter_name", "reporter_phone"])
    ]
    r = client.get("/v1/audit/personal-data-reads", params={"user": area.worker_user.username}, headers=area.admin)
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == 1
    assert r.json()["items"][0]["username"] == area.worker_user.username
    assert client.get("/v1/audit/personal-data-reads", headers=area.worker).status_code == 403
    assert client.get("/v1/audit/personal-data-reads").status_code == 401


def test_the_reporter_reading_their_own_ticket_is_not_audited(client: TestClient, area: Area, session: Session) -> None:
    t = report(client, area.resident)
    assert client.get(f"/v1/tickets/{t['id']}", headers=area.resident).json()["reporter_phone"] == "13800000001"
    assert session.scalars(select(PersonalDataRead).where(PersonalDataRead.ref == str(t["id"]))).all() == []


def test_a_grid_worker_staffing_a_cell_reads_the_cell(client: TestClient, area: Area, session: Session) -> None:
    """L16: cell_staff counts for features as it does for tickets."""
    user, h = area.make_user("grid_worker", jurisdiction=[])
    session.add(CellStaff(cell_code=area.right, user_id=user.id, duty="worker"))
    session.commit()
    assert client.get(f"/v1/cells/{area.right}", headers=h).status_code == 200
    assert client.get(f"/v1/cells/{area.left}", headers=h).status_code == 404


def test_locate_publishes_duty_phones_of_active_staff_only(client: TestClient, area: Area, session: Session) -> None:
    """M13: the duty phone, not the account's mobile; a deactivated worker is not published."""
    area.worker_user.phone = "13900000000"
    session.add(CellStaff(cell_code=area.left, user_id=area.worker_user.id, duty="worker", duty_phone="0531-12345"))
    session.commit()
    lon, lat = LEFT_CELL
    workers = client.get("/v1/locate", params={"lon": lon, "lat": lat}).json()["cell"]["workers"]
    assert [w["phone"] for w in workers] == ["0531-12345"]
    area.worker_user.is_active = False
    session.commit()
    body = client.get("/v1/locate", params={"lon": lon, "lat": lat}).text
    assert body.count(area.worker_user.full_name) == 0 and "13900000000" not in body
