"""Participation fixtures on the tiny synthetic community of tests/conftest.py (community 990000000001, compound
990000000001X001 = box(100.002, 30.002, 100.006, 30.006) in cell 990000000001001): its manager, confirmed
members with skills, and a helper that publishes an item through the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.models import User
from gis.participation.models import Member

COMMUNITY = "990000000001"
COMPOUND = "990000000001X001"
INSIDE = (100.004, 30.004)
FAR = (100.004, 30.009)  # ~330 m north of the compound's edge

Maker = Callable[..., tuple[User, dict[str, str]]]


@dataclass
class Area:
    manager_h: dict[str, str]
    other_manager_h: dict[str, str]
    admin_h: dict[str, str]
    members: list[tuple[User, dict[str, str], Member]]


def add_member(
    session: Session, make_user: Maker, n: int, *, skills: list[str] | None = None, status: str = "confirmed"
) -> tuple[User, dict[str, str], Member]:
    user, h = make_user("resident", phone=f"1390000{n:04d}")
    m = Member(
        user_id=user.id,
        kind="volunteer",
        name=f"志愿者{n}",
        phone=f"1390000{n:04d}",
        community_code=COMMUNITY,
        skills=skills or ["调解"],
        status=status,
    )
    session.add(m)
    session.commit()
    return user, h, m


@pytest.fixture()
def area(session: Session, tiny_area: dict[str, Any], make_user: Maker) -> Area:
    _, manager_h = make_user("manager", jurisdiction=[COMMUNITY])
    _, other_h = make_user("manager", jurisdiction=["370102010001"])
    _, admin_h = make_user("admin")
    members = [add_member(session, make_user, k) for k in range(1, 5)]
    return Area(manager_h, other_h, admin_h, members)


def soon(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def publish(
    client: TestClient,
    h: dict[str, str],
    *,
    capacity: int = 2,
    starts_in: float = 20,
    hours: float = 2,
    place: dict[str, Any] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    body = {
        "community_code": COMMUNITY,
        "kind": "mediation",
        "title": "周末矛盾纠纷调解",
        "capacity": capacity,
        "place": place or {"kind": "compound", "code": COMPOUND},
        "starts_at": soon(starts_in).isoformat(),
        "ends_at": soon(starts_in + hours * 60).isoformat(),
        **kw,
    }
    r = client.post("/v1/participation/items", json=body, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())
