"""Where is this point: the one by-location rule, and the small spatial SQL pieces every query shares.

The rule (MapIt's `by_location`), which every ticket, map and commit depends on: a point belongs to the grid
cell whose geometry covers it (ST_Covers, so a point on a shared edge or vertex is inside both neighbours),
among the cell versions in force at a date (the live ones when there is no date); on a shared edge the
lowest code wins. It is written here once, in the two forms the queries need:

- `covering_cell(point, at=...)`: a SQLAlchemy Core lateral selectable, for statements built in Core;
- `COVERING_CELL_SQL`: the same rule as one SQL fragment, for the hand-written `text()` statements of the
  hot paths (locate, intake) and the set-based ones (re-anchoring, plans).

Both are `covering` / `covering_sql` (the covering row of a layer, lowest code first: also used for
compounds and communities) with the cell-version filter, and both keep the index-friendly shape:
ST_Covers(geom, point) lets PostGIS probe the GiST index on `geom`, and LIMIT 1 after ORDER BY code sorts
only the few cells whose box holds the point. tests/gis/test_locate_property.py checks what production
runs (locate, intake's lookup, the Core form) against shapely, on cell edges and at a past date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    FromClause,
    Select,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from gis.errors import OutsideServiceArea
from gis.models import GridCell

BBox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat (WGS84)
LonLat = tuple[float, float]

# Degrees ↔ metres where only a rough figure is needed (simplification, snapping grids, margins).
METRES_PER_DEGREE = 111_000.0

# The WGS84 point of the bound parameters :lon and :lat, for text() statements.
POINT_SQL = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"


def point_sql(lon: float, lat: float) -> ColumnElement[Any]:
    """The WGS84 point (lon, lat) as a bound SQL expression."""
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def bbox_envelope(bbox: BBox) -> ColumnElement[Any]:
    """The WGS84 rectangle of a bbox, for `geom.intersects(...)` (a GiST index probe)."""
    return func.ST_MakeEnvelope(*bbox, 4326)


# --- the by-location rule -------------------------------------------------------------------------------


def cell_version_filter(at: datetime | None) -> ColumnElement[bool]:
    """The cell versions in force at `at` (None: the live version): valid_from <= at < valid_to."""
    if at is None:
        return GridCell.valid_to.is_(None)
    return and_(GridCell.valid_from <= at, or_(GridCell.valid_to.is_(None), GridCell.valid_to > at))


def covering(model: Any, point: ColumnElement[Any], *where: ColumnElement[bool]) -> Select[Any]:
    """The row of a layer (a model with `geom` and `code`) covering `point`; lowest code on a shared edge."""
    return select(model).where(func.ST_Covers(model.geom, point), *where).order_by(model.code).limit(1)


def covering_cell(point: ColumnElement[Any], *, at: datetime | None = None, name: str = "cell") -> FromClause:
    """The grid cell (version in force at `at`, default live) covering `point`, as a lateral selectable:
    join it `ON true` (or select from it) and read its columns from `.c`."""
    return covering(GridCell, point, cell_version_filter(at)).lateral(name)


# The same in SQL. Inside the fragment the layer is aliased `cov`, so a `point` expression may use any other
# alias of the enclosing statement (`p.g`, `ST_PointOnSurface(t.geom)`).
# `:at` is the date (timestamptz, NULL = live); with a NULL constant the planner reduces the CASE to
# `valid_to IS NULL`.
CELL_VERSION_SQL = (
    "CASE WHEN CAST(:at AS timestamptz) IS NULL THEN cov.valid_to IS NULL "
    "ELSE cov.valid_from <= :at AND (cov.valid_to IS NULL OR cov.valid_to > :at) END"
)


def covering_sql(source: str, point: str, *, where: str = "TRUE") -> str:
    """SQL for the row of `source` (a table or CTE with `geom` and `code`) covering the SQL expression
    `point`, lowest code on a shared edge; `where` narrows the rows (on alias `cov`)."""
    return (
        f"SELECT cov.* FROM {source} AS cov WHERE ST_Covers(cov.geom, {point}) AND ({where}) ORDER BY cov.code LIMIT 1"
    )


# The by-location rule for text() statements: `COVERING_CELL_SQL.format(point=...)`, used as a lateral
# subquery (LEFT JOIN LATERAL (...) AS c ON true) or wrapped in a scalar one; it needs the bound :at.
COVERING_CELL_SQL = covering_sql("grid_cells", "{point}", where=CELL_VERSION_SQL)


def at_param(at: datetime | None = None) -> BindParameter[datetime]:
    """The :at of COVERING_CELL_SQL with a default (None: the live cells), for `text(...).bindparams(...)`."""
    return bindparam("at", at, type_=DateTime(timezone=True))


def outside_service_area(lon: float, lat: float) -> OutsideServiceArea:
    """The error for a point that no grid cell covers (locate, intake)."""
    return OutsideServiceArea(
        f"位置 ({lon:.6f}, {lat:.6f}) 不在服务区内 / the point is outside the service area "
        "(no grid cell covers it); check the coordinates and their crs (wgs84, gcj02, bd09, cgcs2000)",
        detail={"lon": lon, "lat": lat},
    )


# --- GeoJSON built in SQL -------------------------------------------------------------------------------


def geojson(geom: Any, simplify_deg: float = 0.0) -> ColumnElement[Any]:
    """ST_AsGeoJSON as jsonb (7 decimals ≈ 1 cm), optionally simplified."""
    if simplify_deg:
        geom = func.ST_SimplifyPreserveTopology(geom, simplify_deg)
    return cast(func.ST_AsGeoJSON(geom, 7), JSONB)


def feature_expr(geometry: Any, props: dict[str, Any], *, feature_id: Any = None) -> ColumnElement[Any]:
    """A GeoJSON Feature as a jsonb expression: `geometry` (see `geojson`), properties by name, optional id."""
    pairs: list[Any] = []
    for key, col in props.items():
        pairs.extend((literal(key), col))
    head: list[Any] = ["type", "Feature"] if feature_id is None else ["type", "Feature", "id", feature_id]
    return func.jsonb_build_object(*head, "geometry", geometry, "properties", func.jsonb_build_object(*pairs))


def feature_collection(features: list[Any], **members: Any) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of `features`, with extra foreign members (numberMatched, truncated …)."""
    return {"type": "FeatureCollection", "features": features, **members}


def features(session: Session, geom: Any, props: dict[str, Any], *where: Any, order: Any, limit: int) -> dict[str, Any]:
    """A FeatureCollection built in SQL."""
    rows = list(session.scalars(select(feature_expr(geom, props)).where(*where).order_by(order).limit(limit)))
    return feature_collection(rows)
