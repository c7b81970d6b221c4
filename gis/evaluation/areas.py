"""KPIs on the map: a KPI per cell or per community as GeoJSON (the choropleth). Cells are those in force at
some time in the period, each drawn in its latest version of the period: a cell closed by a redraw mid-month
still shows the tickets anchored to it, and a redraw after the period does not change the map."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.evaluation import kpis
from gis.evaluation.units import Period, Unit
from gis.models import AdminArea, GridCell, User

LEVELS = ("cell", "community")


def cells_in_period(session: Session, prefix: str, period: Period) -> list[tuple[str, str, str]]:
    """(code, name, GeoJSON geometry) of every cell under `prefix` in force at some time in the period, each in
    its latest version of the period (the one rule the choropleth and the 通报's map share)."""
    stmt = (
        select(GridCell.code, GridCell.name, func.ST_AsGeoJSON(GridCell.geom, 6))
        .distinct(GridCell.code)
        .where(
            GridCell.code.startswith(prefix, autoescape=True),
            GridCell.valid_from < period.end,
            (GridCell.valid_to.is_(None)) | (GridCell.valid_to > period.start),
        )
        .order_by(GridCell.code, GridCell.valid_from.desc())
    )
    return [(r[0], r[1], r[2]) for r in session.execute(stmt).all()]


def _shapes(session: Session, level: str, unit: Unit, period: Period) -> list[tuple[str, str, str]]:
    """(code, name, GeoJSON geometry) of the cells / communities under the unit in the period."""
    prefix = unit.code if unit.kind in ("street", "community", "cell") else ""
    if level == "cell":
        return cells_in_period(session, prefix, period)
    else:
        stmt = (
            select(AdminArea.code, AdminArea.name, func.ST_AsGeoJSON(AdminArea.geom, 6))
            .where(AdminArea.level == "community", AdminArea.code.startswith(prefix[:12], autoescape=True))
            .order_by(AdminArea.code)
        )
    return [(r[0], r[1], r[2]) for r in session.execute(stmt).all()]


def kpi_map(
    session: Session, period: Period, *, unit: Unit, user: User | None, level: str, kpi: str, basic: bool = False
) -> dict[str, Any]:
    """A FeatureCollection: every cell (community) under the unit with all its KPIs and `value` = the chosen one.
    `basic`: only the ticket-table figures (kpis.BASIC; the others None) — for a basic `kpi`, the same value fast."""
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}")
    if kpi not in kpis.LABELS:
        raise InvalidInput(f"unknown figure {kpi!r}; figures: {', '.join(kpis.LABELS)}")
    if unit.kind not in ("street", "community"):
        raise InvalidInput("the map covers a 街道 or a 社区: unit=street or unit=community")
    if basic and kpi not in kpis.BASIC:
        raise InvalidInput(f"figures=basic holds only {', '.join(kpis.BASIC)}; ask {kpi!r} with figures=all")
    rows = {r["key"]: r for r in kpis.compute(session, period, unit=unit, user=user, group_by=level, basic=basic)}
    features = []
    for code, name, geom in _shapes(session, level, unit, period):
        fig = rows.get(code)
        props = {"code": code, "name": name, "value": fig.get(kpi) if fig else None, "received": 0}
        if fig:
            props.update({k: v for k, v in fig.items() if k != "key"})
        features.append({"type": "Feature", "id": code, "geometry": json.loads(geom), "properties": props})
    return {
        "type": "FeatureCollection",
        "features": features,
        "kpi": kpi,
        "label": kpis.LABELS[kpi],
        "level": level,
    }
