"""Mapbox vector tiles built in PostGIS (ST_AsMVT) for layers that can be large."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound

# layer -> (SQL selecting id, geom and attribute columns; an extra filter). Identifiers are fixed here.
_TILE_LAYERS: dict[str, str] = {
    "cells": "SELECT code AS id, geom AS g, name, households FROM grid_cells WHERE valid_to IS NULL",
    "compounds": "SELECT code AS id, geom AS g, name, kind, households FROM compounds",
    "buildings": "SELECT code AS id, geom AS g, name, households FROM buildings",
    "resources": "SELECT code AS id, geom AS g, name, type FROM service_resources",
}


def register_tile_layer(name: str, select_sql: str) -> None:
    """Let another module (tickets, patrols) publish a layer.

    `select_sql` is fixed SQL of that module (never user input) yielding `id`, the geometry as `g`
    (EPSG:4326) and attribute columns.
    """
    _TILE_LAYERS[name] = select_sql


def tile_layers() -> list[str]:
    return sorted(_TILE_LAYERS)


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= 22:
        raise InvalidInput(f"zoom {z} out of range 0..22")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{2**z - 1}")


def vector_tile(session: Session, layer: str, z: int, x: int, y: int) -> bytes:
    """One MVT tile (EPSG:3857 tiling) of a layer; empty bytes when nothing is there."""
    source = _TILE_LAYERS.get(layer)
    if source is None:
        raise NotFound(f"unknown tile layer {layer!r}; layers: {', '.join(tile_layers())}")
    check_tile(z, x, y)
    sql = text(
        f"""
        WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env),
        src AS ({source}),
        mvt AS (
            SELECT ST_AsMVTGeom(ST_Transform(src.g, 3857), bounds.env, 4096, 64, true) AS geom,
                   to_jsonb(src) - 'g' AS attrs
            FROM src, bounds
            WHERE src.g && ST_Transform(bounds.env, 4326)
        )
        SELECT ST_AsMVT(mvt.*, :layer, 4096, 'geom') FROM mvt
        """  # source is one of the fixed strings above, never user input
    )
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "layer": layer}
    data = session.execute(sql, params).scalar()
    return bytes(data or b"")
