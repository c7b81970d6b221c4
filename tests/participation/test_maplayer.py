"""The operations map's 志愿服务 layer (GET /maps/data/participation.geojson): the demo's open items as points with
their window, places left, compound and cell; one label per community with the same figures as the demo's rows
(registered members, hours this month, open items); public, and a manager's token limits it to their community."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.participation.maplayer import window_label
from gis.participation.members import month_start
from gis.participation.models import Claim, Member, ServiceItem
from tests.participation.conftest import COMMUNITY, COMPOUND, Area, Maker, publish

URL = "/maps/data/participation.geojson"
DEMO = "370102010001"  # the demo community of the route matrix


def _demo_bbox(session: Session) -> str:
    x0, y0, x1, y1 = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM admin_areas "
            "WHERE level = 'community' AND code LIKE '370102%') AS x"
        )  # fmt: skip
    ).one()
    return f"{x0},{y0},{x1},{y1}"


def _by_layer(fc: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    items = [f["properties"] for f in fc["features"] if f["properties"]["layer"] == "item"]
    communities = {
        f["properties"]["community_code"]: f["properties"]
        for f in fc["features"]
        if f["properties"]["layer"] == "community"
    }
    return items, communities


def test_the_layer_counts_what_the_demo_has(client: TestClient, session: Session, make_user: Maker) -> None:
    now = datetime.now(UTC)
    r = client.get(URL, params={"bbox": _demo_bbox(session)})
    assert r.status_code == 200, r.text
    items, communities = _by_layer(r.json())
    open_rows = session.scalars(
        select(ServiceItem.id).where(
            ServiceItem.community_code == DEMO,
            ServiceItem.status == "open",
            ServiceItem.ends_at > now,
            ServiceItem.claimed < ServiceItem.capacity,
        )
    ).all()
    assert open_rows, "the demo publishes open items"
    demo_items = [p for p in items if p["community_code"] == DEMO]
    assert sorted(p["id"] for p in demo_items) == sorted(open_rows)
    members = session.scalar(
        select(func.count()).select_from(Member).where(Member.community_code == DEMO, Member.status == "confirmed")
    )
    minutes = session.scalar(
        select(func.coalesce(func.sum(Claim.confirmed_minutes), 0))
        .join(ServiceItem, ServiceItem.id == Claim.item_id)
        .where(ServiceItem.community_code == DEMO, Claim.starts_at >= month_start(now))
    )
    demo = communities[DEMO]
    assert demo["members"] == members and members > 0
    assert demo["open_items"] == len(open_rows)
    assert demo["hours_month"] == round(float(minutes) / 60, 1)
    first = session.get(ServiceItem, demo_items[0]["id"])
    assert first is not None
    p = demo_items[0]
    assert p["places_left"] == first.capacity - first.claimed and p["window"] == window_label(
        first.starts_at, first.ends_at
    )
    assert p["compound_code"] or p["cell_code"]  # the place's compound and/or grid cell

    # a manager sees their community only; a wrong bbox is a clear 422
    _, manager_h = make_user("manager", jurisdiction=[DEMO])
    mine_items, mine = _by_layer(client.get(URL, params={"bbox": _demo_bbox(session)}, headers=manager_h).json())
    assert set(mine) == {DEMO} and len(communities) > 1
    assert sorted(p["id"] for p in mine_items) == sorted(open_rows)
    assert client.get(URL, params={"bbox": "1,2,3"}).status_code == 422


def test_an_item_shows_its_compound_and_cell(client: TestClient, area: Area) -> None:
    made = publish(client, area.manager_h, capacity=3, place={"kind": "compound", "code": COMPOUND})
    fc = client.get(URL, params={"bbox": "100.0,30.0,100.02,30.02"}).json()
    items, communities = _by_layer(fc)
    item = next(p for p in items if p["id"] == made["id"])
    assert (item["compound_code"], item["cell_code"]) == (COMPOUND, "990000000001001")
    assert item["places_left"] == 3 and "–" in item["window"]
    assert communities[COMMUNITY]["members"] == 4 and communities[COMMUNITY]["open_items"] >= 1
