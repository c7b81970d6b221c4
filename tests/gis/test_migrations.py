"""The Alembic head must describe exactly what the models declare (no forgotten migration)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from gis.models import Base


def test_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ours})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], diff


def _ours(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    from geoalchemy2 import alembic_helpers

    if type_ == "table" and reflected and compare_to is None:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def test_spatial_columns_are_typed_and_indexed(engine: Engine) -> None:
    insp = inspect(engine)
    for table in ("admin_areas", "grid_cells", "compounds", "buildings", "service_resources"):
        indexes = {i["name"] for i in insp.get_indexes(table)}
        assert f"idx_{table}_geom" in indexes, table
    with engine.connect() as conn:
        from sqlalchemy import text

        rows = dict(
            conn.execute(
                text("select f_table_name, type || ':' || srid from geometry_columns where f_table_schema='public'")
            ).all()
        )
    assert rows["grid_cells"] == "MULTIPOLYGON:4326"
    assert rows["service_resources"] == "POINT:4326"
