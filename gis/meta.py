"""Database facts for /health and the CLI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.models import AdminArea, Building, Compound, GridCell, ServiceResource, User


def database_versions(session: Session) -> dict[str, Any]:
    pg = session.execute(text("SHOW server_version")).scalar_one()
    postgis = session.execute(text("SELECT postgis_lib_version()")).scalar_one()
    rev = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {"postgresql": pg, "postgis": postgis, "schema_revision": rev}


def table_counts(session: Session) -> dict[str, int]:
    return {
        "communities": session.scalar(select(func.count()).where(AdminArea.level == "community")) or 0,
        "cells_live": session.scalar(select(func.count()).where(GridCell.valid_to.is_(None))) or 0,
        "compounds": session.scalar(select(func.count(Compound.id))) or 0,
        "buildings": session.scalar(select(func.count(Building.id))) or 0,
        "resources": session.scalar(select(func.count(ServiceResource.id))) or 0,
        "users": session.scalar(select(func.count(User.id))) or 0,
    }


def sample_compound_point(session: Session) -> tuple[str, float, float] | None:
    """A point inside the first compound (by code): for printed example URLs and smoke tests."""
    row = session.execute(
        select(
            Compound.code,
            func.ST_X(func.ST_PointOnSurface(Compound.geom)),
            func.ST_Y(func.ST_PointOnSurface(Compound.geom)),
        )
        .order_by(Compound.code)
        .limit(1)
    ).first()
    return (row[0], float(row[1]), float(row[2])) if row else None
