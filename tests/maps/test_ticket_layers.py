"""Ticket layers of the operations map: per-cell counts, points and heat by bbox, always within the
user's jurisdiction, with category / state / date filters (bad values are a JSON 422)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.mapdata import (
    TicketFilters,
    cell_metric_features,
    service_area_bounds,
    ticket_heat,
    ticket_points,
    ticket_scope,
)
from gis.mapdata.operations import quantile_breaks
from gis.models import User
from gis.resources import SHANGHAI
from gis.tickets.models import Ticket
from gis.tickets.queries import overdue_clause
from gis.tickets.workflow import OPEN_STATES

Maker = Callable[..., tuple[Any, dict[str, str]]]
ADMIN = User(id=0, username="map-test", full_name="地图测试", role="admin", jurisdiction=[])


def everywhere(session: Session) -> tuple[float, float, float, float]:
    box = service_area_bounds(session)
    assert box is not None
    return box


def bbox_param(session: Session) -> str:
    return ",".join(f"{v:.6f}" for v in everywhere(session))


def busiest_cell(session: Session) -> str:
    n = func.count()
    code = session.scalar(select(Ticket.cell_code).group_by(Ticket.cell_code).order_by(n.desc(), Ticket.cell_code))
    assert code
    return code


def test_cells_count_open_and_overdue_tickets_in_one_grouped_query(session: Session) -> None:
    box = everywhere(session)
    scope = ticket_scope(session, ADMIN, TicketFilters())
    for metric, clause in (
        ("open_tickets", Ticket.state.in_(sorted(OPEN_STATES))),
        ("overdue_tickets", overdue_clause(scope.now)),
    ):
        fc = cell_metric_features(session, bbox=box, metric=metric, scope=None, tickets=scope)
        grouped = select(Ticket.cell_code, func.count()).where(clause).group_by(Ticket.cell_code)
        expected = dict(session.execute(grouped).tuples().all())
        shown = {f["properties"]["code"]: f["properties"]["value"] for f in fc["features"]}
        assert sum(shown.values()) > 0, metric
        assert {c: v for c, v in shown.items() if v} == {c: n for c, n in expected.items() if c in shown}
        assert fc["metric"]["label"] in ("未办结工单", "超期工单") and fc["metric"]["unit"] == "件"
        assert len(fc["metric"]["colours"]) == len(fc["metric"]["breaks"]) + 1
    nobody = cell_metric_features(session, bbox=box, metric="open_tickets", scope=None, tickets=None)
    assert all(f["properties"]["value"] == 0 for f in nobody["features"]), "no scope: no ticket is counted"


def test_quantile_breaks_follow_percentile_disc(session: Session) -> None:
    values = [0, 0, 0, 1, 2, 3, 4, 5, 9, 20]
    v = func.unnest(values).column_valued("v")
    sql = session.scalar(select(func.percentile_disc([0.2, 0.4, 0.6, 0.8]).within_group(v)))
    assert quantile_breaks([float(x) for x in values], 5) == tuple(float(x) for x in sql) == (0.0, 1.0, 3.0, 5.0)
    assert quantile_breaks([], 5) == (0.0,)
    assert quantile_breaks([3, 3, 3], 4) == (3.0,)


def test_ticket_points_carry_what_the_popup_shows_and_respect_the_cap(session: Session) -> None:
    box = everywhere(session)
    scope = ticket_scope(session, ADMIN, TicketFilters())
    fc = ticket_points(session, bbox=box, scope=scope)
    total = session.scalar(select(func.count()).select_from(Ticket))
    assert len(fc["features"]) == total and not fc["truncated"]
    p = fc["features"][0]["properties"]
    assert {"id", "category", "state", "due_at", "overdue", "opened_at", "cell_code"} <= set(p)
    assert any(f["properties"]["overdue"] for f in fc["features"])
    cut = ticket_points(session, bbox=box, scope=scope, limit=10)
    assert len(cut["features"]) == 10 and cut["truncated"]
    heat = ticket_heat(session, bbox=box, scope=scope, grid_m=200)
    assert sum(h[2] for h in heat) == total


def test_filters_by_category_state_and_date(session: Session) -> None:
    box = everywhere(session)
    cat = session.scalar(select(Ticket.category).order_by(Ticket.category).limit(1))
    assert cat
    fc = ticket_points(session, bbox=box, scope=ticket_scope(session, ADMIN, TicketFilters(categories=(cat,))))
    assert fc["features"] and {f["properties"]["category"] for f in fc["features"]} == {cat}
    open_fc = ticket_points(session, bbox=box, scope=ticket_scope(session, ADMIN, TicketFilters(states=("open",))))
    assert open_fc["features"] and {f["properties"]["state"] for f in open_fc["features"]} <= OPEN_STATES
    late = ticket_points(session, bbox=box, scope=ticket_scope(session, ADMIN, TicketFilters(states=("overdue",))))
    assert late["features"] and all(f["properties"]["overdue"] for f in late["features"])
    first: datetime | None = session.scalar(select(func.min(Ticket.opened_at)))
    assert first is not None
    day = first.astimezone(SHANGHAI).date()
    one_day = TicketFilters(opened_from=day, opened_to=day)
    got = ticket_points(session, bbox=box, scope=ticket_scope(session, ADMIN, one_day))["features"]
    assert got and all(
        datetime.fromisoformat(f["properties"]["opened_at"]).astimezone(SHANGHAI).date() == day for f in got
    )
    with pytest.raises(InvalidInput, match="category"):
        TicketFilters(categories=("spaceships",)).check()
    with pytest.raises(InvalidInput, match="state"):
        TicketFilters(states=("lost",)).check()
    with pytest.raises(InvalidInput, match="opened_from"):
        TicketFilters(opened_from=date(2024, 2, 1), opened_to=date(2024, 1, 1)).check()


def test_ticket_layers_need_a_token(client: TestClient, session: Session) -> None:
    params = {"bbox": bbox_param(session)}
    for url in ("/maps/data/tickets.geojson", "/maps/data/ticket_heat.json"):
        r = client.get(url, params=params)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", url
    r = client.get("/maps/data/cells.geojson", params={**params, "metric": "open_tickets"})
    assert r.status_code == 401


def test_a_grid_worker_sees_only_the_tickets_of_their_cell(
    client: TestClient, session: Session, make_user: Maker
) -> None:
    cell = busiest_cell(session)
    in_cell = session.scalar(select(func.count()).where(Ticket.cell_code == cell))
    params = {"bbox": bbox_param(session)}
    _, worker = make_user("grid_worker", jurisdiction=[cell])
    mine = client.get("/maps/data/tickets.geojson", params=params, headers=worker).json()
    assert len(mine["features"]) == in_cell and {f["properties"]["cell_code"] for f in mine["features"]} == {cell}
    cells = client.get("/maps/data/cells.geojson", params={**params, "metric": "open_tickets"}, headers=worker)
    assert [f["properties"]["code"] for f in cells.json()["features"]] == [cell]
    heat = client.get("/maps/data/ticket_heat.json", params=params, headers=worker).json()
    assert sum(p[2] for p in heat) == in_cell
    _, stranger = make_user("grid_worker", jurisdiction=["000000000000001"])
    assert client.get("/maps/data/tickets.geojson", params=params, headers=stranger).json()["features"] == []
    _, admin = make_user("admin")
    everything = client.get("/maps/data/tickets.geojson", params=params, headers=admin).json()
    assert len(everything["features"]) > in_cell


def test_filters_over_http(client: TestClient, session: Session, make_user: Maker) -> None:
    _, admin = make_user("admin")
    params = {"bbox": bbox_param(session), "state": "overdue", "metric": "open_tickets"}
    late = client.get("/maps/data/tickets.geojson", params=params, headers=admin).json()["features"]
    assert late and all(f["properties"]["overdue"] for f in late)
    cells = client.get("/maps/data/cells.geojson", params=params, headers=admin).json()
    assert sum(f["properties"]["value"] for f in cells["features"]) <= len(late)
    tomorrow = (datetime.now(SHANGHAI) + timedelta(days=400)).date().isoformat()
    none = client.get("/maps/data/tickets.geojson", params={**params, "opened_from": tomorrow}, headers=admin)
    assert none.status_code == 200 and none.json()["features"] == []


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"category": "spaceships"}, "category"),
        ({"state": "lost"}, "state"),
        ({"opened_from": "2024-13-01"}, "opened_from"),
        ({"opened_from": "2024-03-01", "opened_to": "2024-01-01"}, "opened_from"),
        ({"category": "x" * 500}, "category"),
    ],
)
def test_bad_filters_are_json_422(
    client: TestClient, session: Session, make_user: Maker, params: dict[str, str], needle: str
) -> None:
    _, admin = make_user("admin")
    for url in ("/maps/data/tickets.geojson", "/maps/data/ticket_heat.json", "/maps/data/cells.geojson"):
        r = client.get(url, params={"bbox": bbox_param(session), **params}, headers=admin)
        assert r.status_code == 422, (url, r.text)
        assert r.headers["content-type"].startswith("application/json") and needle in r.json()["message"]


def test_ticket_page_is_a_shell_in_chinese(client: TestClient, session: Session) -> None:
    ticket_id = session.scalar(select(Ticket.id).order_by(Ticket.id))
    r = client.get(f"/maps/tickets/{ticket_id}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f"工单 {ticket_id}" in r.text and "办理记录" in r.text and "gg.ticketPage(" in r.text
    assert '"dispatch": "派单"' in r.text and '"in_progress": "处置"' in r.text, "labels, not data"
    assert "description" not in r.text
    assert client.get("/maps/tickets/0").status_code == 422
    assert client.get("/maps/tickets/abc").json()["error"] == "invalid_request"
