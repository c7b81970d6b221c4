"""Ticket fixtures on the tiny synthetic community of tests/conftest.py (two cells sharing an edge at
lon 100.01, one compound in the left cell): departments for every unit type, a property company for
the compound, and the people of a ticket's life (dispatcher, grid workers, residents)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.models import Organization, User
from gis.tickets.models import Ticket

Maker = Callable[..., tuple[User, dict[str, str]]]
Headers = dict[str, str]

IN_COMPOUND = (100.004, 30.004)
LEFT_CELL = (100.008, 30.008)  # left cell, outside the compound
RIGHT_CELL = (100.015, 30.005)
OUTSIDE = (100.5, 30.5)
FAR_CELL = "990000000009001"  # a cell code no fixture creates: rows committed for real stay out of every query

UNIT_TYPES = (
    "urban_management",
    "police",
    "market_regulation",
    "fire",
    "housing",
    "landscaping",
    "emergency",
    "civil_affairs",
)


@dataclass
class Area:
    community: str
    left: str
    right: str
    compound: str
    departments: dict[str, Organization]
    property_company: Organization
    admin: Headers
    dispatcher: Headers
    dispatcher_user: User
    worker: Headers
    worker_user: User
    other_worker: Headers
    resident: Headers
    resident_user: User
    other_resident: Headers
    make_user: Maker

    def unit_member(self, organization_id: int) -> Headers:
        """Headers of a new user working for the organization (接单 / 吹哨 报到)."""
        return self.make_user("department", organization_id=organization_id)[1]


@pytest.fixture()
def area(session: Session, tiny_area: dict[str, Any], make_user: Maker) -> Area:
    # "!" sorts before letters and digits, so these win the "first unit of the type" routing rule
    departments = {
        ut: Organization(code=f"!T-{ut}", name=f"测试{ut}部门", kind="department", unit_type=ut) for ut in UNIT_TYPES
    }
    company = Organization(code="!T-property", name="测试物业公司", kind="property_company", unit_type="property")
    session.add_all([*departments.values(), company])
    session.flush()
    compound = tiny_area["compound"]
    compound.property_company_id = company.id
    session.commit()
    community = tiny_area["community"].code
    left, right = (c.code for c in tiny_area["cells"])
    dispatcher_user, dispatcher = make_user("manager", jurisdiction=[community])
    worker_user, worker = make_user("grid_worker", jurisdiction=[left])
    resident_user, resident = make_user("resident", phone="13800000001")
    return Area(
        community=community,
        left=left,
        right=right,
        compound=compound.code,
        departments=departments,
        property_company=company,
        admin=make_user("admin")[1],
        dispatcher=dispatcher,
        dispatcher_user=dispatcher_user,
        worker=worker,
        worker_user=worker_user,
        other_worker=make_user("grid_worker", jurisdiction=[right])[1],
        resident=resident,
        resident_user=resident_user,
        other_resident=make_user("resident")[1],
        make_user=make_user,
    )


def report(
    client: TestClient, headers: Headers | None = None, *, at: tuple[float, float] = LEFT_CELL, **body: Any
) -> dict[str, Any]:
    """POST /v1/tickets and return the JSON (asserting success)."""
    payload = {"category": "noise", "description": "楼下KTV噪音扰民", "lon": at[0], "lat": at[1], **body}
    r = client.post("/v1/tickets", json=payload, headers=headers or {})
    assert r.status_code in (200, 201), r.text
    out: dict[str, Any] = r.json()
    return out


def act(client: TestClient, headers: Headers, ticket_id: int, action: str, **body: Any) -> Any:
    return client.post(f"/v1/tickets/{ticket_id}/actions", json={"action": action, **body}, headers=headers)


def ok(client: TestClient, headers: Headers, ticket_id: int, action: str, **body: Any) -> dict[str, Any]:
    r = act(client, headers, ticket_id, action, **body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def far_ticket(**fields: Any) -> Ticket:
    """A ticket row at OUTSIDE, for tests that commit for real on two connections (and purge it afterwards)."""
    defaults: dict[str, Any] = {
        "category": "noise",
        "description": "race",
        "geom": f"SRID=4326;POINT({OUTSIDE[0]} {OUTSIDE[1]})",
        "channel": "staff",
        "state": "reported",
        "cell_code": FAR_CELL,
        "unit_type": "police",
        "sla_profile": "four_level",
        "tier": "normal",
    }
    return Ticket(**{**defaults, **fields})
