"""The operations map's data layers as one SQL statement each, whose JSON PostgreSQL makes: the bytes of the
responses of /maps/data/cells.geojson, tickets.geojson, ticket_heat.json and resources.geojson.

Same rows, filters, scope (the `where` clauses of `gis.features.layer_access` and `gis.mapdata.ticket_scope`),
caps and `truncated` flag as the dict-building functions of gis/mapdata/operations.py and tickets.py (no route
uses those now: they are the reference tests/maps/test_layer_json.py compares these with, for each role and
display CRS). For a GCJ-02 basemap the geometries are shifted in PostgreSQL (`gridgov_wgs84_to_gcj02`,
`gridgov_gcj02_lon/lat`, migration 0022: the formula of gis/crs.py, per vertex), not in Python. Only
营业中/休息中 of resources whose hours are an OpenStreetMap expression is decided in Python (holidays:
`gis.reference.hours`, evaluated once a minute): the statement hands the expression over and it is taken out
here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Float, Numeric, Select, Text, cast, false, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY, JSON, aggregate_order_by
from sqlalchemy.orm import Session, aliased

from gis.features import FeatureQuery, _filtered, _layer
from gis.mapdata.operations import cell_metric
from gis.mapdata.tickets import TicketScope, ticket_point_properties
from gis.models import AdminArea, GridCell, ServiceResource
from gis.resources import SHANGHAI, open_now, open_now_params, open_now_sql
from gis.spatial import METRES_PER_DEGREE, BBox, bbox_envelope
from gis.tickets.models import Ticket

DisplayCRS = Literal["wgs84", "gcj02"]
_EMPTY: Any = literal_column("'[]'::json")


def display_geom(geom: Any, crs: DisplayCRS) -> Any:
    """`geom` in the CRS the page draws in: WGS84 as stored, or every vertex shifted to GCJ-02."""
    return geom if crs == "wgs84" else func.gridgov_wgs84_to_gcj02(geom)


def _geometry(geom: Any, crs: DisplayCRS, simplify_deg: float = 0.0) -> Any:
    """GeoJSON geometry (7 decimals ≈ 1 cm, as `gis.spatial.geojson`), simplified in WGS84, then shifted."""
    if simplify_deg:
        geom = func.ST_SimplifyPreserveTopology(geom, simplify_deg)
    return cast(func.ST_AsGeoJSON(display_geom(geom, crs), 7), JSON)


def _object(pairs: dict[str, Any]) -> Any:
    args: list[Any] = []
    for key, value in pairs.items():
        args.extend((literal(key), value))
    return func.json_build_object(*args)


def _feature(geometry: Any, properties: dict[str, Any], feature_id: Any = None) -> Any:
    head: dict[str, Any] = {"type": literal("Feature")}
    if feature_id is not None:
        head["id"] = feature_id
    return _object({**head, "geometry": geometry, "properties": _object(properties)})


def _collection(page: Select[Any], limit: int, **members: Any) -> Select[Any]:
    """A FeatureCollection of `page` (columns f: the feature, n: its order; at most limit + 1 rows), with
    `truncated` when more than `limit` came, and other members."""
    p = page.subquery("page")
    return select(
        cast(
            _object(
                {
                    "type": literal("FeatureCollection"),
                    "features": func.coalesce(
                        func.json_agg(aggregate_order_by(p.c.f, p.c.n)).filter(p.c.n <= limit), _EMPTY
                    ),
                    "truncated": func.count() > limit,
                    **members,
                }
            ),
            Text,
        )
    )


def _text(session: Session, stmt: Select[Any]) -> bytes:
    return str(session.execute(stmt).scalar_one()).encode()


def ticket_points_json(
    session: Session, *, bbox: BBox, scope: TicketScope, crs: DisplayCRS = "wgs84", limit: int = 3000
) -> bytes:
    """`gis.mapdata.ticket_points` as the response's bytes: tickets in a bbox, newest first, at most `limit`."""
    feature = _feature(_geometry(Ticket.geom, crs), ticket_point_properties(scope.now))
    n = func.row_number().over(order_by=Ticket.opened_at.desc())
    page = (
        select(feature.label("f"), n.label("n"))
        .where(*scope.where, Ticket.geom.intersects(bbox_envelope(bbox)))
        .order_by(Ticket.opened_at.desc())
        .limit(limit + 1)
    )
    return _text(session, _collection(page, limit))


def ticket_heat_json(session: Session, *, bbox: BBox, scope: TicketScope, grid_m: float, crs: DisplayCRS = "wgs84",
                     limit: int = 20_000) -> bytes:  # fmt: skip
    """`gis.mapdata.ticket_heat` as the response's bytes: [[lat, lon, tickets], …] on a `grid_m` grid, the
    cell's point rounded to 6 decimals and then shifted to the display CRS."""
    point = func.ST_SnapToGrid(Ticket.geom, max(grid_m, 1.0) / METRES_PER_DEGREE)
    inner = select(point.label("p")).where(*scope.where, Ticket.geom.intersects(bbox_envelope(bbox))).subquery()
    grouped = (
        select(
            cast(func.round(cast(func.ST_X(inner.c.p), Numeric()), 6), Float).label("x"),
            cast(func.round(cast(func.ST_Y(inner.c.p), Numeric()), 6), Float).label("y"),
            cast(func.count(), Float).label("c"),
        )
        .group_by(inner.c.p)
        .limit(limit)
        .subquery()
    )
    x: Any = grouped.c.x
    y: Any = grouped.c.y
    if crs == "gcj02":
        x, y = func.gridgov_gcj02_lon(grouped.c.x, grouped.c.y), func.gridgov_gcj02_lat(grouped.c.x, grouped.c.y)
    row = func.json_build_array(y, x, grouped.c.c)
    stmt = select(cast(func.coalesce(func.json_agg(row), _EMPTY), Text))
    return _text(session, stmt)


def resource_points_json(session: Session, *, bbox: BBox, types: list[str], crs: DisplayCRS = "wgs84",
                         limit: int = 5000) -> bytes:  # fmt: skip
    """`gis.mapdata.resource_points` as the response's bytes: public resources in a bbox by code, at most
    `limit`, with type label and open-now (no hours, photo)."""
    layer = _layer("resources", None)
    ids = _filtered(session, layer, FeatureQuery(bbox=bbox, types=types, limit=limit))  # 422 on an unknown type
    r = ServiceResource
    feature = _feature(
        _geometry(r.geom, crs),
        {
            "code": r.code,
            "type": r.type,
            "name": r.name,
            "address": r.address,
            "phone": r.phone,
            "opening_hours": r.opening_hours,
            "features": r.features,
            "cell_code": r.cell_code,
            "type_label": layer.properties["type_label"],
            "open_now": _open_now_sql(),
            "osm_hours": r.osm_hours,
        },
        feature_id=r.code,
    )
    n = func.row_number().over(order_by=(r.code, r.id))
    page = select(feature.label("f"), n.label("n")).where(r.id.in_(ids.scalar_subquery())).order_by(r.code, r.id)
    return _without_osm_hours(_text(session, _collection(page.limit(limit + 1), limit)))


def _open_now_sql() -> Any:
    """营业中/休息中 from the weekly spans, now (Asia/Shanghai), for resources without an OSM expression (null for
    those: decided in Python). The weekday and time are written in (numbers the code makes, not input)."""
    now = open_now_params()
    spans = open_now_sql("service_resources.hours")
    spans = spans.replace("CAST(:dow AS int)", str(int(now["dow"]))).replace(":hhmm", "'{}'".format(now["hhmm"]))
    return literal_column(f"CASE WHEN service_resources.osm_hours IS NULL THEN {spans} END")


def _without_osm_hours(body: bytes) -> bytes:
    """营业中/休息中 of the resources whose hours are an OpenStreetMap expression (holidays included), decided in
    Python; the expression itself is not part of the layer."""
    if b'"osm_hours" : "' not in body:
        return body.replace(b', "osm_hours" : null', b"")
    answer = orjson.loads(body)
    now = datetime.now(SHANGHAI)
    for f in answer["features"]:
        p = f["properties"]
        osm = p.pop("osm_hours", None)
        if osm:
            p["open_now"] = open_now(osm, None, now)
    return orjson.dumps(answer)


def cell_metric_json(
    session: Session,
    *,
    bbox: BBox,
    metric: str,
    scope: ColumnElement[bool] | None,
    tickets: TicketScope | None = None,
    simplify_m: float = 0.0,
    crs: DisplayCRS = "wgs84",
    limit: int = 3000,
) -> bytes:
    """`gis.mapdata.cell_metric_features` as the response's bytes: live cells in a bbox by code with the metric
    as `value`, and the metric's classes (its quantiles over every live cell: all of them for a column metric,
    the user's for a ticket count, as there)."""
    m = cell_metric(metric)
    community = aliased(AdminArea)
    live: list[ColumnElement[bool]] = [GridCell.valid_to.is_(None)]
    if scope is not None:
        live.append(scope)
    classes = len(m.colours)
    if m.tickets is not None:
        where = [*tickets.where, *m.tickets(tickets.now)] if tickets is not None else [false()]
        counts = (
            select(Ticket.cell_code.label("code"), func.count().label("n"))
            .where(*where)
            .group_by(Ticket.cell_code)
            .cte("counts")
        )
        value: Any = func.coalesce(counts.c.n, 0)
        qs = [(i + 1) / classes for i in range(classes - 1)]
        over = select(value.label("v")).select_from(GridCell).outerjoin(counts, counts.c.code == GridCell.code)
        over = over.where(*live)
    else:
        assert m.value is not None
        counts = None
        value = m.value()
        qs = [round((i + 1) / classes, 4) for i in range(classes - 1)]
        over = select(value.label("v")).where(GridCell.valid_to.is_(None))
    if m.breaks is not None:
        breaks: Any = cast(list(m.breaks), ARRAY(Float))
    else:
        values = over.subquery("over")
        picks = func.percentile_disc(cast(qs, ARRAY(Float))).within_group(cast(values.c.v, Float))
        picked = select(picks.label("q")).select_from(values).subquery("picked")
        unnested = select(func.unnest(picked.c.q).label("b")).select_from(picked).subquery("unnested")
        kept = select(unnested.c.b).where(unnested.c.b.is_not(None)).distinct().subquery("kept")
        distinct = select(func.array_agg(aggregate_order_by(kept.c.b, kept.c.b))).select_from(kept)
        breaks = func.coalesce(distinct.scalar_subquery(), cast([0.0], ARRAY(Float)))
    feature = _feature(
        _geometry(GridCell.geom, crs, simplify_m / METRES_PER_DEGREE),
        {
            "code": GridCell.code,
            "name": GridCell.name,
            "community": community.name,
            "households": GridCell.households,
            "value": value,
        },
    )
    n = func.row_number().over(order_by=GridCell.code)
    page = select(feature.label("f"), n.label("n")).select_from(GridCell)
    page = page.join(community, community.id == GridCell.community_id)
    if counts is not None:
        page = page.outerjoin(counts, counts.c.code == GridCell.code)
    page = page.where(*live, GridCell.geom.intersects(bbox_envelope(bbox))).order_by(GridCell.code).limit(limit + 1)
    b = select(breaks.label("breaks")).scalar_subquery()
    shown = func.unnest(cast(list(m.colours), ARRAY(Text))).table_valued("c", with_ordinality="i").render_derived()
    colours = select(func.json_agg(aggregate_order_by(shown.c.c, shown.c.i)))
    colours = colours.where(shown.c.i <= func.cardinality(b) + 1)  # one colour more than bounds
    metric_json = _object(
        {
            "name": literal(metric),
            "label": literal(m.label),
            "unit": literal(m.unit),
            "breaks": func.to_json(b),
            "colours": colours.scalar_subquery(),
        }
    )
    return _text(session, _collection(page, limit, metric=metric_json))
