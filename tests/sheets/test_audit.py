"""Sheets and the reference data are one product: every sheet write leaves a row in the reference audit trail
(who, before / after), revertable there; a re-import that changes nothing leaves none; the 营业时间 column takes
OSM opening_hours (or the Chinese phrasing, converted) and exports it back unchanged; a row the gis.reference
checks refuse is reported by row and column already in the preview."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.models import Compound, Organization, ServiceResource, User

URL = "/v1/reference/sheets"
CHANGES = "/v1/audit/reference-changes"
COMMUNITY = "370102010001"
MakeUser = Callable[..., tuple[User, dict[str, str]]]


def _csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def _post(client: TestClient, headers: dict[str, str], sheet: str, data: bytes, step: str = "commit") -> Any:
    return client.post(f"{URL}/{sheet}/{step}", files={"file": ("x.csv", data)}, headers=headers)


def _changes(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    body = client.get(CHANGES, params={"limit": 100, **params}, headers=headers).json()
    items: list[dict[str, Any]] = body["items"]
    return items


def test_sheet_writes_are_audited_and_revertable(client: TestClient, make_user: MakeUser, session: Session) -> None:
    user, admin = make_user("admin")
    org = [["单位编码", "单位名称", "单位类型", "电话"], ["WY-AUD", "审计物业", "物业公司", "0531-88881234"]]
    assert _post(client, admin, "organizations", _csv(org)).status_code == 200
    created = _changes(client, admin, table="organizations", key="WY-AUD")
    assert [(c["action"], c["username"]) for c in created] == [("create", user.username)]
    assert created[0]["before"] is None and created[0]["after"]["name"] == "审计物业"

    total = client.get(CHANGES, headers=admin).json()["numberMatched"]
    assert _post(client, admin, "organizations", _csv(org)).json()["unchanged"] == 1
    assert client.get(CHANGES, headers=admin).json()["numberMatched"] == total  # a no-op import: no row

    org[1][1] = "审计物业（新）"
    assert _post(client, admin, "organizations", _csv(org)).json()["updated"]
    update = _changes(client, admin, table="organizations", key="WY-AUD")[0]
    assert update["action"] == "update" and update["before"]["name"] == "审计物业"
    assert update["after"]["name"] == "审计物业（新）"
    assert client.post(f"{CHANGES}/{update['id']}/revert", headers=admin).status_code == 200
    session.expire_all()
    assert session.scalar(select(Organization.name).where(Organization.code == "WY-AUD")) == "审计物业"

    # a sheet the engine audits itself (compounds): the same trail, the same revert
    code, name, households = session.execute(
        text("SELECT code, name, households FROM compounds WHERE code LIKE :c || '%' ORDER BY code LIMIT 1"),
        {"c": COMMUNITY},
    ).one()
    rows = [["小区编码", "小区名称", "户数"], [code, name, households + 7]]
    assert _post(client, admin, "compounds", _csv(rows)).status_code == 200
    change = _changes(client, admin, table="compounds", key=code)[0]
    assert change["community_code"] == COMMUNITY and change["username"] == user.username
    assert change["after"]["households"] - change["before"]["households"] == 7
    assert client.post(f"{CHANGES}/{change['id']}/revert", headers=admin).status_code == 200
    session.expire_all()
    assert session.scalar(select(Compound.households).where(Compound.code == code)) == households

    # a sheet with writes of its own (buildings): the engine records the row, and it reverts the same way
    building, b_name, compound, floors = session.execute(
        text(
            "SELECT b.code, b.name, x.code, b.floors FROM buildings b JOIN compounds x ON x.id = b.compound_id "
            "WHERE x.code LIKE :c || '%' ORDER BY b.code LIMIT 1"
        ),
        {"c": COMMUNITY},
    ).one()
    rows = [["楼栋编码", "楼栋名称", "所属小区编码", "层数"], [building, b_name, compound, (floors or 6) + 1]]
    assert _post(client, admin, "buildings", _csv(rows)).status_code == 200
    change = _changes(client, admin, table="buildings", key=building)[0]
    assert change["action"] == "update" and change["after"]["floors"] == (floors or 6) + 1
    assert change["before"]["floors"] == floors and change["username"] == user.username
    assert client.post(f"{CHANGES}/{change['id']}/revert", headers=admin).status_code == 200


def test_resource_hours_are_osm_and_round_trip(client: TestClient, make_user: MakeUser, session: Session) -> None:
    _, admin = make_user("admin")
    lon, lat = session.execute(
        text("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM admin_areas WHERE code = :c"),
        {"c": COMMUNITY},
    ).one()
    rows = [
        ["资源编码", "类型", "名称", "营业时间", "经度", "纬度"],
        ["T-OSM-1", "便民超市", "甲超市", "周一至周五 08:30-17:30；周六 09:00-12:00", lon, lat],
        ["T-OSM-2", "便民维修", "乙维修", "Mo-Su 08:00-20:00; PH off", lon, lat],
    ]
    assert _post(client, admin, "resources", _csv(rows)).status_code == 200
    stored = dict(
        session.execute(
            select(ServiceResource.code, ServiceResource.osm_hours).where(ServiceResource.code.like("T-OSM-%"))
        ).all()
    )
    assert stored == {"T-OSM-1": "Mo-Fr 08:30-17:30; Sa 09:00-12:00", "T-OSM-2": "Mo-Su 08:00-20:00; PH off"}
    text_of = session.scalar(select(ServiceResource.opening_hours).where(ServiceResource.code == "T-OSM-1"))
    assert text_of == "周一至周五 08:30-17:30；周六 09:00-12:00"  # derived by gis.reference for boards and popups
    created = _changes(client, admin, table="service_resources", key="T-OSM-1")
    assert created[0]["action"] == "create" and created[0]["after"]["osm_hours"] == stored["T-OSM-1"]

    exported = client.get(f"{URL}/resources/export", headers=admin).content
    ws = openpyxl.load_workbook(io.BytesIO(exported)).active
    assert ws is not None
    header = [c.value for c in ws[1]]
    col = header.index("营业时间")
    hours = {r[0]: r[col] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert hours["T-OSM-1"] == "Mo-Fr 08:30-17:30; Sa 09:00-12:00"
    assert all(h is None or "周" not in str(h) for h in hours.values())  # the demo's hours are OSM too
    again = client.post(f"{URL}/resources/preview", files={"file": ("r.xlsx", exported)}, headers=admin).json()
    assert again["updated"] == [] and again["created"] == [] and again["errors"] == []


def test_reference_checks_reach_the_preview(client: TestClient, make_user: MakeUser, session: Session) -> None:
    """A department without a known 业务类别 (ticket routing needs it): refused by gis.reference, shown by row
    and column in the preview, and the commit writes nothing."""
    _, admin = make_user("admin")
    rows = [
        ["单位编码", "单位名称", "单位类型", "业务类别", "电话"],
        ["DEP-OK", "好部门", "社会组织", "", "(0531)86001234"],
        ["DEP-BAD", "坏部门", "职能部门", "no_such_type", ""],
    ]
    report = _post(client, admin, "organizations", _csv(rows), "preview").json()
    assert not report["ok"]
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "业务类别")]
    assert "unit_type" in report["errors"][0]["message"]
    assert _post(client, admin, "organizations", _csv(rows)).status_code == 422
    assert session.scalar(select(Organization.id).where(Organization.code.in_(["DEP-OK", "DEP-BAD"]))) is None
