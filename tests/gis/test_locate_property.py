"""Property: for any point in the demo 街道, the cell PostGIS returns is the one shapely says covers it,
with the lowest code winning on shared edges; points outside every cell find none."""

from __future__ import annotations

import shapely
from geoalchemy2.shape import to_shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import STRtree
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.locate import cell_at
from gis.models import GridCell


def _cells(session: Session) -> tuple[list[str], STRtree, list[object]]:
    rows = session.execute(select(GridCell.code, GridCell.geom).where(GridCell.valid_to.is_(None))).all()
    geoms = [to_shape(g) for _, g in rows]
    return [c for c, _ in rows], STRtree(geoms), geoms


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fx=st.floats(0, 1), fy=st.floats(0, 1), snap=st.booleans())
def test_cell_at_agrees_with_shapely(session: Session, fx: float, fy: float, snap: bool) -> None:
    codes, tree, geoms = _cells(session)
    x1, y1, x2, y2 = shapely.total_bounds(geoms)
    pt = shapely.Point(x1 + fx * (x2 - x1), y1 + fy * (y2 - y1))
    if snap:  # move the point onto the nearest cell boundary: the edge case
        nearest = geoms[int(tree.nearest(pt))]
        pt = nearest.boundary.interpolate(nearest.boundary.project(pt))
    expected = sorted(codes[i] for i in tree.query(pt, predicate="covered_by"))
    found = cell_at(session, pt.x, pt.y)
    if expected:
        assert found is not None and found.code == expected[0]
    else:
        assert found is None
