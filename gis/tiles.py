"""Mapbox vector tiles built in PostGIS (ST_AsMVT) for layers that can be large.

Tiles follow the jurisdiction rules of the read API (`gis.features.layer_access`, M8): a layer's public fields
(boundaries and names, as the public maps show them) for anyone, its other fields only on the features the
user may read, and layers with nothing public (buildings) only with a token. Each layer has a minimum zoom, so
one tile never encodes a whole district.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, literal, literal_column, select
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound
from gis.features import LAYERS, layer_access
from gis.models import GridCell, User


@dataclass(frozen=True)
class TileLayer:
    public: tuple[str, ...]  # properties anyone reads (empty: the layer needs a token)
    private: tuple[str, ...]  # properties read only on the features in the user's jurisdiction
    min_zoom: int


TILE_LAYERS: dict[str, TileLayer] = {
    "cells": TileLayer(public=("name",), private=("households",), min_zoom=10),
    "compounds": TileLayer(public=("name", "kind"), private=("households",), min_zoom=12),
    "buildings": TileLayer(public=(), private=("name", "households"), min_zoom=14),
    "resources": TileLayer(public=("name", "type"), private=(), min_zoom=10),
}


def tile_layers() -> list[str]:
    return sorted(TILE_LAYERS)


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= 22:
        raise InvalidInput(f"zoom {z} out of range 0..22")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{2**z - 1}")


def _attributes(layer: str, names: tuple[str, ...]) -> Any:
    props = LAYERS[layer].properties
    return func.jsonb_build_object(*[part for name in names for part in (literal(name), props[name])])


def vector_tile(session: Session, layer: str, z: int, x: int, y: int, *, user: User | None = None) -> bytes:
    """One MVT tile (EPSG:3857 tiling) of a layer as `user` (None: anonymous) may read it; empty bytes when
    nothing is there."""
    spec = TILE_LAYERS.get(layer)
    if spec is None:
        raise NotFound(f"unknown tile layer {layer!r}; layers: {', '.join(tile_layers())}")
    check_tile(z, x, y)
    if z < spec.min_zoom:
        raise InvalidInput(f"请放大地图 / zoom in: the {layer} layer starts at zoom {spec.min_zoom}")
    source = LAYERS[layer]
    full, public = _attributes(layer, spec.public + spec.private), _attributes(layer, spec.public)
    rows: Any = None  # which features the tile holds (None: every one)
    if user is None and spec.public:
        attrs = public  # anonymous: the public fields of every feature
    else:
        readable = layer_access(session, layer, user).where  # Unauthorized without a user
        if not spec.public:
            rows, attrs = readable, full
        elif readable is None or not spec.private:
            attrs = full
        else:  # every feature's public fields, the others where the user answers for it
            attrs = case((readable, full), else_=public)
    env = func.ST_TileEnvelope(z, x, y)
    model = source.model
    extent: Any = literal_column("4096")
    buffer: Any = literal_column("64")
    clip: Any = literal_column("true")
    mvt = select(
        func.ST_AsMVTGeom(func.ST_Transform(model.geom, 3857), env, extent, buffer, clip).label("geom"),
        model.code.label("id"),
        attrs.label("attrs"),
    ).where(model.geom.op("&&")(func.ST_Transform(env, 4326)))
    if model is GridCell:
        mvt = mvt.where(GridCell.valid_to.is_(None))
    if rows is not None:
        mvt = mvt.where(rows)
    tile = mvt.subquery("mvt")
    stmt = select(func.ST_AsMVT(literal_column("mvt"), literal(layer), extent, literal("geom")))
    data = session.execute(stmt.select_from(tile)).scalar()
    return bytes(data or b"")
