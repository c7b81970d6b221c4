"""Operations-map layers, fetched by bounding box so the page stays the same size as data grows.

A cell metric is either one column expression over `grid_cells` (households) or a count of tickets per
cell (open, overdue): those come from one grouped query by cell code over the tickets the user may see,
with the page's filters applied. The page's choropleth picks a metric up by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import Session, aliased

from gis.errors import InvalidInput
from gis.features import FeatureQuery, feature_page
from gis.mapdata.tickets import TicketScope, counts_by_cell
from gis.models import AdminArea, Building, GridCell
from gis.spatial import METRES_PER_DEGREE, BBox, bbox_envelope, feature_collection, feature_expr, geojson
from gis.tickets.models import Ticket
from gis.tickets.queries import overdue_clause
from gis.tickets.workflow import OPEN_STATES

BLUES = ("#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d")
ORANGES = ("#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603")
REDS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")


@dataclass(frozen=True)
class CellMetric:
    """A number per live cell, coloured by classes: `breaks` are the upper bounds of all classes but the
    last; None = quintiles over all live cells (the same classes wherever the map is panned)."""

    label: str
    unit: str
    value: Callable[[], Any] | None = None  # a column expression over GridCell
    # or: tickets counted per cell, those matching these clauses (given `now`) among the visible ones
    tickets: Callable[[datetime], list[ColumnElement[bool]]] | None = None
    breaks: tuple[float, ...] | None = None
    colours: tuple[str, ...] = BLUES  # len(breaks) + 1, light to dark


CELL_METRICS: dict[str, CellMetric] = {
    "open_tickets": CellMetric(
        "未办结工单", "件", tickets=lambda now: [Ticket.state.in_(sorted(OPEN_STATES))], colours=ORANGES
    ),
    "overdue_tickets": CellMetric("超期工单", "件", tickets=lambda now: [overdue_clause(now)], colours=REDS),
    "households": CellMetric("户数", "户", value=lambda: GridCell.households),
}


def cell_metric(name: str) -> CellMetric:
    """The metric of that name; InvalidInput (422) naming the known ones otherwise."""
    m = CELL_METRICS.get(name)
    if m is None:
        raise InvalidInput(f"unknown metric {name!r}; use one of: {', '.join(CELL_METRICS)}")
    return m


def quantile_breaks(values: list[float], classes: int) -> tuple[float, ...]:
    """Upper bounds of `classes` classes (percentile_disc semantics), duplicates merged."""
    if not values:
        return (0.0,)
    ordered = sorted(values)
    qs = [(i + 1) / classes for i in range(classes - 1)]
    picks = {float(ordered[max(0, math.ceil(q * len(ordered)) - 1)]) for q in qs}
    return tuple(sorted(picks))


def metric_breaks(session: Session, m: CellMetric) -> tuple[float, ...]:
    """The metric's class bounds: its own, or the quantiles of its values over all live cells."""
    if m.breaks is not None:
        return m.breaks
    if m.value is None:
        raise ValueError("a ticket metric's breaks come from its counts (see cell_metric_features)")
    n = len(m.colours) - 1
    qs = [round((i + 1) / len(m.colours), 4) for i in range(n)]
    values = session.scalar(select(func.percentile_disc(qs).within_group(m.value())).where(GridCell.valid_to.is_(None)))
    return tuple(sorted({float(v) for v in values or [] if v is not None})) or (0.0,)


def cell_metric_features(
    session: Session,
    *,
    bbox: BBox,
    metric: str,
    scope: ColumnElement[bool] | None,
    tickets: TicketScope | None = None,
    simplify_m: float = 0.0,
    limit: int = 3000,
) -> dict[str, Any]:
    """Live cells in a bbox with `value` = the metric; `truncated` when more than `limit` matched.

    A ticket metric counts the tickets of `tickets` (visibility + filters; None: no ticket is visible)
    per cell in one grouped query; its classes are the quantiles over every live cell in `scope` (the
    user's cells: `gis.features.layer_access(..., "cells", user).where`; None = all), so they stay the same
    wherever the map is panned."""
    m = cell_metric(metric)
    community = aliased(AdminArea)
    live: list[ColumnElement[bool]] = [GridCell.valid_to.is_(None)]
    if scope is not None:
        live.append(scope)
    where = [*live, GridCell.geom.intersects(bbox_envelope(bbox))]
    counts: dict[str, int] | None = None
    if m.tickets is not None:
        counts = {} if tickets is None else counts_by_cell(session, tickets, *m.tickets(tickets.now))
    feature = feature_expr(
        geojson(GridCell.geom, simplify_m / METRES_PER_DEGREE),
        {
            "code": GridCell.code,
            "name": GridCell.name,
            "community": community.name,
            "households": GridCell.households,
            "value": m.value() if m.value is not None else literal(0),
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
    if counts is None:
        breaks = metric_breaks(session, m)
    else:
        for f in rows:
            f["properties"]["value"] = counts.get(f["properties"]["code"], 0)
        codes = session.scalars(select(GridCell.code).where(*live))
        breaks = m.breaks or quantile_breaks([float(counts.get(c, 0)) for c in codes], len(m.colours))
    colours = m.colours[: len(breaks) + 1]
    return feature_collection(
        rows[:limit],
        truncated=len(rows) > limit,
        metric={"name": metric, "label": m.label, "unit": m.unit, "breaks": breaks, "colours": colours},
    )


def resource_points(session: Session, *, bbox: BBox, types: list[str], limit: int = 5000) -> dict[str, Any]:
    """Service resources in a bbox (public data) with type label and open-now, for the clustered layer."""
    page = feature_page(session, "resources", FeatureQuery(bbox=bbox, types=types, limit=limit))
    for f in page["features"]:
        p = f["properties"]
        p.pop("hours", None)  # open_now is computed by feature_page (holidays included)
        p.pop("osm_hours", None)
        p.pop("photo_url", None)
    return feature_collection(page["features"], truncated=page["numberMatched"] > page["numberReturned"])


def household_heat(
    session: Session, *, bbox: BBox, scope: ColumnElement[bool] | None, grid_m: float, limit: int = 20_000
) -> list[list[float]]:
    """[[lat, lon, households], …]: building households summed on a `grid_m` grid (zoom-dependent),
    so an answer stays small at any zoom; `scope` selects the buildings the user may read (None = all)."""
    point = func.ST_SnapToGrid(func.ST_Centroid(Building.geom), max(grid_m, 1.0) / METRES_PER_DEGREE)
    where = [Building.geom.intersects(bbox_envelope(bbox))]
    if scope is not None:
        where.append(scope)
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
