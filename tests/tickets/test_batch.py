"""Offline batches: per-item idempotency keys, replay creates nothing twice, bad items reported."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.tickets.conftest import LEFT_CELL, Area

TICKET = {
    "category": "garbage",
    "description": "垃圾桶满溢",
    "lon": LEFT_CELL[0],
    "lat": LEFT_CELL[1],
    "channel": "grid_worker",
}


def batch(n: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for i in range(n):
        items.append({"client_key": f"dev7-t{i}", "kind": "ticket", "ticket": {**TICKET, "description": f"垃圾{i}"}})
    items.append({"client_key": "dev7-bad", "kind": "ticket", "ticket": {**TICKET, "category": "ufo"}})
    return {"items": items}


def test_replaying_a_batch_creates_nothing_twice(client: TestClient, area: Area) -> None:
    body = batch(5)
    first = client.post("/v1/tickets/batch", json=body, headers=area.worker).json()
    assert first["created"] == 5 and first["failed"] == 1
    bad = first["results"][-1]
    assert bad["ok"] is False and bad["error"]["error"] == "invalid_input"
    again = client.post("/v1/tickets/batch", json=body, headers=area.worker).json()
    assert again["created"] == 0 and again["replayed"] == 5
    assert [r["ticket_id"] for r in again["results"]] == [r["ticket_id"] for r in first["results"]]
    listed = client.get("/v1/tickets", params={"category": "garbage"}, headers=area.worker).json()
    assert listed["numberMatched"] == 5


def test_actions_in_a_batch_refer_to_tickets_of_the_batch(client: TestClient, area: Area) -> None:
    body = {
        "items": [
            {"client_key": "k-ticket", "kind": "ticket", "ticket": {**TICKET, "category": "dispute"}},
            {"client_key": "k-claim", "kind": "action", "ticket_ref": "k-ticket", "action": "accept"},
        ]
    }
    out = client.post("/v1/tickets/batch", json=body, headers=area.dispatcher).json()
    assert [r["ok"] for r in out["results"]] == [True, True]
    assert out["results"][1]["state"] == "accepted"
    again = client.post("/v1/tickets/batch", json=body, headers=area.dispatcher).json()
    assert again["replayed"] == 2 and again["results"][1]["state"] == "accepted"
    history = client.get(f"/v1/tickets/{out['results'][0]['ticket_id']}/history", headers=area.dispatcher).json()
    assert [e["action"] for e in history] == ["created", "accept"]  # the replayed accept wrote nothing


def test_same_key_with_another_body_is_409(client: TestClient, area: Area) -> None:
    body = {"items": [{"client_key": "x1", "kind": "ticket", "ticket": TICKET}]}
    client.post("/v1/tickets/batch", json=body, headers=area.worker)
    changed = {"items": [{"client_key": "x1", "kind": "ticket", "ticket": {**TICKET, "description": "别的"}}]}
    out = client.post("/v1/tickets/batch", json=changed, headers=area.worker).json()
    assert out["results"][0]["error"]["error"] == "conflict"


def test_action_with_idempotency_header_is_applied_once(client: TestClient, area: Area) -> None:
    t = client.post("/v1/tickets", json=TICKET, headers=area.worker).json()["id"]
    h = {**area.dispatcher, "Idempotency-Key": "accept-once"}
    a = client.post(f"/v1/tickets/{t}/actions", json={"action": "accept"}, headers=h)
    b = client.post(f"/v1/tickets/{t}/actions", json={"action": "accept"}, headers=h)
    assert a.status_code == b.status_code == 200 and b.json()["replayed"] is True
