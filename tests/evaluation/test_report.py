"""The 通报: Word opens with python-docx and holds the expected tables, Excel round-trips through openpyxl and
pandas, the HTML page is A4 with its map; 议事协商 is counted; the endpoint serves the stored report."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.evaluation import consultations, report
from gis.evaluation.report_docx import report_docx
from gis.evaluation.report_xlsx import SHEETS, report_xlsx
from gis.evaluation.units import Period
from gis.models import User
from gis.notify.models import NotifyPreference, OutboxMessage
from gis.tickets.sla import SHANGHAI
from maps.report_page import report_page
from tests.evaluation.conftest import World

JAN = Period.month("2026-01")
Maker = Callable[..., tuple[Any, dict[str, str]]]


def _lift_topic(session: Session, world: World, admin: User) -> int:
    topic = consultations.create_topic(session, admin, world.compound, title="加装电梯", description=None,
                                       ticket_ids=[world.ids["T3"]])  # fmt: skip
    for k, (agree, when) in enumerate([(13, "2025-12-10"), (20, "2026-01-12")]):
        consultations.add_meeting(
            session, admin, topic["id"], held_at=datetime.fromisoformat(when + " 19:00").replace(tzinfo=SHANGHAI),
            place="小区议事厅", attendance=20, agree=agree, disagree=20 - agree, abstain=0, minutes=f"第{k + 1}轮",
            photo_ids=[],
        )  # fmt: skip
    return int(topic["id"])


def test_word_excel_and_html_hold_the_figures(session: Session, world: World, make_user: Maker) -> None:
    admin, _ = make_user("admin")
    _lift_topic(session, world, admin)
    data = report.build_report(session, world.street, "monthly", JAN)
    assert data["title"] == "测试街道物业工单月度通报"
    assert data["figures"]["received"] == 6 and data["figures"]["hotline_change"] == 1.0
    assert [w["key"] for w in data["worst_cells"]] == [world.right, world.left]  # 0 % solved before 80 %
    assert data["consultations"][0]["first_agreement_rate"] == 0.65
    assert data["consultations"][0]["last_agreement_rate"] == 1.0

    doc = Document(io.BytesIO(report_docx(data, report.map_png(session, data))))
    summary = doc.tables[0]
    assert [c.text for c in summary.rows[0].cells] == ["指标", "本期", "上期", "变化"]
    assert [c.text for c in summary.rows[1].cells][:2] == ["受理数", "6"]
    texts = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    assert any(r[:2] == ["测试花园", "加装电梯"] and r[5:] == ["65.00%", "100.00%"] for r in texts)
    assert len(doc.inline_shapes) == 1  # the map

    xlsx = report_xlsx(data)
    assert load_workbook(io.BytesIO(xlsx)).sheetnames == list(SHEETS)
    cells = pd.read_excel(io.BytesIO(xlsx), sheet_name="问题网格", dtype={"网格编码": str})
    assert list(cells["网格编码"]) == [world.right, world.left] and list(cells["受理数"]) == [1, 5]
    summary_df = pd.read_excel(io.BytesIO(xlsx), sheet_name="概况")
    assert summary_df.iloc[0].tolist()[:2] == ["受理数", 6]

    html = report_page(data)
    assert "size: A4" in html and "<svg" in html and "<script" not in html
    assert html.count("<polygon") == 2 and "测试第1网格(重划)" in html


def test_stored_report_is_served_as_written(client: TestClient, session: Session, world: World,
                                           make_user: Maker) -> None:  # fmt: skip
    _, admin = make_user("admin")
    _, resident = make_user("resident")
    q = {"street": world.street, "period": "2026-01"}
    live = client.get("/v1/reports/monthly", params=q, headers=admin).json()
    assert live["stored"] is False and live["figures"]["received"] == 6
    written = client.get("/v1/reports/monthly", params={**q, "refresh": "true"}, headers=admin).json()
    assert written["stored"] is True
    docx = client.get("/v1/reports/monthly/file", params={**q, "format": "docx"}, headers=admin)
    assert docx.status_code == 200 and Document(io.BytesIO(docx.content)).tables
    html = client.get("/v1/reports/monthly/file", params=q, headers=admin)
    assert html.headers["content-type"].startswith("text/html") and "测试街道" in html.text
    assert client.get("/v1/reports/monthly", params=q, headers=resident).status_code == 403
    bad = client.get("/v1/reports/quarterly", params={**q, "period": "2026-13"}, headers=admin)
    assert bad.status_code == 422 and "YYYY-Qn" in bad.json()["message"]


def test_scheduler_writes_last_month_and_the_quarter(session: Session, world: World) -> None:
    done = report.scheduled_reports(session, today=datetime(2026, 1, 1).date())
    assert f"monthly {world.street} 2025-12" in done and f"quarterly {world.street} 2025-Q4" in done
    assert report.stored(session, world.street, "monthly", Period.month("2025-12")) is not None


def test_consultation_endpoints(client: TestClient, world: World, make_user: Maker) -> None:
    _, manager = make_user("manager", jurisdiction=[world.community])
    _, outsider = make_user("manager", jurisdiction=["990000000002"])
    r = client.post(f"/v1/compounds/{world.compound}/consultations", json={"title": "加装电梯"}, headers=manager)
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    m = {"held_at": "2026-01-05T19:00", "attendance": 20, "agree": 13, "disagree": 7}
    assert client.post(f"/v1/consultations/{tid}/meetings", json=m, headers=manager).json()["rounds"] == 1
    topic = client.post(f"/v1/consultations/{tid}/meetings", json={**m, "agree": 20, "disagree": 0},
                        headers=manager).json()  # fmt: skip
    assert [x["agreement_rate"] for x in topic["meetings"]] == [0.65, 1.0]
    over = client.post(f"/v1/consultations/{tid}/meetings", json={**m, "agree": 21}, headers=manager)
    assert over.status_code == 422 and "attendance" in over.json()["message"]
    done = client.patch(f"/v1/consultations/{tid}", json={"status": "agreed", "outcome": "全票通过"}, headers=manager)
    assert done.json()["status"] == "agreed"
    assert client.get(f"/v1/consultations/{tid}", headers=outsider).status_code == 403
    assert client.post(f"/v1/compounds/{world.compound}/consultations", json={"title": "x", "ticket_ids": [2**30]},
                       headers=manager).status_code == 422  # fmt: skip


def test_a_written_report_is_handed_to_the_outbox_once(session: Session, world: World, make_user: Maker) -> None:
    """The 街道's admins and managers get an inbox message with the report's links (managers with an e-mail
    preference an e-mail too); a manager of another 街道 gets nothing; re-writing the month sends nothing new."""
    ours, _ = make_user("manager", jurisdiction=[world.community])
    mailed, _ = make_user("manager", jurisdiction=[world.street])
    session.add(NotifyPreference(user_id=mailed.id, email="jiedao@example.org", muted=[]))
    other, _ = make_user("manager", jurisdiction=["110101001"])
    gone, _ = make_user("admin")
    gone.is_active = False
    session.flush()
    report.write_report(session, world.street, "monthly", JAN)
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.event == "report_ready")).all()
    admins = set(session.scalars(select(User.id).where(User.role == "admin", User.is_active.is_(True))))
    assert {(r.user_id, r.channel) for r in rows} == {
        *((a, "inbox") for a in admins), (ours.id, "inbox"), (mailed.id, "inbox"), (mailed.id, "email")
    }  # fmt: skip
    assert other.id not in {r.user_id for r in rows} and gone.id not in {r.user_id for r in rows}
    inbox = next(r for r in rows if r.user_id == ours.id)
    assert inbox.title == "测试街道 2026-01 月度通报" and inbox.status == "delivered"
    assert inbox.link is not None and inbox.link.endswith(
        f"/v1/reports/monthly/file?street={world.street}&period=2026-01"
    )
    assert "format=docx" in inbox.body and "format=xlsx" in inbox.body
    email = next(r for r in rows if r.channel == "email")
    assert email.address == "jiedao@example.org" and email.status == "queued"

    report.write_report(session, world.street, "monthly", JAN)  # the month re-run: nothing new
    again = session.scalars(select(OutboxMessage).where(OutboxMessage.event == "report_ready")).all()
    assert sorted(r.id for r in again) == sorted(r.id for r in rows)
    assert report.hand_report_to_outbox(session, report.stored(session, world.street, "monthly", JAN)) is False  # type: ignore[arg-type]
