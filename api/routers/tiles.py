"""Vector tiles: /tiles/{layer}/{z}/{x}/{y}.pbf (public layers only; ticket layers add their own auth)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import SessionDep
from gis.tiles import tile_layers, vector_tile

router = APIRouter(tags=["tiles"])

PUBLIC_TILE_LAYERS = frozenset({"cells", "compounds", "buildings", "resources"})


@router.get("/tiles", summary="tile layers")
def list_tile_layers() -> dict[str, list[str]]:
    return {"layers": [name for name in tile_layers() if name in PUBLIC_TILE_LAYERS]}


@router.get("/tiles/{layer}/{z}/{x}/{y}.pbf", response_class=Response, summary="one Mapbox vector tile")
def get_tile(layer: str, z: int, x: int, y: int, session: SessionDep) -> Response:
    """Boundaries and resources as MVT (EPSG:3857 tile grid), for maps that must stay small as data grows."""
    if layer not in PUBLIC_TILE_LAYERS:
        layer = f"?{layer}"  # not served here: let vector_tile answer 404 with the list
    data = vector_tile(session, layer, z, x, y)
    return Response(
        data, media_type="application/vnd.mapbox-vector-tile", headers={"Cache-Control": "public, max-age=300"}
    )
