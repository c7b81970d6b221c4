"""Vector tiles: /tiles/{layer}/{z}/{x}/{y}.pbf and their TileJSON, on the read API's jurisdiction rules
(gis.tiles)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import BearerCredentials, ReadBindDep
from api.schemas.common import error_responses
from gis.feature_json import COLLECTIONS
from gis.tiles import MAX_ZOOM, tile_layer, tile_layers, vector_tile

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"


class TileLayersPublic(BaseModel):
    layers: list[str]


class VectorLayerPublic(BaseModel):
    id: str
    fields: dict[str, str]
    minzoom: int
    maxzoom: int


class TileJsonPublic(BaseModel):
    tilejson: str
    name: str
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float]
    vector_layers: list[VectorLayerPublic]


@router.get("/tiles", summary="tile layers", response_model=TileLayersPublic)
async def list_tile_layers() -> TileLayersPublic:
    """The layers served as vector tiles."""
    return TileLayersPublic(layers=tile_layers())


@router.get(
    "/tiles/{layer}.json",
    summary="TileJSON of a tile layer",
    response_model=TileJsonPublic,
    responses=error_responses(404),
)
async def tilejson(layer: str, request: Request) -> dict[str, Any]:
    """TileJSON 3.0 for MapLibre/QGIS: the tile URL, zoom range and the fields of the layer."""
    spec = tile_layer(layer)
    url = str(request.url_for("get_tile", layer=layer, z="0", x="0", y="0")).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    fields = dict.fromkeys(spec.public + spec.private, "String")
    return {
        "tilejson": "3.0.0",
        "name": COLLECTIONS[layer].name,
        "tiles": [url],
        "minzoom": spec.min_zoom,
        "maxzoom": MAX_ZOOM,
        "bounds": [-180.0, -85.0511, 180.0, 85.0511],
        "vector_layers": [{"id": layer, "fields": fields, "minzoom": spec.min_zoom, "maxzoom": MAX_ZOOM}],
    }


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    name="get_tile",
    response_class=Response,
    summary="one Mapbox vector tile",
    responses={
        200: {"content": {MVT: {}}, "description": "the tile (may be empty)"},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
        **error_responses(401, 404, 422),
    },
)
async def get_tile(
    layer: str, z: int, x: int, y: int, request: Request, bind: ReadBindDep, creds: BearerCredentials
) -> Response:
    """Boundaries, resources and tickets as MVT (EPSG:3857 tile grid), for maps that must stay small as data grows.

    Without a token: public fields (names, kinds) of cells, compounds and resources; with one, the other fields
    within your jurisdiction, buildings, and the tickets you may read. Each layer has a minimum zoom (422 below
    it: zoom in) and a cap on features per tile. An ETag lets clients revalidate (304)."""
    token = creds.credentials if creds is not None else None
    data = await run_in_threadpool(vector_tile, bind, layer, z, x, y, token=token)
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    cache = "public, max-age=300" if token is None else "private, max-age=60"
    headers = {"Cache-Control": cache, "Vary": "Authorization", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=MVT, headers=headers)
