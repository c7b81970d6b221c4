"""Vector tiles: /tiles/{layer}/{z}/{x}/{y}.pbf, on the read API's jurisdiction rules (gis.tiles)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import OptionalUser, SessionDep
from api.schemas.common import error_responses
from gis.tiles import tile_layers, vector_tile

router = APIRouter(tags=["tiles"])


class TileLayersPublic(BaseModel):
    layers: list[str]


@router.get("/tiles", summary="tile layers", response_model=TileLayersPublic)
def list_tile_layers() -> TileLayersPublic:
    return TileLayersPublic(layers=tile_layers())


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    summary="one Mapbox vector tile",
    responses={
        200: {"content": {"application/vnd.mapbox-vector-tile": {}}, "description": "the tile (may be empty)"},
        **error_responses(401, 404, 422),
    },
)
def get_tile(layer: str, z: int, x: int, y: int, session: SessionDep, user: OptionalUser) -> Response:
    """Boundaries and resources as MVT (EPSG:3857 tile grid), for maps that must stay small as data grows.

    Without a token: public fields (names, kinds) of cells, compounds and resources; with one, the other fields
    within your jurisdiction, and buildings. Each layer has a minimum zoom (422 below it: zoom in)."""
    data = vector_tile(session, layer, z, x, y, user=user)
    cache = "public, max-age=300" if user is None else "private, max-age=300"
    return Response(
        data, media_type="application/vnd.mapbox-vector-tile", headers={"Cache-Control": cache, "Vary": "Authorization"}
    )
