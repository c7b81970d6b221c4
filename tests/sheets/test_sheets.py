"""Reference sheets: templates that Excel (openpyxl) and pandas read, exports that re-import as "no change",
bad rows reported by row and column with nothing written, GBK CSVs, placement by compound name, jurisdiction."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.models import CellStaff, Organization, ServiceResource, User

SHEETS = ("organizations", "users", "staff", "compounds", "contacts", "buildings", "resources")
COMMUNITY = "370102010001"
URL = "/v1/reference/sheets"

MakeUser = Callable[..., tuple[User, dict[str, str]]]


@pytest.fixture()
def admin(make_user: MakeUser) -> dict[str, str]:
    return make_user("admin")[1]


def _csv(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def _upload(
    client: TestClient, headers: dict[str, str], sheet: str, data: bytes, step: str, name: str = "x.csv"
) -> Any:
    return client.post(f"{URL}/{sheet}/{step}", files={"file": (name, data)}, headers=headers)


def test_template_has_chinese_headers_and_an_explanation_sheet(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get(f"{URL}/staff/template", headers=admin)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["网格员名单", "说明"]
    assert [c.value for c in wb["网格员名单"][1]] == ["网格编码*", "网格名称", "职责*", "用户名*", "姓名", "公示电话"]
    notes = {row[0]: row for row in wb["说明"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert "网格长" in notes["职责"][3] and notes["网格编码"][1] == "是"
    catalogue = client.get(URL, headers=admin).json()
    assert {s["name"] for s in catalogue} == set(SHEETS)


@pytest.mark.parametrize("sheet", SHEETS)
def test_an_export_reimports_as_no_change(client: TestClient, admin: dict[str, str], sheet: str) -> None:
    fmt = "csv" if sheet in ("buildings", "contacts") else "xlsx"  # the big ones as CSV: quicker
    r = client.get(f"{URL}/{sheet}/export", params={"format": fmt}, headers=admin)
    assert r.status_code == 200
    frame = pd.read_csv(io.BytesIO(r.content)) if fmt == "csv" else pd.read_excel(io.BytesIO(r.content))
    assert len(frame) > 0 and frame.columns[0].endswith("*")  # pandas reads it: header, then one row per item
    report = _upload(client, admin, sheet, r.content, "preview", f"{sheet}.{fmt}").json()
    assert report["errors"] == [] and report["created"] == [] and report["updated"] == []
    assert report["unchanged"] == report["rows"] == len(frame)
    committed = _upload(client, admin, sheet, r.content, "commit", f"{sheet}.{fmt}").json()
    assert committed["committed"] and committed["unchanged"] == len(frame)
    if sheet == "users":  # the accounts' own phones are personal data: the export is on the reads audit
        reads = client.get("/v1/audit/personal-data-reads", headers=admin).json()["items"]
        assert any(r["subject"] == "users" and "phone" in r["fields"] for r in reads)


def test_bad_rows_are_listed_by_row_and_column_and_nothing_is_written(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    before = session.scalar(select(func.count()).select_from(User))
    rows = [
        ["用户名", "姓名", "角色", "所属单位编码", "辖区编码", "手机", "初始密码"],
        ["new-worker-1", "王小明", "网格员", "", COMMUNITY, "13800000001", "password-1"],  # fine
        ["new-worker-2", "李四", "网格员", "", "370102019999", "13800000002", "password-2"],  # unknown community
        ["new-worker-3", "张三", "网格员", "", COMMUNITY, "138-0000", "password-3"],  # bad phone
        ["new-worker-1", "王小明", "网格员", "", COMMUNITY, "13800000001", "password-1"],  # duplicate
        ["new-prop-1", "赵物业", "物业人员", "NO-SUCH-CO", "", "", "password-4"],  # unknown property company
        ["new-worker-5", "钱五", "网管", "", "", "", "password-5"],  # unknown role
    ]
    r = _upload(client, admin, "users", _csv(rows), "commit")
    assert r.status_code == 422
    errors = {(e["row"], e["column"]) for e in r.json()["detail"]["errors"]}
    assert errors == {(3, "辖区编码"), (4, "手机"), (5, "用户名"), (6, "所属单位编码"), (7, "角色")}
    messages = " ".join(e["message"] for e in r.json()["detail"]["errors"])
    assert "370102019999" in messages and "11 位手机号" in messages and "与第 2 行重复" in messages
    assert session.scalar(select(func.count()).select_from(User)) == before  # not even the good row

    compounds = [["小区编码", "小区名称", "物业公司编码"], ["NO-SUCH-COMPOUND", "无名小区", ""]]
    code, name = session.execute(text("SELECT code, name FROM compounds ORDER BY code LIMIT 1")).one()
    compounds.append([code, name, "NO-SUCH-CO"])
    errors = _upload(client, admin, "compounds", _csv(compounds), "preview").json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "小区编码"), (3, "物业公司编码")]
    assert "plans import" in errors[0]["message"]


def test_coordinates_outside_the_street_and_unplaced_rows(client: TestClient, admin: dict[str, str]) -> None:
    rows = [
        ["资源编码", "类型", "名称", "开放时间", "所在小区/楼栋", "经度", "纬度"],
        ["T-OUT-1", "社区食堂", "远方食堂", "每天 07:00-19:00", "", "116.3", "39.9"],  # Beijing
        ["T-NOWHERE", "便民维修", "无址维修点", "", "没有这个小区", "", ""],
        ["T-HOURS", "便民超市", "超市", "早上八点到晚上", "", "", ""],
    ]
    report = _upload(client, admin, "resources", _csv(rows), "preview").json()
    by_row = {e["row"]: e for e in report["errors"]}
    assert "不在本街道内" in by_row[2]["message"] and by_row[2]["column"] == "经度"
    assert [u["row"] for u in report["unplaced"]] == [3] and report["unplaced"][0]["name"] == "无址维修点"
    assert by_row[4]["column"] == "营业时间" and "周一至周五" in by_row[4]["message"]


def test_onboarding_sheets_in_order_then_locate_answers_with_them(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    """Organizations (GBK CSV), users, staff and a resource placed by its compound's name: /v1/locate shows them."""
    org = [["单位编码", "单位名称", "单位类型", "电话"], ["WY-NEW", "新城物业", "物业公司", "0531-88886666"]]
    assert _upload(client, admin, "organizations", _csv(org, "gbk"), "commit").status_code == 200
    assert session.scalar(select(Organization.name).where(Organization.code == "WY-NEW")) == "新城物业"

    cell, compound, compound_name, lon, lat = session.execute(
        text(
            "SELECT x.cell_code, x.code, x.name, ST_X(ST_PointOnSurface(x.geom)), ST_Y(ST_PointOnSurface(x.geom)) "
            "FROM compounds x WHERE x.code LIKE :c || '%' "
            "AND (SELECT count(*) FROM compounds y WHERE y.name = x.name) = 1 "
            "ORDER BY x.code LIMIT 1"
        ),
        {"c": COMMUNITY},
    ).one()
    users = [
        ["用户名", "姓名", "角色", "辖区编码", "初始密码"],
        ["wg-new-1", "周网格", "网格员", cell, "password-1"],
    ]
    preview = _upload(client, admin, "users", _csv(users), "preview").json()
    assert preview["created"] == ["wg-new-1"] and preview["ok"]
    assert _upload(client, admin, "users", _csv(users), "commit").status_code == 200
    staff = [["网格编码", "职责", "用户名", "公示电话"], [cell, "网格员", "wg-new-1", "13900001111"]]
    assert _upload(client, admin, "staff", _csv(staff), "commit").status_code == 200
    resources = [
        ["资源编码", "类型", "名称", "开放时间", "所在小区/楼栋"],
        ["T-NEW-1", "24小时驿站", "新驿站", "全天开放", compound_name],
    ]
    report = _upload(client, admin, "resources", _csv(resources), "commit").json()
    assert report["created"] == ["T-NEW-1"] and report["placed"][0]["placed_on"] == compound_name
    board = [["小区编码", "职责", "姓名", "电话"], [compound, "物业管家", "孙管家", "13700001111"]]
    updated = _upload(client, admin, "contacts", _csv(board), "commit").json()["updated"]
    assert updated[0]["changes"]["姓名"][1] == "孙管家"
    compounds = [["小区编码", "小区名称", "物业公司编码"], [compound, compound_name, "WY-NEW"]]
    assert _upload(client, admin, "compounds", _csv(compounds), "commit").status_code == 200

    where = client.get("/v1/locate", params={"lon": lon, "lat": lat, "per_type": 1}).json()
    assert "周网格" in [w["name"] for w in where["cell"]["workers"]]
    assert {"name": "周网格", "phone": "13900001111"}.items() <= next(
        w for w in where["cell"]["workers"] if w["name"] == "周网格"
    ).items()
    assert where["compound"]["property_company"]["name"] == "新城物业"
    steward = next(c for c in where["compound"]["contacts"] if c["duty"] == "property_steward")
    assert steward["name"] == "孙管家"
    station = next(r for r in where["resources"] if r["type"] == "station_24h")
    assert station["name"] == "新驿站" and station["distance_m"] < 1 and station["open_now"] is True
    placed = session.scalar(select(ServiceResource.cell_code).where(ServiceResource.code == "T-NEW-1"))
    assert placed == cell


def test_exports_keep_formulas_as_text(client: TestClient, admin: dict[str, str]) -> None:
    org = [["单位编码", "单位名称", "单位类型"], ["EVIL-1", '=HYPERLINK("http://x.invalid","点我")', "社会组织"]]
    assert _upload(client, admin, "organizations", _csv(org), "commit").status_code == 200
    r = client.get(f"{URL}/organizations/export", headers=admin)
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["单位名单"]
    cell = next(row[1] for row in ws.iter_rows(min_row=2) if row[0].value == "EVIL-1")
    assert cell.data_type == "s" and str(cell.value).startswith("'=")
    again = _upload(client, admin, "organizations", r.content, "preview", "orgs.xlsx").json()
    assert again["updated"] == [] and again["created"] == []  # the quote is ours: read back as the same name


def test_a_manager_keeps_to_their_jurisdiction(client: TestClient, make_user: MakeUser, session: Session) -> None:
    _, manager = make_user("manager", jurisdiction=[COMMUNITY])
    assert client.get(f"{URL}/users/export", headers=manager).status_code == 403
    exported = client.get(f"{URL}/staff/export", params={"format": "csv"}, headers=manager).content.decode("utf-8-sig")
    cells = {row[0] for row in list(csv.reader(io.StringIO(exported)))[1:]}
    assert cells and all(c.startswith(COMMUNITY) for c in cells)
    outside = session.scalar(
        select(CellStaff.cell_code).where(~CellStaff.cell_code.startswith(COMMUNITY)).order_by(CellStaff.cell_code)
    )
    worker = session.scalar(select(User.username).where(User.role == "grid_worker").order_by(User.id))
    staff = [["网格编码", "职责", "用户名"], [outside, "网格员", worker]]
    errors = _upload(client, manager, "staff", _csv(staff), "commit").json()["detail"]["errors"]
    assert errors[0]["column"] == "网格编码" and "不在你的辖区" in errors[0]["message"]
    # a resource of another community: its code is not the manager's to reuse (and not a 500)
    code, lon, lat = session.execute(
        text(
            "SELECT r.code, ST_X(r.geom), ST_Y(r.geom) FROM service_resources r JOIN admin_areas a "
            "ON a.id = r.community_id WHERE a.code <> :c ORDER BY r.code LIMIT 1"
        ),
        {"c": COMMUNITY},
    ).one()
    resource = [["资源编码", "类型", "名称", "经度", "纬度"], [code, "便民维修", "改名", lon, lat]]
    r = _upload(client, manager, "resources", _csv(resource), "commit")
    assert r.status_code == 422 and "辖区外" in r.json()["detail"]["errors"][0]["message"]
