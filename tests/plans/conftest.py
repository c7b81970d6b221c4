"""Plan fixtures: a demo community's live cells as shapely geometries, a planner, a draft plan, and a
scratch anchored table (rolled back with the test) to check re-anchoring row by row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.anchoring import AnchoredTable, register, unregister
from gis.plans.models import BoundaryPlan

COMMUNITY = "370102010001"


@dataclass
class LiveCells:
    community: str
    geoms: dict[str, BaseGeometry]

    def neighbours(self) -> tuple[str, str]:
        """Two cells sharing an edge (a line, not just a corner)."""
        codes = sorted(self.geoms)
        for a in codes:
            for b in codes:
                if a < b and shapely.intersection(self.geoms[a], self.geoms[b]).length > 1e-4:
                    return a, b
        raise AssertionError("no neighbours")


def live_cells(session: Session, community: str = COMMUNITY) -> LiveCells:
    rows = session.execute(
        text(
            "SELECT c.code, ST_AsBinary(c.geom) FROM grid_cells c JOIN admin_areas a ON a.id = c.community_id "
            "WHERE a.code = :code AND c.valid_to IS NULL ORDER BY c.code"
        ),
        {"code": community},
    ).all()
    return LiveCells(community, {code: shapely.from_wkb(bytes(wkb)) for code, wkb in rows})


@pytest.fixture()
def cells(session: Session) -> LiveCells:
    return live_cells(session)


@pytest.fixture()
def plan(session: Session) -> BoundaryPlan:
    p = BoundaryPlan(name="测试方案")
    session.add(p)
    session.flush()
    return p


@pytest.fixture()
def scratch_points(session: Session) -> Iterator[str]:
    """A table of points anchored by cell code, registered for re-anchoring (created inside the rolled-back
    test transaction, so it disappears with it)."""
    session.execute(
        text(
            "CREATE TABLE scratch_points (id serial PRIMARY KEY, geom geometry(Point, 4326), "
            "cell_code varchar(15), cell_version_id int, state text NOT NULL DEFAULT 'open')"
        )
    )
    session.execute(
        text(
            """
            INSERT INTO scratch_points (geom, cell_code, state)
            SELECT p.geom, (SELECT c.code FROM grid_cells c WHERE c.valid_to IS NULL AND ST_Covers(c.geom, p.geom)
                            ORDER BY c.code LIMIT 1),
                   CASE WHEN p.n % 5 = 0 THEN 'closed' ELSE 'open' END
            FROM (SELECT row_number() OVER () AS n, d.geom
                  FROM admin_areas a, ST_Dump(ST_GeneratePoints(a.geom, 3000, 7)) d WHERE a.code = :code) p
            """
        ),
        {"code": COMMUNITY},
    )
    register(
        AnchoredTable("scratch_points", version_column="cell_version_id", skip_column="state", skip_values=("closed",))
    )
    try:
        yield "scratch_points"
    finally:
        unregister("scratch_points")
