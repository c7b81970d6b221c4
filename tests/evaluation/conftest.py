"""A hand-built set of tickets on the tiny community of tests/conftest.py where every figure is known.

Cell L (left, 990000000001001), January 2026 (Asia/Shanghai), five tickets received:
- T1 hotline, opened Fri 01-09 18:00, resolved Mon 01-12 10:00: 16 working hours (the weekend does not count);
  claimed, on time, 5 stars, followed up.
- T2 hotline, opened Sat 01-03 12:00 (a New Year holiday), resolved Sun 01-04 12:00 (a 调休 working Sunday):
  12 working hours; claimed, but flagged overdue at the claim stage first (answered late); late; 3 stars.
- T3 resident, opened Thu 01-08 09:00, resolved 13:00: 4 working hours; resolved without a claim (counts as
  answered); 吹哨 once; reopened once; on time; 4 stars; property company P1.
- T4 意见箱, opened Sat 01-31 22:00, resolved Mon 02-02 10:00: 10 working hours — received in January,
  solved in February (a ticket crossing the month boundary counts once, in January).
- T5 意见箱, opened 01-20, not solved, no answer.
So: received 5, answered in time 2 (40 %), solved 4 (80 %), on time 2 of 4, median 11 h, p90 14.8 h,
reopened 1, 吹哨 1, 回访 1 of 4, rated 3, satisfied 2 (66.67 %), mean 4.0 stars, hotline 2 against 1 in
January 2025 (+100 %), suggestions 2, rectified 1 (50 %).
Cell R (right): T7 opened 01-10, anchored to R; on 01-15 cell L is redrawn to cover both squares (R closed):
T7 stays R's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from shapely.geometry import Point, box
from sqlalchemy.orm import Session

from gis.models import AdminArea, GridCell, Organization
from gis.tickets.models import FollowUp, Rating, Ticket, TicketEvent
from gis.tickets.sla import SHANGHAI
from tests.conftest import ewkt

_token = itertools.count(1)


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=SHANGHAI)


@dataclass
class World:
    street: str
    community: str
    left: str
    right: str
    compound: str
    p1: Organization
    p2: Organization
    p3: Organization
    dept: Organization
    ids: dict[str, int]


def add_ticket(
    session: Session,
    *,
    cell: str,
    community: str,
    opened: str,
    resolved: str | None = None,
    due: str | None = None,
    channel: str = "resident",
    unit: Organization | None = None,
    compound: str | None = None,
    events: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    stars: int | None = None,
    follow_up: bool = False,
    reopen_count: int = 0,
    category: str = "environment",
    lonlat: tuple[float, float] = (100.005, 30.005),
) -> Ticket:
    t = Ticket(
        token=f"kpi{next(_token):08d}",
        category=category,
        description="测试",
        geom="SRID=4326;" + Point(*lonlat).wkt,
        channel=channel,
        state="closed" if resolved else "claimed",
        cell_code=cell,
        community_code=community,
        compound_code=compound,
        unit_id=unit.id if unit else None,
        unit_type=unit.unit_type or "community" if unit else "community",
        sla_profile="four_level",
        tier="normal",
        opened_at=at(opened),
        resolved_at=at(resolved) if resolved else None,
        resolve_due_at=at(due) if due else None,
        reopen_count=reopen_count,
    )
    session.add(t)
    session.flush()
    for action, when, payload in events:
        session.add(TicketEvent(ticket_id=t.id, at=at(when), action=action, payload=payload))
    if stars is not None:
        session.add(Rating(ticket_id=t.id, stars=stars, solved=stars >= 3, at=at(resolved or opened)))
    if follow_up:
        session.add(FollowUp(ticket_id=t.id, method="phone", outcome="satisfied", at=at(resolved or opened)))
    return t


@pytest.fixture()
def world(session: Session, tiny_area: dict[str, Any]) -> World:
    community: AdminArea = tiny_area["community"]
    street = AdminArea(code="990000000", name="测试街道", level="subdistrict", geom=community.geom)
    session.add(street)
    session.flush()
    community.parent_id = street.id
    left, right = (c.code for c in tiny_area["cells"])
    orgs = [
        Organization(code="KPI-P1", name="甲物业", kind="property_company", unit_type="property"),
        Organization(code="KPI-P2", name="乙物业", kind="property_company", unit_type="property"),
        Organization(code="KPI-P3", name="丙物业", kind="property_company", unit_type="property"),
        Organization(code="KPI-D1", name="测试城管", kind="department", unit_type="urban_management"),
    ]
    session.add_all(orgs)
    session.flush()
    p1, p2, p3, dept = orgs
    c = community.code
    ids = {}
    ids["T1"] = add_ticket(session, cell=left, community=c, opened="2026-01-09 18:00", resolved="2026-01-12 10:00",
                           due="2026-01-13 00:00", channel="hotline_12345", events=[("claim", "2026-01-09 19:00", {})],
                           stars=5, follow_up=True).id  # fmt: skip
    ids["T2"] = add_ticket(session, cell=left, community=c, opened="2026-01-03 12:00", resolved="2026-01-04 12:00",
                           due="2026-01-04 08:00", channel="hotline_12345",
                           events=[("overdue", "2026-01-03 20:00", {"stage": "claim"}),
                                   ("claim", "2026-01-03 21:00", {})],
                           stars=3).id  # fmt: skip
    ids["T3"] = add_ticket(session, cell=left, community=c, opened="2026-01-08 09:00", resolved="2026-01-08 13:00",
                           due="2026-01-09 09:00", unit=p1, compound=tiny_area["compound"].code,
                           events=[("escalate", "2026-01-08 10:00", {}), ("resolve", "2026-01-08 13:00", {})],
                           stars=4, reopen_count=1).id  # fmt: skip
    ids["T4"] = add_ticket(session, cell=left, community=c, opened="2026-01-31 22:00", resolved="2026-02-02 10:00",
                           channel="suggestion").id  # fmt: skip
    ids["T5"] = add_ticket(session, cell=left, community=c, opened="2026-01-20 09:00", channel="suggestion").id
    ids["T6"] = add_ticket(session, cell=left, community=c, opened="2025-01-15 09:00", channel="hotline_12345").id
    ids["T7"] = add_ticket(session, cell=right, community=c, opened="2026-01-10 09:00", lonlat=(100.015, 30.005)).id
    # the redraw on 01-15: L covers both squares from then on, R is closed
    old_l, old_r = tiny_area["cells"]
    old_l.valid_from = old_r.valid_from = at("2025-01-01 00:00")
    old_l.valid_to = old_r.valid_to = at("2026-01-15 00:00")
    ox, oy = tiny_area["origin"]
    redrawn = ewkt(box(ox, oy, ox + 0.02, oy + 0.01))
    session.add(GridCell(code=left, name="测试第1网格(重划)", community_id=community.id, geom=redrawn,
                         valid_from=at("2026-01-15 00:00")))  # fmt: skip
    session.commit()
    return World(street.code, c, left, right, tiny_area["compound"].code, p1, p2, p3, dept, ids)
