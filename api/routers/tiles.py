"""Vector tiles: /tiles/{layer}/{z}/{x}/{y}.pbf (public layers only)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import SessionDep
from api.schemas.common import error_responses
from gis.errors import NotFound
from gis.tiles import tile_layers, vector_tile

router = APIRouter(tags=["tiles"])

PUBLIC_TILE_LAYERS = frozenset({"cells", "compounds", "buildings", "resources"})


class TileLayersPublic(BaseModel):
    layers: list[str]


def _public_layers() -> list[str]:
    return [name for name in tile_layers() if name in PUBLIC_TILE_LAYERS]


@router.get("/tiles", summary="tile layers", response_model=TileLayersPublic)
def list_tile_layers() -> TileLayersPublic:
    return TileLayersPublic(layers=_public_layers())


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    summary="one Mapbox vector tile",
    responses={
        200: {"content": {"application/vnd.mapbox-vector-tile": {}}, "description": "the tile (may be empty)"},
        **error_responses(404, 422),
    },
)
def get_tile(layer: str, z: int, x: int, y: int, session: SessionDep) -> Response:
    """Boundaries and resources as MVT (EPSG:3857 tile grid), for maps that must stay small as data grows."""
    if layer not in PUBLIC_TILE_LAYERS:
        raise NotFound(f"unknown tile layer {layer!r}; layers: {', '.join(_public_layers())}")
    data = vector_tile(session, layer, z, x, y)
    return Response(
        data, media_type="application/vnd.mapbox-vector-tile", headers={"Cache-Control": "public, max-age=300"}
    )
