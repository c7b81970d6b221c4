"""Places and people of the reference-data tests: the demo's first two communities, an admin, and a manager
of the first community only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.models import Building, Compound, GridCell, User

MINE, OTHER = "370102010001", "370102010002"


@dataclass
class World:
    admin: dict[str, str]
    manager: dict[str, str]
    manager_user: User
    cell: str  # a live cell of MINE
    other_cell: str  # … of OTHER
    compound: str  # a compound of MINE
    other_compound: str
    building: str  # a building of `compound`


def _first(session: Session, stmt: Any) -> Any:
    value = session.scalar(stmt.limit(1))
    assert value is not None
    return value


@pytest.fixture()
def world(session: Session, make_user: Callable[..., tuple[User, dict[str, str]]]) -> World:
    _, admin = make_user("admin")
    manager_user, manager = make_user("manager", jurisdiction=[MINE])
    live = GridCell.valid_to.is_(None)
    cell = _first(session, select(GridCell.code).where(live, GridCell.code.startswith(MINE)).order_by(GridCell.code))
    other_cell = _first(
        session, select(GridCell.code).where(live, GridCell.code.startswith(OTHER)).order_by(GridCell.code)
    )
    compound = _first(
        session,
        select(Compound.code)
        .join(Building, Building.compound_id == Compound.id)
        .where(Compound.code.startswith(MINE))
        .order_by(Compound.code),
    )
    other = _first(session, select(Compound.code).where(Compound.code.startswith(OTHER)).order_by(Compound.code))
    building = _first(
        session, select(Building.code).join(Compound).where(Compound.code == compound).order_by(Building.code)
    )
    return World(admin, manager, manager_user, cell, other_cell, compound, other, building)
