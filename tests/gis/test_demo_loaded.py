"""The demo as PostGIS holds it: valid geometries, no overlapping live cells, idempotent loading."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from data.demo_load import load_demo


def test_demo_geometries_are_valid_and_cells_do_not_overlap(session: Session) -> None:
    for table in ("admin_areas", "grid_cells", "compounds", "buildings"):
        bad = session.execute(text(f"SELECT count(*) FROM {table} WHERE NOT ST_IsValid(geom)")).scalar()  # noqa: S608
        assert bad == 0, table
    overlaps = session.execute(
        text(
            """SELECT count(*) FROM grid_cells a JOIN grid_cells b
           ON a.id < b.id AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')
           WHERE a.valid_to IS NULL AND b.valid_to IS NULL"""
        )
    ).scalar()
    assert overlaps == 0


def test_loading_again_adds_nothing(session: Session) -> None:
    before = load_demo(session)
    assert before["cells"] >= 300 and before["compounds"] >= 450
    assert load_demo(session) == before
