"""Reference data through /v1, per object and role: what an admin writes, what a manager may write in their
own community only, and bad input answered with a 4xx that names the field and says what to fix."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.models import AdminArea, Building, Compound, Organization, User
from tests.reference.conftest import MINE, OTHER, World

INSIDE = (117.0375, 36.6641)  # inside 燕翅山社区 (MINE)


def _error(r: object, status: int, field: str | None = None) -> dict:  # type: ignore[type-arg]
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["message"]
    if field is not None:
        assert body["detail"]["field"] == field, body
    return body  # type: ignore[no-any-return]


# --- organizations --------------------------------------------------------------------------------------


def test_admin_creates_a_department_that_lists_its_categories(client: TestClient, world: World) -> None:
    body = {
        "code": "DEPT-new",
        "name": "新区城管执法中队",
        "kind": "department",
        "unit_type": "urban_management",
        "phone": "0531-86001234",
    }
    r = client.post("/v1/organizations", json=body, headers=world.admin)
    assert r.status_code == 201, r.text
    assert r.json()["categories"] and r.json()["kind_label"] == "职能部门"
    _error(client.post("/v1/organizations", json=body, headers=world.admin), 409)
    no_type = {**body, "code": "DEPT-x", "unit_type": None}
    assert (
        "unit_type"
        in _error(client.post("/v1/organizations", json=no_type, headers=world.admin), 422, "unit_type")["message"]
    )
    bad_phone = {**body, "code": "DEPT-y", "phone": "12-34"}
    assert (
        "手机号"
        in _error(client.post("/v1/organizations", json=bad_phone, headers=world.admin), 422, "phone")["message"]
    )
    assert client.post("/v1/organizations", json={**body, "code": "D2"}, headers=world.manager).status_code == 403


def test_a_disabled_department_gets_no_tickets(client: TestClient, world: World, session: Session) -> None:
    from gis.tickets.routing import department_for

    org = session.scalar(
        select(Organization).where(Organization.unit_type == "fire", Organization.kind == "department")
    )
    assert org is not None and department_for(session, "fire") is not None
    r = client.post(f"/v1/organizations/{org.code}/disable", headers=world.admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    session.expire_all()
    assert department_for(session, "fire") is None


def test_property_company_takes_its_compounds(client: TestClient, world: World) -> None:
    body = {"code": "PM-new", "name": "新物业", "kind": "property_company", "compounds": [world.compound]}
    r = client.post("/v1/organizations", json=body, headers=world.admin)
    assert r.status_code == 201, r.text
    assert r.json()["compounds"] == [world.compound]
    details = client.get(f"/v1/compounds/{world.compound}/details", headers=world.admin).json()
    assert details["property_company"] == "PM-new"
    bad = {**body, "code": "PM-2", "compounds": ["NO-SUCH"]}
    _error(client.post("/v1/organizations", json=bad, headers=world.admin), 422, "compounds")


# --- accounts -------------------------------------------------------------------------------------------


def test_admin_creates_accounts_with_organization_and_jurisdiction(client: TestClient, world: World) -> None:
    body = {
        "username": "wang.wei",
        "password": "long-enough-1",
        "full_name": "王伟",
        "role": "grid_worker",
        "phone": "13812345678",
        "jurisdiction": [world.cell],
    }
    r = client.post("/v1/users", json=body, headers=world.admin)
    assert r.status_code == 201, r.text
    assert r.json()["jurisdiction"] == [world.cell]
    _error(client.post("/v1/users", json=body, headers=world.admin), 409, "username")
    unknown = {**body, "username": "li.na", "jurisdiction": ["370102010099"]}
    assert (
        "370102010099"
        in _error(client.post("/v1/users", json=unknown, headers=world.admin), 422, "jurisdiction")["message"]
    )
    dept = {**body, "username": "dept.x", "role": "department", "jurisdiction": []}
    _error(client.post("/v1/users", json=dept, headers=world.admin), 422, "organization")
    token = client.post("/v1/auth/login", json={"username": "wang.wei", "password": "long-enough-1"})
    assert token.status_code == 200


def test_a_manager_manages_the_grid_workers_of_their_community_only(client: TestClient, world: World) -> None:
    mine = {
        "username": "gw.mine",
        "password": "long-enough-1",
        "full_name": "甲",
        "role": "grid_worker",
        "jurisdiction": [world.cell],
    }
    assert client.post("/v1/users", json=mine, headers=world.manager).status_code == 201
    theirs = {**mine, "username": "gw.theirs", "jurisdiction": [world.other_cell]}
    _error(client.post("/v1/users", json=theirs, headers=world.manager), 403)
    assert client.post("/v1/users", json=theirs, headers=world.admin).status_code == 201
    boss = {**mine, "username": "boss", "role": "admin"}
    _error(client.post("/v1/users", json=boss, headers=world.manager), 403)
    listed = {u["username"] for u in client.get("/v1/users", headers=world.manager).json()}
    assert "gw.mine" in listed and "gw.theirs" not in listed and "admin" not in listed
    assert client.get("/v1/users/gw.theirs", headers=world.manager).status_code == 404
    assert client.post("/v1/users/gw.theirs/disable", headers=world.manager).status_code == 404
    moved = client.patch("/v1/users/gw.mine", json={"jurisdiction": [world.other_cell]}, headers=world.manager)
    _error(moved, 403)
    r = client.post("/v1/users/gw.mine/disable", headers=world.manager)
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert client.post("/v1/auth/login", json={"username": "gw.mine", "password": "long-enough-1"}).status_code == 401
    r = client.post("/v1/users/gw.mine/password", json={"new_password": "another-one-2"}, headers=world.manager)
    assert r.status_code == 200


# --- cell staff -----------------------------------------------------------------------------------------


def test_staff_assignments_keep_to_the_managers_cells(client: TestClient, world: World) -> None:
    worker = {
        "username": "gw.staff",
        "password": "long-enough-1",
        "full_name": "乙",
        "role": "grid_worker",
        "jurisdiction": [world.cell],
    }
    assert client.post("/v1/users", json=worker, headers=world.admin).status_code == 201
    body = {"duty": "worker", "duty_phone": "13900001111", "employment": "part_time"}
    r = client.put(f"/v1/cells/{world.cell}/staff/gw.staff", json=body, headers=world.manager)
    assert r.status_code == 200, r.text
    assert r.json()["employment"] == "part_time"
    outside = client.put(f"/v1/cells/{world.other_cell}/staff/gw.staff", json=body, headers=world.manager)
    assert "辖区" in _error(outside, 403)["message"]
    bad_phone = client.put(
        f"/v1/cells/{world.cell}/staff/gw.staff", json={**body, "duty_phone": "555"}, headers=world.manager
    )
    _error(bad_phone, 422, "duty_phone")
    nobody = client.put(f"/v1/cells/{world.cell}/staff/nobody", json=body, headers=world.manager)
    _error(nobody, 422, "username")
    staff = client.get("/v1/cell-staff", params={"cell": world.cell}, headers=world.manager).json()
    assert any(s["username"] == "gw.staff" for s in staff)
    located = client.get("/v1/cell-staff", params={"cell": world.other_cell}, headers=world.manager).json()
    assert located == []
    assert client.delete(f"/v1/cells/{world.cell}/staff/gw.staff", headers=world.manager).status_code == 204


def test_a_cell_has_one_grid_manager(client: TestClient, world: World) -> None:
    for name in ("m.one", "m.two"):
        user = {
            "username": name,
            "password": "long-enough-1",
            "full_name": name,
            "role": "manager",
            "jurisdiction": [world.cell],
        }
        assert client.post("/v1/users", json=user, headers=world.admin).status_code == 201
    current = client.get("/v1/cell-staff", params={"cell": world.cell}, headers=world.admin).json()
    for s in current:
        if s["duty"] == "manager":
            client.delete(f"/v1/cells/{world.cell}/staff/{s['username']}", headers=world.admin)
    assert (
        client.put(f"/v1/cells/{world.cell}/staff/m.one", json={"duty": "manager"}, headers=world.admin).status_code
        == 200
    )
    _error(
        client.put(f"/v1/cells/{world.cell}/staff/m.two", json={"duty": "manager"}, headers=world.admin), 409, "duty"
    )


# --- compounds and the 责任公示牌 ----------------------------------------------------------------------


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 50), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_compound_details_and_board_with_a_portrait(client: TestClient, world: World) -> None:
    change = {
        "kind": "open",
        "households": 321,
        "wechat_group": "幸福小区邻里群",
        "committee": {
            "kind": "owners_committee",
            "members": [{"title": "主任", "name": "赵敏", "phone": "13700001111"}],
        },
    }
    r = client.patch(f"/v1/compounds/{world.compound}/details", json=change, headers=world.manager)
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "open" and r.json()["committee"]["members"][0]["name"] == "赵敏"
    _error(client.patch(f"/v1/compounds/{world.other_compound}/details", json=change, headers=world.manager), 403)
    bad = {"committee": {"kind": "owners_committee", "members": [{"title": "主任", "name": "赵敏", "phone": "abc"}]}}
    _error(
        client.patch(f"/v1/compounds/{world.compound}/details", json=bad, headers=world.manager),
        422,
        "committee.members[0].phone",
    )
    r = client.put(
        f"/v1/compounds/{world.compound}/contacts/police",
        json={"name": "孙警官", "phone": "0531-86005678"},
        headers=world.manager,
    )
    assert r.status_code == 200
    _error(
        client.put(f"/v1/compounds/{world.compound}/contacts/mayor", json={"name": "某"}, headers=world.manager),
        422,
        "duty",
    )
    up = client.post(
        f"/v1/compounds/{world.compound}/contacts/police/photo",
        files={"file": ("me.png", _png(), "image/png")},
        headers=world.manager,
    )
    assert up.status_code == 200, up.text
    url = next(c["photo_url"] for c in up.json()["contacts"] if c["duty"] == "police")
    assert url.startswith("/v1/contact-photos/")
    served = client.get(url)  # public, like the board
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    pdf = client.post(
        f"/v1/compounds/{world.compound}/contacts/police/photo",
        files={"file": ("x.png", b"%PDF-1.4 no image", "image/png")},
        headers=world.manager,
    )
    assert _error(pdf, 422)["error"] == "unsupported_media_type"
    board = client.get(f"/v1/compounds/{world.compound}", headers=world.admin).json()["properties"]["contacts"]
    assert any(c["duty"] == "police" and c["name"] == "孙警官" and c["photo_url"] == url for c in board)
    history = client.get(f"/v1/compounds/{world.compound}/contacts/history", headers=world.manager).json()
    assert len(history) == 2  # the new 民警, then the portrait
    assert history[0]["after"] != history[0]["before"]


# --- resources ------------------------------------------------------------------------------------------


def test_resource_with_structured_hours_and_its_checks(client: TestClient, world: World) -> None:
    body = {
        "type": "elderly_meal_point",
        "name": "燕翅山长者助餐点",
        "lon": INSIDE[0],
        "lat": INSIDE[1],
        "phone": "0531-86001111",
        "opening_hours": "Mo-Su 10:30-13:00; PH off",
        "features": ["助餐", "送餐"],
    }
    r = client.post("/v1/resources", json=body, headers=world.manager)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["community_code"] == MINE and made["hours_text"].startswith("周一至周日")
    assert made["open_now"] in (True, False)
    listed = client.get("/v1/resources", params={"type": "elderly_meal_point", "limit": 1000}).json()["features"]
    mine = next(f for f in listed if f["properties"]["code"] == made["code"])
    assert (
        mine["properties"]["open_now"] == made["open_now"] and mine["properties"]["osm_hours"] == body["opening_hours"]
    )
    bad_hours = client.post("/v1/resources", json={**body, "opening_hours": "周一至周日 10点半"}, headers=world.manager)
    assert "OpenStreetMap" in _error(bad_hours, 422, "opening_hours")["message"]
    far = client.post("/v1/resources", json={**body, "lon": 116.0, "lat": 39.9}, headers=world.manager)
    assert "街道" in _error(far, 422, "location")["message"]
    _error(client.post("/v1/resources", json={**body, "type": "casino"}, headers=world.manager), 422, "type")
    other = client.get("/v1/communities/" + OTHER, headers=world.admin).json()
    assert other  # the other community exists
    moved = client.patch(f"/v1/resources/{made['code']}", json={"lon": 117.0488, "lat": 36.6594}, headers=world.manager)
    _error(moved, 403)  # into the other community
    assert client.delete(f"/v1/resources/{made['code']}", headers=world.manager).status_code == 204
    assert client.get(f"/v1/resources/{made['code']}").status_code == 404


def test_hours_check_endpoint_says_why(client: TestClient) -> None:
    ok = client.post(
        "/v1/opening-hours/check", json={"opening_hours": "Mo-Fr 09:00-17:00; PH off", "at": "2026-10-02T10:00"}
    )
    assert ok.status_code == 200 and ok.json()["open_now"] is False
    bad = client.post("/v1/opening-hours/check", json={"opening_hours": "Mo-Fr 9-17h"})
    assert bad.status_code == 422 and "character" in bad.json()["message"]


# --- the party hierarchy --------------------------------------------------------------------------------


def test_party_hierarchy_from_community_to_member_household(client: TestClient, world: World, session: Session) -> None:
    existing = client.get("/v1/party-units", params={"community": MINE}, headers=world.manager).json()
    assert existing == []
    r = client.post(
        "/v1/party-units",
        json={
            "kind": "community_org",
            "name": "燕翅山社区党委",
            "community": MINE,
            "leader": "周书记",
            "phone": "13600001111",
        },
        headers=world.manager,
    )
    assert r.status_code == 201, r.text
    top = r.json()["code"]
    branch = client.post(
        "/v1/party-units",
        json={"kind": "compound_branch", "name": "一小区党支部", "parent": top, "compound": world.compound},
        headers=world.manager,
    ).json()
    group = client.post(
        "/v1/party-units",
        json={
            "kind": "building_group",
            "name": "1号楼党小组",
            "parent": branch["code"],
            "building": world.building,
            "leader": "吴组长",
        },
        headers=world.manager,
    ).json()
    home = client.post(
        "/v1/party-units",
        json={"kind": "member_household", "name": "2单元301 郑家", "parent": group["code"]},
        headers=world.manager,
    )
    assert home.status_code == 201 and home.json()["building_code"] == world.building
    session.expire_all()
    assert session.scalar(select(AdminArea.party_org).where(AdminArea.code == MINE)) == "燕翅山社区党委"
    assert session.scalar(select(Compound.party_branch).where(Compound.code == world.compound)) == "一小区党支部"
    b = session.scalar(select(Building).where(Building.code == world.building))
    assert b is not None and b.party_group_leader == "吴组长" and b.party_member_households == ["2单元301 郑家"]
    wrong = client.post(
        "/v1/party-units",
        json={"kind": "building_group", "name": "x", "parent": top, "building": world.building},
        headers=world.manager,
    )
    _error(wrong, 422, "parent")
    elsewhere = client.post(
        "/v1/party-units",
        json={"kind": "community_org", "name": "泉景社区党委", "community": OTHER},
        headers=world.manager,
    )
    _error(elsewhere, 403)
    _error(client.post(f"/v1/party-units/{top}/disable", headers=world.manager), 409)
    tree = client.get("/v1/party-units", params={"community": MINE}, headers=world.manager).json()
    assert [u["kind"] for u in tree] == ["community_org", "compound_branch", "building_group", "member_household"]


# --- audit trail ----------------------------------------------------------------------------------------


def test_every_change_is_audited_and_an_admin_reverts_one(client: TestClient, world: World, session: Session) -> None:
    code = world.compound
    before = client.get(f"/v1/compounds/{code}/details", headers=world.admin).json()
    client.patch(f"/v1/compounds/{code}/details", json={"households": 999}, headers=world.manager)
    client.patch(f"/v1/compounds/{code}/details", json={"households": 999}, headers=world.manager)  # no change: no row
    page = client.get(
        "/v1/audit/reference-changes", params={"table": "compounds", "key": code}, headers=world.admin
    ).json()
    assert page["numberMatched"] == 1
    row = page["items"][0]
    assert row["username"] == world.manager_user.username and row["action"] == "update"
    assert row["before"]["households"] == before["households"] and row["after"]["households"] == 999
    assert client.get("/v1/audit/reference-changes", headers=world.manager).status_code == 403
    reverted = client.post(f"/v1/audit/reference-changes/{row['id']}/revert", headers=world.admin)
    assert reverted.status_code == 200 and reverted.json()["reverts_id"] == row["id"]
    assert client.get(f"/v1/compounds/{code}/details", headers=world.admin).json()["households"] == before["households"]
    _error(client.post(f"/v1/audit/reference-changes/{row['id']}/revert", headers=world.admin), 409)
    bad = client.get("/v1/audit/reference-changes", params={"table": "nope"}, headers=world.admin)
    _error(bad, 422, "table")


def test_a_deleted_resource_and_a_created_account_are_reverted(
    client: TestClient, world: World, session: Session
) -> None:
    body = {"type": "repair", "name": "便民维修点", "lon": INSIDE[0], "lat": INSIDE[1], "opening_hours": "24/7"}
    code = client.post("/v1/resources", json=body, headers=world.admin).json()["code"]
    assert client.delete(f"/v1/resources/{code}", headers=world.admin).status_code == 204
    rows = client.get("/v1/audit/reference-changes", params={"key": code}, headers=world.admin).json()["items"]
    assert [r["action"] for r in rows] == ["delete", "create"]
    assert client.post(f"/v1/audit/reference-changes/{rows[0]['id']}/revert", headers=world.admin).status_code == 200
    back = client.get(f"/v1/resources/{code}").json()
    assert back["properties"]["name"] == "便民维修点" and back["geometry"]["coordinates"] == [INSIDE[0], INSIDE[1]]
    user = {"username": "temp.user", "password": "long-enough-1", "full_name": "临时", "role": "resident"}
    assert client.post("/v1/users", json=user, headers=world.admin).status_code == 201
    created = client.get("/v1/audit/reference-changes", params={"key": "temp.user"}, headers=world.admin).json()[
        "items"
    ][0]
    _error(client.post(f"/v1/audit/reference-changes/{created['id']}/revert", headers=world.admin), 409)
    assert session.scalar(select(User.is_active).where(User.username == "temp.user")) is True


def test_console_pages_are_local_shells_in_chinese(client: TestClient) -> None:
    for section in ("", "/users", "/organizations", "/staff", "/compounds", "/resources", "/party", "/audit"):
        r = client.get("/admin" + section)
        assert r.status_code == 200, section
        html = r.text
        assert 'lang="zh-CN"' in html and "基础数据管理" in html
        assert "<script>" not in html and "http://" not in html.replace("http://testserver", "")
    assert "leaflet" in client.get("/admin/resources").text
    assert client.get("/admin/nope").status_code == 404


def test_a_removed_staff_assignment_and_a_dissolved_party_unit_come_back(
    client: TestClient, world: World, session: Session
) -> None:
    worker = {"username": "gw.back", "password": "long-enough-1", "full_name": "丙", "role": "grid_worker"}
    assert (
        client.post("/v1/users", json={**worker, "jurisdiction": [world.cell]}, headers=world.admin).status_code == 201
    )
    body = {"duty": "worker", "duty_phone": "13900002222", "employment": "full_time"}
    assert client.put(f"/v1/cells/{world.cell}/staff/gw.back", json=body, headers=world.admin).status_code == 200
    assert client.delete(f"/v1/cells/{world.cell}/staff/gw.back", headers=world.admin).status_code == 204
    key = f"{world.cell}:gw.back"
    rows = client.get("/v1/audit/reference-changes", params={"key": key}, headers=world.admin).json()["items"]
    assert [r["action"] for r in rows] == ["delete", "create"]
    assert client.post(f"/v1/audit/reference-changes/{rows[0]['id']}/revert", headers=world.admin).status_code == 200
    staff = client.get("/v1/cell-staff", params={"cell": world.cell}, headers=world.admin).json()
    assert any(s["username"] == "gw.back" and s["employment"] == "full_time" for s in staff)

    top = client.post(
        "/v1/party-units", json={"kind": "community_org", "name": "社区党委", "community": MINE}, headers=world.admin
    ).json()["code"]
    assert client.post(f"/v1/party-units/{top}/disable", headers=world.admin).status_code == 200
    session.expire_all()
    assert session.scalar(select(AdminArea.party_org).where(AdminArea.code == MINE)) is None
    rows = client.get("/v1/audit/reference-changes", params={"key": top}, headers=world.admin).json()["items"]
    assert client.post(f"/v1/audit/reference-changes/{rows[0]['id']}/revert", headers=world.admin).status_code == 200
    session.expire_all()
    assert session.scalar(select(AdminArea.party_org).where(AdminArea.code == MINE)) == "社区党委"


def test_building_details_are_kept_to_the_community_and_audited(client: TestClient, world: World) -> None:
    r = client.patch(
        f"/v1/buildings/{world.building}/details", json={"households": 48, "floors": 6}, headers=world.manager
    )
    assert r.status_code == 200 and r.json()["households"] == 48
    _error(client.patch(f"/v1/buildings/{world.building}/details", json={"floors": -1}, headers=world.manager), 422)
    rows = client.get("/v1/audit/reference-changes", params={"table": "buildings"}, headers=world.admin).json()["items"]
    assert rows[0]["object_key"] == world.building and rows[0]["after"]["floors"] == 6
