"""Operations-map layers, fetched by bounding box so the page stays the same size as data grows.

A cell metric is one column expression over `grid_cells`; the ticket metrics (open, overdue) plug into
CELL_METRICS when the tickets land, and the page's choropleth picks them up by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from gis.errors import InvalidInput
from gis.features import FeatureQuery, feature_page, in_scope
from gis.mapdata.common import METRES_PER_DEGREE, feature_expr, geojson
from gis.models import AdminArea, Building, GridCell
from gis.resources import is_open

BBox = tuple[float, float, float, float]


BLUES = ("#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d")


@dataclass(frozen=True)
class CellMetric:
    """A number per live cell, coloured by classes: `breaks` are the upper bounds of all classes but the
    last; None = quintiles over all live cells (the same classes wherever the map is panned)."""

    label: str
    unit: str
    value: Callable[[], Any]  # a column expression over GridCell (may be a correlated subquery)
    breaks: tuple[float, ...] | None = None
    colours: tuple[str, ...] = BLUES  # len(breaks) + 1, light to dark


CELL_METRICS: dict[str, CellMetric] = {
    "households": CellMetric("户数", "户", lambda: GridCell.households),
}


def metric_breaks(session: Session, m: CellMetric) -> tuple[float, ...]:
    """The metric's class bounds: its own, or the quantiles of its values over all live cells."""
    if m.breaks is not None:
        return m.breaks
    n = len(m.colours) - 1
    qs = [round((i + 1) / len(m.colours), 4) for i in range(n)]
    values = session.scalar(select(func.percentile_disc(qs).within_group(m.value())).where(GridCell.valid_to.is_(None)))
    return tuple(sorted({float(v) for v in values or [] if v is not None})) or (0.0,)


def _envelope(bbox: BBox) -> Any:
    return func.ST_MakeEnvelope(*bbox, 4326)


def cell_metric_features(
    session: Session,
    *,
    bbox: BBox,
    metric: str,
    scope: list[str] | None,
    simplify_m: float = 0.0,
    limit: int = 3000,
) -> dict[str, Any]:
    """Live cells in a bbox with `value` = the metric; `truncated` when more than `limit` matched."""
    m = CELL_METRICS.get(metric)
    if m is None:
        raise InvalidInput(f"unknown metric {metric!r}; use one of: {', '.join(CELL_METRICS)}")
    community = aliased(AdminArea)
    where = [GridCell.valid_to.is_(None), GridCell.geom.intersects(_envelope(bbox))]
    if scope is not None:
        where.append(in_scope((GridCell.code,), scope))
    feature = feature_expr(
        geojson(GridCell.geom, simplify_m / METRES_PER_DEGREE),
        {
            "code": GridCell.code,
            "name": GridCell.name,
            "community": community.name,
            "households": GridCell.households,
            "value": m.value(),
        },
    )
    rows = list(
        session.scalars(
            select(feature)
            .select_from(GridCell)
            .join(community, community.id == GridCell.community_id)
            .where(*where)
            .order_by(GridCell.code)
            .limit(limit + 1)
        )
    )
    breaks = metric_breaks(session, m)
    colours = m.colours[: len(breaks) + 1]
    return {
        "type": "FeatureCollection",
        "features": rows[:limit],
        "truncated": len(rows) > limit,
        "metric": {"name": metric, "label": m.label, "unit": m.unit, "breaks": breaks, "colours": colours},
    }


def resource_points(session: Session, *, bbox: BBox, types: list[str], limit: int = 5000) -> dict[str, Any]:
    """Service resources in a bbox (public data) with type label and open-now, for the clustered layer."""
    page = feature_page(session, "resources", FeatureQuery(bbox=bbox, types=types, limit=limit))
    for f in page["features"]:
        p = f["properties"]
        p["open_now"] = is_open(p.pop("hours") or [])
        p.pop("photo_url", None)
    return {
        "type": "FeatureCollection",
        "features": page["features"],
        "truncated": page["numberMatched"] > page["numberReturned"],
    }


def household_heat(
    session: Session, *, bbox: BBox, scope: list[str] | None, grid_m: float, limit: int = 20_000
) -> list[list[float]]:
    """[[lat, lon, households], …]: building households summed on a `grid_m` grid (zoom-dependent),
    so an answer stays small at any zoom."""
    point = func.ST_SnapToGrid(func.ST_Centroid(Building.geom), max(grid_m, 1.0) / METRES_PER_DEGREE)
    where = [Building.geom.intersects(_envelope(bbox))]
    if scope is not None:
        where.append(in_scope((Building.code, Building.cell_code), scope))
    inner = select(point.label("p"), Building.households.label("h")).where(*where).subquery()
    total = func.sum(inner.c.h)
    rows = session.execute(
        select(func.ST_Y(inner.c.p), func.ST_X(inner.c.p), total).group_by(inner.c.p).having(total > 0).limit(limit)
    ).all()
    return [[round(float(y), 6), round(float(x), 6), float(h)] for y, x, h in rows]


def service_area_bounds(session: Session) -> BBox | None:
    """The extent of all live cells (where the operations map opens); None when nothing is loaded."""
    env = func.ST_Extent(GridCell.geom)
    row = session.execute(
        select(func.ST_XMin(env), func.ST_YMin(env), func.ST_XMax(env), func.ST_YMax(env)).where(
            GridCell.valid_to.is_(None)
        )
    ).one()
    if row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
