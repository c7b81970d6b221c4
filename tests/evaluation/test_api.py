"""The KPI endpoints over the hand-built tickets: figures, the link behind each figure, exports, jurisdiction."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from gis.models import utcnow
from gis.tickets.sla import SHANGHAI
from tests.evaluation.conftest import World

JAN = {"from": "2026-01-01", "to": "2026-01-31"}
Maker = Callable[..., tuple[Any, dict[str, str]]]


def test_every_figure_links_to_exactly_its_tickets(client: TestClient, world: World, make_user: Maker) -> None:
    _, admin = make_user("admin")
    r = client.get("/v1/kpis", params={"unit": "cell", "code": world.left, **JAN}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["figures"]["received"] == 5 and body["labels"]["response_rate"] == "响应率"
    for kpi in ("received", "solved", "satisfied", "hotline_last_year", "response_rate"):
        page = client.get(body["links"][kpi], headers=admin).json()
        num = kpi if kpi != "response_rate" else "responded_in_sla"
        assert page["numberMatched"] == len(page["items"]) == body["figures"][num], kpi


def test_breakdown_and_exports_with_chinese_headers(client: TestClient, world: World, make_user: Maker) -> None:
    _, admin = make_user("admin")
    q = {"unit": "street", "code": world.street, **JAN}
    rows = client.get("/v1/kpis/breakdown", params={**q, "by": "cell"}, headers=admin).json()["rows"]
    assert [(r["key"], r["figures"]["received"]) for r in rows] == [(world.left, 5), (world.right, 1)]
    assert rows[0]["name"] == "测试第1网格(重划)"
    xlsx = client.get("/v1/kpis/export", params={**q, "by": "cell", "format": "xlsx"}, headers=admin)
    assert xlsx.status_code == 200
    df = pd.read_excel(io.BytesIO(xlsx.content), dtype={"网格": str})
    assert list(df["网格"]) == [world.left, world.right] and list(df["受理数"]) == [5, 1]
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["考核指标"]
    csv = client.get("/v1/kpis/export", params=q, headers=admin)
    assert csv.content.startswith("\ufeff受理数,".encode())
    geo = client.get("/v1/kpis/map", params={**q, "kpi": "solve_rate"}, headers=admin).json()
    values = {f["properties"]["code"]: f["properties"]["value"] for f in geo["features"]}
    assert values == {world.left: 0.8, world.right: 0.0}  # R, closed on 01-15, still carries its ticket


def test_jurisdiction(client: TestClient, world: World, make_user: Maker) -> None:
    _, worker = make_user("grid_worker", jurisdiction=[world.left])
    _, other = make_user("manager", jurisdiction=["990000000002"])
    _, p1 = make_user("property", organization_id=world.p1.id)
    assert client.get("/v1/kpis", params={"unit": "cell", "code": world.left, **JAN}, headers=worker).status_code == 200
    assert (
        client.get("/v1/kpis", params={"unit": "cell", "code": world.right, **JAN}, headers=worker).status_code == 403
    )
    assert (
        client.get("/v1/kpis", params={"unit": "street", "code": world.street, **JAN}, headers=other).status_code == 403
    )
    own = client.get("/v1/kpis", params={"unit": "property", "code": "KPI-P1", **JAN}, headers=p1)
    assert own.json()["figures"]["received"] == 1
    assert client.get("/v1/kpis", params={"unit": "property", "code": "KPI-P2", **JAN}, headers=p1).status_code == 403
    bad = client.get("/v1/kpis", params={"unit": "cell", "code": world.left, "from": "2026-02-01", "to": "2026-01-01"},
                     headers=worker)  # fmt: skip
    assert bad.status_code == 422 and "before" in bad.json()["message"]
    unknown = client.get("/v1/kpis/tickets", params={"unit": "cell", "code": world.left, "kpi": "nope", **JAN},
                         headers=worker)  # fmt: skip
    assert unknown.status_code == 422 and "solved" in unknown.json()["message"]


def test_a_resident_drops_a_suggestion_in_the_box_and_it_counts(
    client: TestClient, world: World, make_user: Maker
) -> None:
    """意见箱 (E4): a channel residents may use; the KPIs count it as a suggestion with its own 整改率."""
    _, resident = make_user("resident", phone="13800000009")
    _, admin = make_user("admin")
    body = {"category": "garbage", "description": "建议增设垃圾分类亭", "lon": 100.005, "lat": 30.005,
            "channel": "suggestion"}  # fmt: skip
    r = client.post("/v1/tickets", json=body, headers=resident)
    assert r.status_code == 201, r.text
    today = utcnow().astimezone(SHANGHAI).date().isoformat()
    q = {"unit": "cell", "code": world.left, "from": today, "to": today}
    fig = client.get("/v1/kpis", params=q, headers=admin).json()["figures"]
    assert (fig["suggestions"], fig["suggestions_rectified"], fig["rectify_rate"]) == (1, 0, 0.0)


def test_periods_out_of_range_are_a_clear_422(client: TestClient, world: World, make_user: Maker) -> None:
    _, admin = make_user("admin")
    q = {"unit": "cell", "code": world.left}
    r = client.get("/v1/kpis", params={**q, "from": "0001-01-01", "to": "0001-01-31"}, headers=admin)
    assert r.status_code == 422 and "2001–2100" in r.json()["message"]
    r = client.get("/v1/reports/monthly", params={"street": world.street, "period": "9999-12"}, headers=admin)
    assert r.status_code == 422 and "YYYY-MM" in r.json()["message"]
    r = client.get("/v1/kpis", params={**q, "from": "2024-01-01", "to": "2027-12-31"}, headers=admin)
    assert r.status_code == 422 and "at most" in r.json()["message"]


def test_a_basic_breakdown_gives_the_ticket_figures_only(client: TestClient, world: World, make_user: Maker) -> None:
    _, admin = make_user("admin")
    q = {"unit": "street", "code": world.street, "from": "2025-01-01", "to": "2026-01-31", "by": "month"}
    full = client.get("/v1/kpis/breakdown", params=q, headers=admin).json()["rows"]
    basic = client.get("/v1/kpis/breakdown", params={**q, "figures": "basic"}, headers=admin).json()["rows"]
    assert [r["key"] for r in basic] == [r["key"] for r in full] == ["2025-01", "2026-01"]
    for b, f in zip(basic, full, strict=True):
        assert {k: b["figures"][k] for k in ("received", "solved", "solve_rate", "hotline", "rectify_rate")} == {
            k: f["figures"][k] for k in ("received", "solved", "solve_rate", "hotline", "rectify_rate")
        }
    assert basic[1]["figures"]["median_hours"] is None and full[1]["figures"]["median_hours"] == 11.0
