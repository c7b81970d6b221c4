"""Property: the by-location rule (gis.spatial) agrees with shapely, through what production runs.

For any point of the demo 街道 (also one snapped onto a cell edge or vertex, where the lowest code must win),
at the live version, at a past date (an older generation of every cell, shifted), at the instant the live
versions took over and before any version: `locate()` (COVERING_CELL_SQL with :at), intake's `lookup()` (the
same fragment, live cells) and `routing.anchor_point` (the Core `covering_cell`) name the cell shapely says
covers it, and a point outside every cell finds none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import to_shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.errors import OutsideServiceArea
from gis.locate import locate
from gis.models import GridCell
from gis.tickets import routing
from gis.tickets.config import load_config
from gis.tickets.intake import lookup

SHIFT_DEG = (0.0007, 0.0004)  # the older generation: every live cell, moved by this much


@dataclass
class Generations:
    """Every cell version (code, valid_from, valid_to, geometry) and the dates the test asks about."""

    codes: np.ndarray
    valid_from: list[datetime]
    valid_to: list[datetime | None]
    geoms: np.ndarray
    dates: dict[str, datetime | None]

    def in_force(self, at: datetime | None) -> np.ndarray:
        if at is None:
            return np.array([vt is None for vt in self.valid_to])
        return np.array(
            [vf <= at and (vt is None or vt > at) for vf, vt in zip(self.valid_from, self.valid_to, strict=True)]
        )

    def expected(self, pt: shapely.Point, at: datetime | None) -> str | None:
        """Shapely's answer: the lowest code among the versions in force at `at` that cover the point."""
        mask = self.in_force(at)
        hits = self.codes[mask][shapely.covers(self.geoms[mask], pt)]
        return str(min(hits)) if len(hits) else None


@pytest.fixture()
def generations(session: Session) -> Generations:
    """The demo's live cells plus an older generation of each (closed when the live version took over)."""
    session.execute(
        text(
            "INSERT INTO grid_cells (code, name, community_id, cell_type, households, population, valid_from, "
            "valid_to, geom) "
            "SELECT code, name, community_id, cell_type, households, population, valid_from - interval '2 years', "
            "valid_from, ST_Translate(geom, :dx, :dy) FROM grid_cells WHERE valid_to IS NULL"
        ),
        {"dx": SHIFT_DEG[0], "dy": SHIFT_DEG[1]},
    )
    rows = session.execute(select(GridCell.code, GridCell.valid_from, GridCell.valid_to, GridCell.geom)).all()
    switch = session.scalar(select(func.min(GridCell.valid_from)).where(GridCell.valid_to.is_(None)))
    assert switch is not None
    return Generations(
        codes=np.array([r.code for r in rows]),
        valid_from=[r.valid_from for r in rows],
        valid_to=[r.valid_to for r in rows],
        geoms=np.array([to_shape(r.geom) for r in rows]),
        dates={
            "live": None,
            "past": switch - timedelta(days=200),
            "switch": switch,  # the old versions end, the live ones begin: the live answer
            "before": switch - timedelta(days=3 * 365),  # no version in force yet: outside everywhere
        },
    )


def _place(gens: Generations, at: datetime | None, fx: float, fy: float, snap: str) -> shapely.Point:
    """A point of the whole area, optionally moved onto the nearest edge or vertex of a cell in force."""
    x1, y1, x2, y2 = shapely.total_bounds(gens.geoms)
    pt = shapely.Point(x1 + fx * (x2 - x1), y1 + fy * (y2 - y1))
    if snap == "none":
        return pt
    mask = gens.in_force(at)
    candidates = gens.geoms[mask] if mask.any() else gens.geoms
    nearest = candidates[int(np.argmin(shapely.distance(candidates, pt)))]
    if snap == "edge":
        return nearest.boundary.interpolate(nearest.boundary.project(pt))
    vertices = shapely.points(shapely.get_coordinates(nearest))
    return vertices[int(np.argmin(shapely.distance(vertices, pt)))]


def _located(session: Session, pt: shapely.Point, at: datetime | None) -> str | None:
    try:
        return str(locate(session, pt.x, pt.y, at=at).cell["code"])
    except OutsideServiceArea:
        return None


def _anchored(session: Session, pt: shapely.Point, at: datetime | None) -> str | None:
    try:
        return routing.anchor_point(session, pt.x, pt.y, at=at).cell_code
    except OutsideServiceArea:
        return None


def _intake(session: Session, pt: shapely.Point) -> str | None:
    cfg = load_config()
    try:
        return lookup(session, cfg, cfg.category("noise"), pt.x, pt.y)[0].cell_code
    except OutsideServiceArea:
        return None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fx=st.floats(0, 1),
    fy=st.floats(0, 1),
    snap=st.sampled_from(["none", "edge", "vertex"]),
    when=st.sampled_from(["live", "past", "switch", "before"]),
)
def test_by_location_agrees_with_shapely(
    session: Session, generations: Generations, fx: float, fy: float, snap: str, when: str
) -> None:
    at = generations.dates[when]
    pt = _place(generations, at, fx, fy, snap)
    expected = generations.expected(pt, at)
    assert _located(session, pt, at) == expected  # the text fragment, at a date
    assert _anchored(session, pt, at) == expected  # the Core lateral
    assert _intake(session, pt) == generations.expected(pt, None)  # intake: always the live cells


def test_the_generations_differ(session: Session, generations: Generations) -> None:
    """The past generation is not the live one: the property above would not notice a missing date filter."""
    x1, y1, x2, y2 = shapely.total_bounds(generations.geoms)
    past = generations.dates["past"]
    points = [shapely.Point(x1 + (x2 - x1) * i / 40, y1 + (y2 - y1) * j / 40) for i in range(41) for j in range(41)]
    differ = [p for p in points if generations.expected(p, past) != generations.expected(p, None)]
    assert len(differ) > 100
    for p in differ[:10]:
        assert _located(session, p, past) == generations.expected(p, past)
        assert _located(session, p, None) == generations.expected(p, None)
