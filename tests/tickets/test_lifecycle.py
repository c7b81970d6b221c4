"""A ticket's whole life over the API, and every refusal: wrong state (409 with the allowed steps),
wrong person (403), missing reason, verification by the resolver, jurisdiction."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.tickets.conftest import RIGHT_CELL, Area, act, ok, report


def test_whole_life_from_report_to_close(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    unit = area.unit_member(area.departments["police"].id)
    ok(client, area.dispatcher, t, "accept")
    ok(client, area.dispatcher, t, "dispatch")
    ok(client, unit, t, "claim")
    ok(client, unit, t, "start", note="已到现场")
    ok(client, unit, t, "resolve", note="已劝导停业")
    ok(client, area.worker, t, "verify", note="现场核查无噪音")
    assert ok(client, area.dispatcher, t, "close")["state"] == "closed"
    history = client.get(f"/v1/tickets/{t}/history", headers=area.dispatcher).json()
    steps = [(e["action"], e["from_state"], e["to_state"]) for e in history]
    assert steps == [
        ("created", None, "reported"),
        ("accept", "reported", "accepted"),
        ("dispatch", "accepted", "dispatched"),
        ("claim", "dispatched", "claimed"),
        ("start", "claimed", "in_progress"),
        ("resolve", "in_progress", "resolved"),
        ("verify", "resolved", "verified"),
        ("close", "verified", "closed"),
    ]
    assert all(e["actor"] for e in history)
    detail = client.get(f"/v1/tickets/{t}", headers=area.resident).json()
    assert detail["closed_at"] and [a["action"] for a in detail["allowed_actions"]] == ["reopen"]


def test_illegal_transition_is_409_listing_the_allowed_ones(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    r = act(client, area.dispatcher, t, "close")
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "invalid_transition"
    assert {a["action"] for a in body["detail"]["allowed"]} == {"accept", "merge"}
    assert "上报" in body["message"]


def test_wrong_role_is_403(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    r = act(client, area.worker, t, "accept")  # grid workers report, the community dispatches
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    ok(client, area.dispatcher, t, "accept")
    ok(client, area.dispatcher, t, "dispatch")
    wrong_unit = area.unit_member(area.departments["fire"].id)
    r = act(client, wrong_unit, t, "claim")
    assert r.status_code == 404  # another department does not even see the ticket
    r = act(client, area.dispatcher, t, "claim")
    assert r.status_code == 403 and r.json()["detail"]["allowed_actors"] == ["unit"]


def test_resolver_cannot_verify_their_own_work(client: TestClient, area: Area) -> None:
    t = report(client, area.resident, category="dispute", description="楼上楼下漏水纠纷")["id"]
    ok(client, area.dispatcher, t, "accept")
    ok(client, area.dispatcher, t, "dispatch")
    ok(client, area.worker, t, "claim")  # community-handled: the cell's grid worker claims
    ok(client, area.worker, t, "resolve", note="调解成功")
    r = act(client, area.worker, t, "verify")
    assert r.status_code == 403 and "办结人以外" in r.json()["message"]
    ok(client, area.dispatcher, t, "verify")


def test_reject_needs_a_reason_and_returns_to_the_dispatcher(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    unit = area.unit_member(area.departments["police"].id)
    ok(client, area.dispatcher, t, "accept")
    ok(client, area.dispatcher, t, "dispatch")
    r = act(client, unit, t, "reject")
    assert r.status_code == 422 and "reason" in r.json()["message"]
    assert ok(client, unit, t, "reject", note="非本单位职责，应由城管处理")["state"] == "rejected"
    # K7 reassignment: the dispatcher sends it to another unit
    city = area.departments["urban_management"]
    ok(client, area.dispatcher, t, "dispatch", payload={"unit_id": city.id})
    assert client.get(f"/v1/tickets/{t}", headers=area.dispatcher).json()["unit_name"] == city.name
    ok(client, area.unit_member(city.id), t, "claim")
    assert act(client, unit, t, "start").status_code == 404  # the first unit lost sight of it


def test_suspend_pauses_the_clock_and_resume_returns(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    unit = area.unit_member(area.departments["police"].id)
    for who, action in ((area.dispatcher, "accept"), (area.dispatcher, "dispatch"), (unit, "claim")):
        ok(client, who, t, action)
    assert act(client, unit, t, "suspend").status_code == 422
    ok(client, unit, t, "suspend", note="等待业主回国")
    assert client.get("/v1/tickets/overdue", headers=area.dispatcher).json()["numberMatched"] == 0
    assert ok(client, unit, t, "resume")["state"] == "claimed"


def test_lists_follow_jurisdiction(client: TestClient, area: Area) -> None:
    left = report(client, area.resident)["id"]
    right = report(client, area.other_resident, at=RIGHT_CELL)["id"]
    ids = lambda h: {i["id"] for i in client.get("/v1/tickets", headers=h).json()["items"]}  # noqa: E731
    assert ids(area.worker) == {left}
    assert ids(area.other_worker) == {right}
    assert {left, right} <= ids(area.dispatcher)
    assert ids(area.resident) == {left}
    police = area.unit_member(area.departments["police"].id)
    assert {left, right} <= ids(police)
    assert ids(area.unit_member(area.departments["fire"].id)) == set()
    assert client.get(f"/v1/tickets/{right}", headers=area.worker).status_code == 404


def test_list_filters_and_export(client: TestClient, area: Area) -> None:
    report(client, area.resident, description="夜间施工噪音")
    report(client, area.resident, category="garbage", description="垃圾满溢")
    h = area.dispatcher
    got = client.get("/v1/tickets", params={"category": "garbage"}, headers=h).json()
    assert [i["category"] for i in got["items"]] == ["garbage"]
    got = client.get("/v1/tickets", params={"q": "施工"}, headers=h).json()
    assert got["numberMatched"] == 1 and "施工" in got["items"][0]["description"]
    got = client.get("/v1/tickets", params={"near": "100.008,30.008,30", "state": "reported"}, headers=h).json()
    assert got["numberMatched"] == 2
    assert client.get("/v1/tickets", params={"state": "lost"}, headers=h).status_code == 422
    csv = client.get("/v1/tickets/export", params={"format": "csv"}, headers=h)
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "工单号" in csv.text and "垃圾满溢" in csv.text
    xlsx = client.get("/v1/tickets/export", params={"format": "xlsx"}, headers=h)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_writes_need_a_login(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    r = client.post(f"/v1/tickets/{t}/actions", json={"action": "accept"})
    assert r.status_code == 401
    assert client.get("/v1/tickets").status_code == 401
