"""Participation on the maps: the summary endpoint's figures (members, teams, hours this month, open items) for a
community and a compound, and the 志愿服务 card of the 服务资源地图 pages."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.participation.models import Member, ServiceItem
from tests.participation.conftest import COMMUNITY, COMPOUND, Area, publish

P = "/v1/participation"


def test_summary_counts_what_the_community_has(client: TestClient, area: Area) -> None:
    before = client.get(f"{P}/summary", params={"community": COMMUNITY}).json()
    assert before["members"] == 4 and before["teams"] == 0  # the four confirmed members of the fixture
    publish(client, area.manager_h, capacity=1)
    after = client.get(f"{P}/summary", params={"community": COMMUNITY, "compound": COMPOUND}).json()
    assert after["open_items"] == before["open_items"] + 1 and after["compound_code"] == COMPOUND
    assert client.get(f"{P}/summary", params={"community": "000000000000"}).status_code == 404


def test_the_resource_maps_show_participation(client: TestClient, session: Session) -> None:
    code, community = session.execute(
        select(ServiceItem.place_code, ServiceItem.community_code)
        .where(ServiceItem.place_kind == "compound")
        .order_by(ServiceItem.id)
        .limit(1)
    ).one()
    members = session.scalar(
        select(func.count()).where(Member.community_code == community, Member.status == "confirmed")
    )
    page = client.get(f"/maps/compounds/{code}").text
    assert "志愿服务" in page and f"社区已登记党员、志愿者 {members} 人" in page and "/field" in page
    assert "志愿服务" in client.get(f"/maps/communities/{community}").text
