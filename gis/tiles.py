"""Mapbox vector tiles built in PostGIS (ST_AsMVT) for layers that can be large.

Tiles follow the jurisdiction rules of the read API (`gis.feature_json.collection_access`, M8): a layer's public
fields (boundaries and names, as the public maps show them) for anyone, its other fields only on the features the
user may read, and layers with nothing public (buildings, tickets) only with a token and only the features the
user may read. Each layer has a minimum zoom and a cap on features per tile, so one tile never encodes a whole
district; geometries are snapped to the tile's 4096 grid by ST_AsMVTGeom, which simplifies them per zoom.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, case, column, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.orm import Session

from gis import auth
from gis.db import ReadBind, read_session, read_value
from gis.errors import InvalidInput, NotFound
from gis.feature_json import COLLECTIONS, collection_access
from gis.mapdata.tickets import TicketFilters, filter_clauses
from gis.models import GridCell, User, utcnow
from gis.tickets.models import Ticket


@dataclass(frozen=True)
class TileLayer:
    public: tuple[str, ...]  # properties anyone reads (empty: the layer needs a token)
    private: tuple[str, ...]  # properties read only on the features in the user's jurisdiction
    min_zoom: int
    # at most this many features in one tile (the lowest ids first): a tile's work and size stay bounded
    max_features: int = 20_000
    # fewer below some zooms (zoom -> cap): a tile there covers a whole 街道, and dots beyond a few thousand in
    # 256 px only cost time (measured: 1e6 tickets, a z14 tile 0.6-1.5 s at 20,000; W6 at 1e6, docs/serving.md)
    zoom_caps: tuple[tuple[int, int], ...] = ()
    # > 0: the tile is read as 2^strata × 2^strata squares, each holding at most its share of the cap, taken as
    # the GiST index finds them (no sort): a dense tile reads about `cap` rows, not every row under it, and what
    # it keeps is spread over the whole tile; a square within its share holds every feature (W6, docs/serving.md)
    strata: int = 0

    def cap(self, z: int) -> int:
        return min([self.max_features, *(n for upto, n in self.zoom_caps if z <= upto)])

    def bound_cap(self, z: int) -> int:
        """The cap the statement binds: per square when the tile is stratified."""
        return self.cap(z) >> (2 * self.strata)


TILE_LAYERS: dict[str, TileLayer] = {
    "cells": TileLayer(public=("name",), private=("households",), min_zoom=10),
    "compounds": TileLayer(public=("name", "kind"), private=("households",), min_zoom=12),
    "buildings": TileLayer(public=(), private=("name", "households"), min_zoom=14),
    "resources": TileLayer(public=("name", "type"), private=(), min_zoom=10),
    # ticket_id: the /v1/tickets/{id} a click fetches; due_at / opened_at: the operations map's "overdue now"
    # colour and its date filter, both worked out in the browser
    "tickets": TileLayer(
        public=(),
        private=("ticket_id", "category", "state", "urgency", "overdue", "due_at", "opened_at"),
        min_zoom=12,
        zoom_caps=((12, 1_000), (13, 2_000), (14, 5_000), (15, 10_000)),
        strata=3,  # 64 squares of 32 px
    ),
}
# properties only the tiles carry (the feature id is the collection's code: a ticket's public token)
TILE_ONLY: dict[str, dict[str, Any]] = {"tickets": {"ticket_id": Ticket.id}}
# TileJSON field types (the rest are strings)
FIELD_TYPES = {"households": "Number", "ticket_id": "Number", "overdue": "Boolean"}
FILTERED = "tickets"  # the layer the operations map's ticket filters apply to
MAX_ZOOM = 22
EXTENT = 4096  # tile coordinates; ST_AsMVTGeom snaps geometries to this grid (the simplification per zoom)
BUFFER = 64


def tile_layers() -> list[str]:
    return sorted(TILE_LAYERS)


def tile_layer(layer: str) -> TileLayer:
    spec = TILE_LAYERS.get(layer)
    if spec is None:
        raise NotFound(f"unknown tile layer {layer!r}; layers: {', '.join(tile_layers())}")
    return spec


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"zoom {z} out of range 0..{MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{2**z - 1}")


def _attributes(layer: str, names: tuple[str, ...]) -> Any:
    props = {**COLLECTIONS[layer].properties, **TILE_ONLY.get(layer, {})}
    return func.jsonb_build_object(*[part for name in names for part in (literal(name), props[name])])


def tile_fields(layer: str) -> dict[str, str]:
    spec = tile_layer(layer)
    return {name: FIELD_TYPES.get(name, "String") for name in spec.public + spec.private}


def _tile_sql(
    session: Session, layer: str, user: User | None, filters: TicketFilters | None = None
) -> tuple[str, dict[str, Any]]:
    """The tile statement of `layer` as `user` (None: anonymous) may read it, with the ticket filters (tickets
    only), compiled, with :z :x :y bound at each request."""
    spec = TILE_LAYERS[layer]
    source = COLLECTIONS[layer]
    full, public = _attributes(layer, spec.public + spec.private), _attributes(layer, spec.public)
    rows: Any = None  # which features the tile holds (None: every one)
    if user is None and spec.public:
        attrs = public  # anonymous: the public fields of every feature
    else:
        readable = collection_access(session, source, user).where  # Unauthorized without a user
        if not spec.public:
            rows, attrs = readable, full
        elif readable is None or not spec.private:
            attrs = full
        else:  # every feature's public fields, the others where the user answers for it
            attrs = case((readable, full), else_=public)
    env = func.ST_TileEnvelope(
        *(bindparam(k, value=0, type_=Integer) for k in ("z", "x", "y"))  # bound at each request
    )
    model = source.model
    extent: Any = literal_column(str(EXTENT))
    cap = bindparam("cap", value=spec.max_features, type_=Integer)  # the zoom's cap, bound per request
    if spec.strata:
        # one index scan per square of the tile, stopping at the square's share of the cap
        n = 1 << spec.strata
        square = func.generate_series(0, n * n - 1).table_valued(column("i", Integer)).render_derived("square")
        z, x, y = (bindparam(k, value=0, type_=Integer) for k in ("z", "x", "y"))
        part = func.ST_TileEnvelope(z + spec.strata, x * n + square.c.i % n, y * n + square.c.i // n)
        box: Any = func.ST_Transform(part, 4326)
        order: Any = None
    else:
        # the envelope in WGS 84 as an uncorrelated subquery: computed once (an InitPlan), where a generic plan
        # would otherwise transform it again for every row it filters (measured: 1e6 tickets, z14 past 5 s)
        box, order = select(func.ST_Transform(env, 4326)).scalar_subquery(), model.id
    inner = select(model.geom, source.code.label("id"), attrs.label("attrs")).where(model.geom.op("&&")(box))
    if model is GridCell:
        inner = inner.where(GridCell.valid_to.is_(None))
    if rows is not None:
        inner = inner.where(rows)
    if filters is not None:
        inner = inner.where(*filter_clauses(filters, utcnow()))  # "overdue" as of now: the plan lives seconds
    if order is not None:
        inner = inner.order_by(order)
    found = inner.limit(cap)
    feats: Any = found.lateral("feat") if spec.strata else found.subquery("feat")
    mvt = select(
        func.ST_AsMVTGeom(
            func.ST_Transform(feats.c.geom, 3857), env, extent, literal_column(str(BUFFER)), literal_column("true")
        ).label("geom"),
        feats.c.id,
        feats.c.attrs,
    )
    if spec.strata:
        # a feature on the edge of two squares is in both: once in the tile
        mvt = mvt.select_from(square.join(feats, literal_column("true"))).distinct()
    tile = mvt.subquery("mvt")
    stmt = select(func.ST_AsMVT(literal_column("mvt"), literal(layer), extent, literal("geom"))).select_from(tile)
    # render_postcompile: the filters' IN lists as plain bound parameters
    compiled = stmt.compile(dialect=psycopg_dialect(), compile_kwargs={"render_postcompile": True})  # type: ignore[no-untyped-call]
    return str(compiled), dict(compiled.params)


_plans: dict[tuple[str | None, str, TicketFilters | None], tuple[float, str, dict[str, Any]]] = {}
auth.on_account_change(_plans.clear)


def vector_tile(
    bind: ReadBind,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    token: str | None = None,
    filters: TicketFilters | None = None,
) -> bytes:
    """One MVT tile (EPSG:3857 tiling) of a layer as the user of `token` (None: anonymous) may read it, only the
    tickets matching `filters` (the operations map's, tickets only: 422 on another layer); empty bytes when
    nothing is there. One round trip; the statement is compiled once per reader and filter (kept as long as
    `gis.auth` keeps the token)."""
    spec = tile_layer(layer)
    check_tile(z, x, y)
    if z < spec.min_zoom:
        raise InvalidInput(f"请放大地图 / zoom in: the {layer} layer starts at zoom {spec.min_zoom}")
    if filters == TicketFilters():
        filters = None
    if filters is not None:
        if layer != FILTERED:
            raise InvalidInput(f"筛选仅适用于工单图层 / filters apply to the {FILTERED} layer only, not {layer}")
        filters = filters.check()
    key = (auth.token_digest(token) if token is not None else None, layer, filters)
    plan = _plans.get(key)
    if plan is None or plan[0] < time.monotonic():
        with read_session(bind) as session:
            user = auth.user_for_token(session, token) if token is not None else None
            sql, params = _tile_sql(session, layer, user, filters)
        plan = _plans[key] = (time.monotonic() + auth.TOKEN_CACHE_S, sql, params)
    data = read_value(bind, plan[1], {**plan[2], "z": z, "x": x, "y": y, "cap": spec.bound_cap(z)})
    return bytes(data or b"")
