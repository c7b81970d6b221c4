"""Security review L17: the public compound map must not run pgRouting on every request. The walking reach of
a compound is kept (per database, compound and street graph around it) and computed again only when the
streets or the compound change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from gis.mapdata import compound_map_data
from gis.mapdata.reach import forget_reaches, has_walking_network
from gis.models import Compound, Street
from tests.maps.test_mapdata import river_area  # noqa: F401  (fixture)


@pytest.fixture()
def routing_calls(session: Session) -> Iterator[list[str]]:
    """The statements that ran pgr_drivingDistance on the test's connection."""
    calls: list[str] = []
    connection = session.connection()

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "pgr_drivingDistance(" in statement:
            calls.append(statement)

    forget_reaches()
    event.listen(connection, "before_cursor_execute", seen)
    yield calls
    event.remove(connection, "before_cursor_execute", seen)
    forget_reaches()


def test_two_visits_route_once(session: Session, river_area: dict[str, Any], routing_calls: list[str]) -> None:  # noqa: F811
    if not has_walking_network(session):
        pytest.skip("pgRouting is not installed in the test database")
    code = river_area["compound"].code
    first = compound_map_data(session, code)
    second = compound_map_data(session, code)
    assert first.reach.method == "network"
    assert len(routing_calls) == 1, "the second visit reuses the reach"
    assert second.reach == first.reach and second.resources == first.resources


def test_a_street_change_routes_again(session: Session, river_area: dict[str, Any], routing_calls: list[str]) -> None:  # noqa: F811
    if not has_walking_network(session):
        pytest.skip("pgRouting is not installed in the test database")
    code = river_area["compound"].code
    compound_map_data(session, code)
    session.execute(update(Street).where(Street.id == 9_000_002).values(length_m=Street.length_m * 3))
    compound_map_data(session, code)
    assert len(routing_calls) == 2, "a street of the graph changed: the reach is computed again"
    session.execute(
        update(Compound).where(Compound.id == river_area["compound"].id).values(name=Compound.name + "（改）")
    )
    compound_map_data(session, code)
    assert len(routing_calls) == 2, "a new name does not move the reach"
