"""双报到 and service items through the API: register → confirm, publish, claim within capacity, no double booking,
release, geofenced sign-in and sign-out in the window, hours confirmed (and credited as points), teams and
tickets handed to a team."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.participation import claims
from gis.participation.models import Claim, PointsBalance
from tests.participation.conftest import COMMUNITY, COMPOUND, FAR, INSIDE, Area, Maker, publish

P = "/v1/participation"


def test_register_confirm_and_see_my_hours(client: TestClient, session: Session, area: Area, make_user: Maker) -> None:
    _, h = make_user("resident")
    body = {
        "kind": "party_member",
        "name": "王建国",
        "phone": "13912345678",
        "community_code": COMMUNITY,
        "skills": ["法律", "调解"],
    }
    r = client.post(f"{P}/members", json=body, headers=h)
    assert r.status_code == 422 and "工作单位" in r.json()["message"]  # 双报到: the working unit is required
    r = client.post(f"{P}/members", json={**body, "work_unit": "区司法局"}, headers=h)
    assert r.status_code == 201 and r.json()["status"] == "pending"
    mid = r.json()["id"]
    assert client.post(f"{P}/members", json={**body, "work_unit": "x"}, headers=h).status_code == 409
    item = publish(client, area.manager_h)
    r = client.post(f"{P}/items/{item['id']}/claims", headers=h)
    assert r.status_code == 409 and "pending" in r.json()["message"]  # not confirmed yet
    # another community's manager may not confirm; this one's does
    decision = {"decision": "confirm"}
    assert client.post(f"{P}/members/{mid}/decision", json=decision, headers=area.other_manager_h).status_code == 403
    assert client.post(f"{P}/members/{mid}/decision", json=decision, headers=area.manager_h).json()["status"] == (
        "confirmed"
    )
    listed = client.get(f"{P}/members", params={"community": COMMUNITY}, headers=area.manager_h).json()
    assert mid in [m["id"] for m in listed]
    assert client.get(f"{P}/members", headers=h).status_code == 403  # a member does not read the roll
    assert client.post(f"{P}/items/{item['id']}/claims", headers=h).status_code == 201
    me = client.get(f"{P}/me", headers=h).json()
    assert me["member"]["tasks"] == 1 and [c["item_id"] for c in me["claims"]] == [item["id"]]


def test_claims_within_capacity_without_double_booking(client: TestClient, area: Area) -> None:
    (_, h1, _), (_, h2, _), (_, h3, _), _ = area.members
    item = publish(client, area.manager_h, capacity=2)
    assert client.post(f"{P}/items/{item['id']}/claims", headers=h1).status_code == 201
    again = client.post(f"{P}/items/{item['id']}/claims", headers=h1)
    assert again.status_code == 409
    assert client.post(f"{P}/items/{item['id']}/claims", headers=h2).status_code == 201
    full = client.post(f"{P}/items/{item['id']}/claims", headers=h3)
    assert full.status_code == 409 and "beyond capacity" in full.json()["message"]
    assert full.json()["detail"]["places_left"] == 0
    # the public list leaves full items out unless asked
    public = client.get(f"{P}/items", params={"community": COMMUNITY}).json()
    assert item["id"] not in [i["id"] for i in public]
    assert item["id"] in [i["id"] for i in client.get(f"{P}/items", params={"community": COMMUNITY, "full": 1}).json()]
    # an overlapping item: member 1 is booked in that window
    other = publish(client, area.manager_h, starts_in=60, title="课后辅导", kind="tutoring")
    r = client.post(f"{P}/items/{other['id']}/claims", headers=h1)
    assert r.status_code == 409 and "overlapping" in r.json()["message"]
    assert r.json()["detail"]["overlapping"][0]["item_id"] == item["id"]
    # release before the window: the place is free again and member 1 can take the other item
    mine = client.get(f"{P}/me", headers=h1).json()["claims"][0]
    assert client.post(f"{P}/claims/{mine['id']}/release", headers=h1).json()["status"] == "released"
    assert client.get(f"{P}/items/{item['id']}").json()["places_left"] == 1
    assert client.post(f"{P}/items/{other['id']}/claims", headers=h1).status_code == 201
    assert client.post(f"{P}/claims/{mine['id']}/release", headers=h2).status_code == 403  # not theirs


def test_items_need_the_skills_and_a_place_in_the_community(client: TestClient, area: Area) -> None:
    (_, h1, _), *_ = area.members
    item = publish(client, area.manager_h, skills=["医疗"])
    r = client.post(f"{P}/items/{item['id']}/claims", headers=h1)
    assert r.status_code == 422 and "医疗" in r.json()["message"]
    body = {
        "community_code": COMMUNITY,
        "kind": "no-such-kind",
        "title": "x",
        "capacity": 1,
        "place": {"kind": "compound", "code": COMPOUND},
        "starts_at": "2030-01-01T09:00",
        "ends_at": "2030-01-01T10:00",
    }
    r = client.post(f"{P}/items", json=body, headers=area.manager_h)
    assert r.status_code == 422 and "unknown service kind" in r.json()["message"]
    far = {**body, "kind": "environment", "place": {"kind": "point", "lon": 117.0, "lat": 36.6}}
    r = client.post(f"{P}/items", json=far, headers=area.manager_h)
    assert r.status_code == 422 and "outside community" in r.json()["message"]
    assert (
        client.post(f"{P}/items", json={**body, "kind": "environment"}, headers=area.other_manager_h).status_code == 403
    )
    # near me: the published point item, with its distance in metres
    ok = {
        **body,
        "kind": "environment",
        "place": {"kind": "point", "lon": INSIDE[0], "lat": INSIDE[1], "name": "小区广场"},
    }
    square = client.post(f"{P}/items", json=ok, headers=area.manager_h).json()["id"]
    near = client.get(f"{P}/items", params={"near": f"{INSIDE[0]},{INSIDE[1] + 0.001},500"}).json()
    by_id = {i["id"]: i for i in near}
    assert near[0]["id"] == item["id"] and near[0]["distance_m"] == 0  # inside the compound: nearest
    assert by_id[square]["place_name"] == "小区广场" and 100 < by_id[square]["distance_m"] < 120
    assert client.get(f"{P}/items", params={"near": "100.1,30.1,500"}).json() == []


def test_sign_in_on_site_in_the_window_and_hours_confirmed(client: TestClient, session: Session, area: Area) -> None:
    (u1, h1, m1), (_, h2, _), *_ = area.members
    item = publish(client, area.manager_h, starts_in=20)  # sign-in opens 30 min before the window
    cid = client.post(f"{P}/items/{item['id']}/claims", headers=h1).json()[0]["id"]
    far = client.post(f"{P}/claims/{cid}/sign-in", json={"lon": FAR[0], "lat": FAR[1]}, headers=h1)
    assert far.status_code == 422 and far.json()["detail"]["distance_m"] > 300
    assert "farther than 150 m" in far.json()["message"]
    blurred = client.post(
        f"{P}/claims/{cid}/sign-in", json={"lon": INSIDE[0], "lat": INSIDE[1], "accuracy_m": 500}, headers=h1
    )
    assert blurred.status_code == 422 and "inaccurate" in blurred.json()["message"]
    assert (
        client.post(f"{P}/claims/{cid}/sign-in", json={"lon": INSIDE[0], "lat": INSIDE[1]}, headers=h2).status_code
        == 403
    )
    r = client.post(f"{P}/claims/{cid}/sign-in", json={"lon": INSIDE[0], "lat": INSIDE[1]}, headers=h1)
    assert r.status_code == 200 and r.json()["signed_in_m"] == 0.0  # inside the compound
    # a later item: too early to sign in
    later = publish(client, area.manager_h, starts_in=24 * 60, title="助老")
    c2 = client.post(f"{P}/items/{later['id']}/claims", headers=h1).json()[0]["id"]
    early = client.post(f"{P}/claims/{c2}/sign-in", json={"lon": INSIDE[0], "lat": INSIDE[1]}, headers=h1)
    assert early.status_code == 422 and "outside the window" in early.json()["message"]
    # the domain with a clock: two hours on site, signed out, confirmed by the community → points
    claim = session.get(Claim, cid)
    assert claim is not None
    start = claim.starts_at
    claims.sign_out(session, u1, cid, claims.Fix(INSIDE[0], INSIDE[1] + 0.0005), now=start + timedelta(minutes=90))
    assert claim.minutes == 90.0
    todo = client.get(f"{P}/claims", params={"community": COMMUNITY, "item_id": item["id"]}, headers=area.manager_h)
    assert [(c["id"], c["member_name"], c["minutes"]) for c in todo.json()] == [(cid, "志愿者1", 90.0)]
    assert client.get(f"{P}/claims", headers=h1).status_code == 403
    r = client.post(f"{P}/claims/{cid}/confirm", json={}, headers=area.manager_h)
    assert r.status_code == 200 and r.json()["confirmed_minutes"] == 90.0
    assert client.post(f"{P}/claims/{cid}/confirm", json={}, headers=area.manager_h).status_code == 409
    bal = session.scalar(select(PointsBalance.balance).where(PointsBalance.user_id == u1.id))
    assert bal == 15  # 1.5 h × 10 points (volunteer_hour)
    me = client.get(f"{P}/me", headers=h1).json()["member"]
    assert me["hours_total"] == 1.5
    assert client.get(f"{P}/points", headers=h1).json()["entries"][0]["ref"] == f"claim:{cid}"
    assert m1.id == me["id"]


def test_team_leader_claims_for_the_team_and_tickets_go_to_teams(
    client: TestClient, session: Session, area: Area
) -> None:
    (_, h1, m1), (_, h2, m2), (_, h3, m3), (_, h4, m4) = area.members
    team = {"community_code": COMMUNITY, "name": "红马甲服务队", "leader_id": m1.id, "member_ids": [m2.id, m3.id]}
    assert client.post(f"{P}/teams", json=team, headers=h1).status_code == 403
    r = client.post(f"{P}/teams", json=team, headers=area.manager_h)
    assert r.status_code == 201 and r.json()["size"] == 3
    tid = r.json()["id"]
    assert client.get(f"{P}/teams/{tid}", headers=h1).json()["members"][0]["name"] == "志愿者1"  # the leader
    assert client.get(f"{P}/teams/{tid}", headers=h2).status_code == 403  # a member: not the roster
    assert [t["id"] for t in client.get(f"{P}/teams", headers=h2).json()] == [tid]
    item = publish(client, area.manager_h, capacity=3)
    r = client.post(f"{P}/items/{item['id']}/claims", json={"member_ids": [m2.id, m3.id]}, headers=h1)
    assert r.status_code == 201 and {c["member_id"] for c in r.json()} == {m2.id, m3.id}
    outsider = client.post(f"{P}/items/{item['id']}/claims", json={"member_ids": [m4.id]}, headers=h1)
    assert outsider.status_code == 403
    assert client.post(f"{P}/items/{item['id']}/claims", json={"member_ids": [m3.id]}, headers=h2).status_code == 403
    # a ticket in the community, of a volunteer-suitable category, handed to the team
    tid_ticket = _ticket(session, "garbage")
    when = {"team_id": tid, "starts_at": "2030-05-01T09:00", "ends_at": "2030-05-01T11:00"}
    r = client.post(f"{P}/tickets/{tid_ticket}/handover", json=when, headers=area.manager_h)
    assert r.status_code == 201 and r.json()["team_id"] == tid and r.json()["ticket_id"] == tid_ticket
    assert r.json()["kind"] == "environment" and r.json()["capacity"] == 3
    reserved = r.json()["id"]
    assert client.post(f"{P}/items/{reserved}/claims", headers=h4).status_code == 403  # not in the team
    assert client.post(f"{P}/items/{reserved}/claims", headers=h2).status_code == 201  # a team member
    unsuitable = _ticket(session, "elevator")
    r = client.post(f"{P}/tickets/{unsuitable}/handover", json=when, headers=area.manager_h)
    assert r.status_code == 422 and "not volunteer-suitable" in r.json()["message"]


def _ticket(session: Session, category: str) -> int:
    """A bare ticket in the tiny community (the handover reads its category, community and point)."""
    tid = session.execute(
        text(
            "INSERT INTO tickets (token, category, description, geom, channel, state, cell_code, community_code, "
            "unit_type, sla_profile, tier, opened_at, attributes, created_at, updated_at, source_crs, urgency, "
            "overdue, reopen_count) VALUES (md5(random()::text), :cat, '楼下垃圾堆放', "
            "ST_SetSRID(ST_MakePoint(100.004, 30.004), 4326), 'resident', 'accepted', '990000000001001', :c, "
            "'property', 'default', 'normal', now(), '{}', now(), now(), 'wgs84', 'normal', false, 0) RETURNING id"
        ),
        {"cat": category, "c": COMMUNITY},
    ).scalar_one()
    session.commit()
    return int(tid)
