"""Intake: anchoring, routing, SLA deadline, audit, public contact rule and bad input."""

from __future__ import annotations

from datetime import datetime

import prcoords
from fastapi.testclient import TestClient

from tests.tickets.conftest import IN_COMPOUND, LEFT_CELL, OUTSIDE, RIGHT_CELL, Area, report


def test_resident_report_is_anchored_routed_and_audited(client: TestClient, area: Area) -> None:
    out = report(client, area.resident, at=IN_COMPOUND, category="water_leak", description="3号楼楼道漏水")
    assert out["state"] == "reported"
    assert out["cell_code"] == area.left and out["compound_code"] == area.compound
    # a compound category inside a compound goes to its property company, on the "1715" profile
    assert out["unit_name"] == "测试物业公司"
    assert out["tier"] == "small_repair"
    detail = client.get(f"/v1/tickets/{out['id']}", headers=area.resident).json()
    assert detail["community_code"] == area.community
    assert detail["sla_profile"] == "p1715"
    assert detail["reporter_name"] and detail["reporter_phone"] == "13800000001"
    history = client.get(f"/v1/tickets/{out['id']}/history", headers=area.resident).json()
    assert [e["action"] for e in history] == ["created"]
    assert history[0]["to_state"] == "reported" and history[0]["payload"]["cell_code"] == area.left


def test_same_category_outside_a_compound_goes_to_the_department(client: TestClient, area: Area) -> None:
    out = report(client, area.worker, at=LEFT_CELL, category="water_leak", channel="grid_worker")
    assert out["unit_name"] == area.departments["housing"].name
    assert out["compound_code"] is None
    detail = client.get(f"/v1/tickets/{out['id']}", headers=area.worker).json()
    assert detail["sla_profile"] == "four_level" and detail["tier"] == "normal"
    opened = datetime.fromisoformat(detail["opened_at"])
    assert (datetime.fromisoformat(detail["resolve_due_at"]) - opened).total_seconds() == 24 * 3600


def test_community_category_stays_with_the_grid_workers(client: TestClient, area: Area) -> None:
    out = report(client, area.resident, at=RIGHT_CELL, category="dispute", description="邻里纠纷")
    assert out["unit_name"] is None and "网格" in out["route"]
    assert out["cell_code"] == area.right


def test_gcj02_input_is_converted_before_anchoring(client: TestClient, area: Area) -> None:
    gcj = prcoords.wgs_gcj(prcoords.Coords(IN_COMPOUND[1], IN_COMPOUND[0]))
    out = report(client, area.resident, at=(gcj.lon, gcj.lat), crs="gcj02")
    detail = client.get(f"/v1/tickets/{out['id']}", headers=area.resident).json()
    assert abs(detail["lon"] - IN_COMPOUND[0]) < 1e-5 and abs(detail["lat"] - IN_COMPOUND[1]) < 1e-5
    assert out["compound_code"] == area.compound


def test_public_report_needs_contact(client: TestClient, area: Area) -> None:
    body = {"category": "noise", "description": "噪音", "lon": LEFT_CELL[0], "lat": LEFT_CELL[1]}
    r = client.post("/v1/tickets", json=body)
    assert r.status_code == 422 and "reporter_phone" in r.json()["message"]
    out = report(client, None, reporter_name="王阿姨", reporter_phone="13900000000")
    assert out["token"] and out["state"] == "reported"


def test_bad_input_is_a_clear_4xx(client: TestClient, area: Area) -> None:
    base = {"category": "noise", "description": "噪音", "lon": LEFT_CELL[0], "lat": LEFT_CELL[1]}
    r = client.post("/v1/tickets", json={**base, "category": "ufo"}, headers=area.resident)
    assert r.status_code == 422 and r.json()["error"] == "invalid_input" and "garbage" in r.json()["message"]
    r = client.post("/v1/tickets", json={"category": "noise", "description": "x"}, headers=area.resident)
    assert r.status_code == 422 and "missing point" in r.json()["message"]
    r = client.post("/v1/tickets", json={**base, "lon": OUTSIDE[0], "lat": OUTSIDE[1]}, headers=area.resident)
    assert r.status_code == 404 and r.json()["error"] == "outside_service_area"
    assert "服务区" in r.json()["message"]
    r = client.post("/v1/tickets", json={**base, "lat": 130.0}, headers=area.resident)
    assert r.status_code == 422
    r = client.post("/v1/tickets", json={**base, "tier": "major_risk"}, headers=area.resident)
    assert r.status_code == 403  # residents do not pick SLA tiers
    r = client.post("/v1/tickets", json={**base, "channel": "hotline_12345"}, headers=area.resident)
    assert r.status_code == 403


def test_address_only_report_is_placed_on_the_named_compound(client: TestClient, area: Area) -> None:
    body = {"category": "elevator", "description": "电梯困人", "address": "测试花园5号楼"}
    r = client.post("/v1/tickets", json=body, headers=area.worker)
    assert r.status_code == 201, r.text
    assert r.json()["compound_code"] == area.compound
    r = client.post("/v1/tickets", json={**body, "address": "不存在的小区"}, headers=area.worker)
    assert r.status_code == 422 and "不存在的小区" in r.json()["message"]


def test_idempotent_intake_replays_and_refuses_a_changed_body(client: TestClient, area: Area) -> None:
    headers = {**area.resident, "Idempotency-Key": "phone-1-ticket-7"}
    body = {"category": "noise", "description": "噪音", "lon": LEFT_CELL[0], "lat": LEFT_CELL[1]}
    first = client.post("/v1/tickets", json=body, headers=headers)
    again = client.post("/v1/tickets", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    changed = client.post("/v1/tickets", json={**body, "description": "别的事"}, headers=headers)
    assert changed.status_code == 409 and changed.json()["error"] == "conflict"
    mine = client.get("/v1/tickets", headers=area.resident).json()
    assert mine["numberMatched"] == 1


def test_major_risk_is_escalated_on_entry(client: TestClient, area: Area) -> None:
    out = report(client, area.dispatcher, at=LEFT_CELL, category="safety_hazard", channel="staff", tier="major_risk")
    detail = client.get(f"/v1/tickets/{out['id']}", headers=area.dispatcher).json()
    assert detail["state"] == "escalated"
    assert {p["organization_name"] for p in detail["parts"]} == {
        area.departments[t].name for t in ("emergency", "fire", "housing")
    }
