"""一案一回访 and 评单: only the reporter rates; low ratings or "not solved" reopen to the unit."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.tickets.conftest import Area, act, ok, report


def resolved_ticket(
    client: TestClient, area: Area, reporter: dict[str, str] | None = None, **body: Any
) -> tuple[int, dict[str, str]]:
    out = report(client, reporter if reporter is not None else area.resident, **body)
    unit = area.unit_member(area.departments["police"].id)
    for who, action in ((area.dispatcher, "accept"), (area.dispatcher, "dispatch"), (unit, "claim"), (unit, "resolve")):
        ok(client, who, out["id"], action)
    return out["id"], unit


def test_only_the_reporter_rates(client: TestClient, area: Area) -> None:
    t, _ = resolved_ticket(client, area)
    r = client.post(f"/v1/tickets/{t}/rating", json={"stars": 5}, headers=area.other_resident)
    assert r.status_code == 403  # only the reporter may rate
    r = client.post(f"/v1/tickets/{t}/rating", json={"stars": 5}, headers=area.dispatcher)
    assert r.status_code == 403 and "报告人" in r.json()["message"]
    r = client.post(f"/v1/tickets/{t}/rating", json={"stars": 5, "comment": "很及时"}, headers=area.resident)
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    again = client.post(f"/v1/tickets/{t}/rating", json={"stars": 4}, headers=area.resident)
    assert again.status_code == 409
    assert client.get(f"/v1/tickets/{t}", headers=area.resident).json()["ratings"][0]["stars"] == 5


def test_low_rating_reopens_to_the_unit(client: TestClient, area: Area) -> None:
    t, unit = resolved_ticket(client, area)
    r = client.post(f"/v1/tickets/{t}/rating", json={"stars": 2, "comment": "还是很吵"}, headers=area.resident)
    assert r.json()["state"] == "reopened"
    detail = client.get(f"/v1/tickets/{t}", headers=area.resident).json()
    assert detail["reopen_count"] == 1 and detail["resolved_at"] is None
    assert ok(client, unit, t, "claim")["state"] == "claimed"  # straight back to the same unit


def test_not_solved_reopens_even_with_good_stars(client: TestClient, area: Area) -> None:
    t, _ = resolved_ticket(client, area)
    r = client.post(f"/v1/tickets/{t}/rating", json={"stars": 4, "solved": False}, headers=area.resident)
    assert r.json()["state"] == "reopened"


def test_public_reporter_rates_with_token_and_phone(client: TestClient, area: Area) -> None:
    out = report(client, None, reporter_name="李师傅", reporter_phone="13700000000")
    unit = area.unit_member(area.departments["police"].id)
    for who, action in ((area.dispatcher, "accept"), (area.dispatcher, "dispatch"), (unit, "claim"), (unit, "resolve")):
        ok(client, who, out["id"], action)
    bad = client.post(f"/v1/tickets/{out['id']}/rating", json={"stars": 5, "token": out["token"], "phone": "1"})
    assert bad.status_code == 403
    good = client.post(
        f"/v1/tickets/{out['id']}/rating", json={"stars": 5, "token": out["token"], "phone": "13700000000"}
    )
    assert good.status_code == 200


def test_rating_before_resolution_is_409(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    r = client.post(f"/v1/tickets/{t}/rating", json={"stars": 5}, headers=area.resident)
    assert r.status_code == 409
    r = client.post(f"/v1/tickets/{t}/rating", json={"stars": 9}, headers=area.resident)
    assert r.status_code == 422


def test_follow_up_records_and_unsatisfied_reopens(client: TestClient, area: Area) -> None:
    t, unit = resolved_ticket(client, area)
    r = act(client, unit, t, "follow_up", payload={"method": "phone", "outcome": "satisfied"})
    assert r.status_code == 403  # 回访 is the community's job, not the unit's
    ok(
        client,
        area.worker,
        t,
        "follow_up",
        note="电话回访，居民满意",
        payload={"method": "phone", "outcome": "satisfied"},
    )
    detail = client.get(f"/v1/tickets/{t}", headers=area.dispatcher).json()
    assert detail["follow_ups"][0]["outcome"] == "satisfied" and detail["state"] == "resolved"
    ok(client, area.worker, t, "follow_up", payload={"method": "visit", "outcome": "unsatisfied"})
    assert client.get(f"/v1/tickets/{t}", headers=area.dispatcher).json()["state"] == "reopened"
