"""Commit: versions closed and opened atomically, exactly the moved rows re-anchored, history at past dates,
the second of two commits on the same base refused with 409."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from gis.anchoring import anchored_tables
from gis.errors import Conflict, InvalidGeometry
from gis.plans.commit import commit_plan, history
from gis.plans.draft import FeatureInput
from gis.plans.edits import put_features
from gis.plans.models import BoundaryPlan
from gis.spatial import covering_cell, point_sql
from tests.plans.conftest import LiveCells


def _shift_edge(cells: LiveCells) -> tuple[str, str, shapely.Geometry, shapely.Geometry]:
    """Neighbours a, b: a takes the part of b near their shared edge (an exact re-tiling of a ∪ b)."""
    a, b = cells.neighbours()
    edge = shapely.intersection(cells.geoms[a], cells.geoms[b])
    x0, y0, x1, y1 = edge.bounds
    taken = shapely.intersection(cells.geoms[b], box(x0 - 0.0006, y0 - 0.0006, x1 + 0.0006, y1 + 0.0006))
    return a, b, shapely.union(cells.geoms[a], taken), shapely.difference(cells.geoms[b], taken)


def _cell_at(session: Session, x: float, y: float, at: datetime | None = None) -> Row[Any] | None:
    """The cell version covering (x, y) at `at` (default live), by the by-location rule."""
    return session.execute(select(covering_cell(point_sql(x, y), at=at))).first()


def _anchors(session: Session) -> dict[int, tuple[str, str]]:
    rows = session.execute(text("SELECT id, cell_code, state FROM scratch_points")).all()
    return {r.id: (r.cell_code, r.state) for r in rows}


def _expected(session: Session, codes_geoms: dict[str, shapely.Geometry]) -> dict[int, str]:
    """Shapely's answer: for every open point, the lowest code of the draft cells covering it."""
    rows = session.execute(text("SELECT id, ST_X(geom), ST_Y(geom) FROM scratch_points WHERE state = 'open'")).all()
    out = {}
    for pid, x, y in rows:
        covering = sorted(c for c, g in codes_geoms.items() if g.covers(shapely.Point(x, y)))
        out[pid] = covering[0]
    return out


def test_commit_reanchors_exactly_the_moved_rows(
    session: Session, plan: BoundaryPlan, cells: LiveCells, scratch_points: str
) -> None:
    a, b, new_a, new_b = _shift_edge(cells)
    before = _anchors(session)
    draft = {**cells.geoms, a: new_a, b: new_b}
    expected = _expected(session, draft)
    t0 = datetime.now(UTC)
    put_features(session, plan, "cell", [FeatureInput(a, new_a), FeatureInput(b, new_b)])
    report = commit_plan(session, plan.id, message="调整第1、2网格边界")
    after = _anchors(session)

    should_move = {pid for pid, code in expected.items() if code != before[pid][0]}
    moved = {pid for pid in after if after[pid][0] != before[pid][0]}
    assert should_move, "the test must move some points"
    assert moved == should_move
    assert all(after[pid][0] == expected[pid] for pid in expected)
    assert all(after[pid] == before[pid] for pid in after if before[pid][1] == "closed")  # closed ones stay
    assert report["moved"]["scratch_points"]["count"] == len(should_move)
    assert report["changed"] == sorted([a, b]) and report["versions_closed"] == 2 == report["versions_opened"]

    # the moved rows point at the new version of their cell
    versions = session.execute(
        text(
            "SELECT count(*) FROM scratch_points p JOIN grid_cells c ON c.id = p.cell_version_id "
            "WHERE c.valid_to IS NULL AND c.code = p.cell_code"
        )
    ).scalar()
    assert versions == len(should_move)

    # history: a point that changed cell answers with the old cell before the commit and the new one after
    pid = next(iter(should_move))
    x, y = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM scratch_points WHERE id = :i"), {"i": pid}).one()
    old_cell, new_cell = _cell_at(session, x, y, at=t0), _cell_at(session, x, y)
    assert old_cell is not None and new_cell is not None
    assert old_cell.code == before[pid][0] and new_cell.code == expected[pid]
    assert old_cell.valid_to is not None and new_cell.valid_to is None
    assert history(session, community_code=cells.community)[0]["plan_id"] == plan.id


def test_commit_moves_open_tickets_only(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    assert "tickets" in {t.table for t in anchored_tables()}, "tickets are anchored out of the box"
    # put a few tickets into cell b's strip that will move to a
    a, b, new_a, new_b = _shift_edge(cells)
    spot = shapely.point_on_surface(shapely.difference(new_a, cells.geoms[a]))
    ids = session.execute(text("SELECT id FROM tickets ORDER BY id LIMIT 3")).scalars().all()
    session.execute(
        text(
            "UPDATE tickets SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326), cell_code = :b, "
            "state = CASE WHEN id = :closed THEN 'closed' ELSE 'in_progress' END WHERE id = ANY(:ids)"
        ),
        {"x": spot.x, "y": spot.y, "b": b, "ids": ids, "closed": ids[0]},
    )
    put_features(session, plan, "cell", [FeatureInput(a, new_a), FeatureInput(b, new_b)])
    report = commit_plan(session, plan.id, message="move tickets")
    codes = dict(session.execute(text("SELECT id, cell_code FROM tickets WHERE id = ANY(:ids)"), {"ids": ids}).all())
    assert codes == {ids[0]: b, ids[1]: a, ids[2]: a}
    b_to_a = [m["count"] for m in report["moved"]["tickets"]["by_cell"] if (m["from"], m["to"]) == (b, a)]
    assert b_to_a and b_to_a[0] >= 2  # ours, plus any demo ticket already in the strip


def test_second_commit_on_same_base_conflicts(session: Session, cells: LiveCells) -> None:
    a, b, new_a, new_b = _shift_edge(cells)
    first, second = BoundaryPlan(name="甲"), BoundaryPlan(name="乙")
    session.add_all([first, second])
    session.flush()
    put_features(session, first, "cell", [FeatureInput(a, new_a), FeatureInput(b, new_b)])
    put_features(session, second, "cell", [FeatureInput(a, new_a), FeatureInput(b, new_b)])
    commit_plan(session, first.id, message="first")
    with pytest.raises(Conflict) as err:
        commit_plan(session, second.id, message="second")
    assert cells.community in err.value.message
    with pytest.raises(Conflict):  # a committed plan is history
        if first.status == "draft":
            put_features(session, first, "cell", [FeatureInput(a, cells.geoms[a])])
        else:
            commit_plan(session, first.id, message="again")


def test_commit_refused_with_errors_and_nothing_written(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    a, _ = cells.neighbours()
    put_features(session, plan, "cell", [FeatureInput(a, shapely.buffer(cells.geoms[a], -0.0002))])  # leaves a gap
    live_before = session.execute(text("SELECT count(*) FROM grid_cells WHERE valid_to IS NULL")).scalar()
    with pytest.raises(InvalidGeometry) as err:
        commit_plan(session, plan.id, message="bad")
    assert err.value.detail["summary"]["by_kind"].get("gap")
    assert session.execute(text("SELECT count(*) FROM grid_cells WHERE valid_to IS NULL")).scalar() == live_before
