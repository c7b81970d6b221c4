"""Vector tiles: /tiles/{layer}/{z}/{x}/{y}.pbf and their TileJSON, on the read API's jurisdiction rules
(gis.tiles)."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import BearerCredentials, CurrentUser, ReadBindDep, SessionDep, TicketFiltersQuery
from api.fast_paths import FastRoute, plain_bearer
from api.schemas.common import error_responses
from gis.db import read_bind
from gis.errors import Unauthorized
from gis.feature_json import COLLECTIONS
from gis.mapdata import service_area_bounds
from gis.models import utcnow
from gis.patrol import access as patrol_access
from gis.patrol import tiles as patrol_tiles
from gis.tiles import MAX_ZOOM, TILE_LAYERS, tile_fields, tile_layer, tile_layers, vector_tile

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
    bounds: list[float] = Field(description="west, south, east, north of the 街道's live cells (WGS 84)")
    vector_layers: list[VectorLayerPublic]
    max_features: int = Field(description="at most this many features in one tile (a header says when cut)")
    max_features_by_zoom: dict[str, int] | None = Field(
        default=None, description="fewer features a tile at these zooms (and below)"
    )
    sample_seconds: dict[str, int] | None = Field(
        default=None, description="patrol fixes: one fix kept every … seconds at these zooms (all above)"
    )


WORLD = [-180.0, -85.0511, 180.0, 85.0511]


def _bounds(session: Any) -> list[float]:
    box = service_area_bounds(session)
    return [round(v, 6) for v in box] if box else WORLD


def _tile_url(request: Request, layer: str) -> str:
    """The {z}/{x}/{y} template of a layer's tiles, with the query of the TileJSON request (filters, date)."""
    url = str(request.url_for("get_tile", layer=layer, z="0", x="0", y="0")).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    return url + (f"?{request.url.query}" if request.url.query else "")


def _tile_responses(description: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {MVT: {}}, "description": description},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
        **error_responses(*errors),
    }


def _tile_answer(request: Request, data: bytes, headers: dict[str, str]) -> Response:
    """The tile with its headers and an ETag of its bytes and query (filters, date: a filtered tile never answers
    for another); 304 when the client has it."""
    etag = '"' + hashlib.blake2b(data + b"?" + request.url.query.encode(), digest_size=12).hexdigest() + '"'
    headers = {**headers, "Vary": "Authorization", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


# patrol fixes: /tiles/patrol_fixes/… (before the generic /tiles/{layer}/… routes, which would take it)
PATROL = patrol_tiles.LAYER
DayQuery = Annotated[date, Query(alias="date", description="local day (Asia/Shanghai), YYYY-MM-DD")]
WorkerQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="one worker (default: every readable)")]
CommunityQuery = Annotated[
    str | None, Query(max_length=20, pattern=r"^[0-9A-Za-z_-]+$", description="community code (managers: required)")
]


@router.get(
    f"/tiles/{PATROL}.json",
    summary="TileJSON of a day's patrol fixes (token)",
    response_model=TileJsonPublic,
    responses=error_responses(401, 403, 404, 422),
)
def patrol_tilejson(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    day: DayQuery,
    worker_id: WorkerQuery = None,
    community: CommunityQuery = None,
) -> dict[str, Any]:
    """TileJSON 3.0 of the patrol fix tiles for the day (the same jurisdiction as the tiles: 403 when you may
    not read them), with the sampling per zoom and the cap per tile."""
    patrol_tiles.check_day(day, patrol_access.local_day(utcnow()))
    patrol_tiles.readable_workers(session, user, day=day, worker_id=worker_id, community=community)
    url = str(request.url_for("get_patrol_fix_tile", z="0", x="0", y="0")).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    zooms = {"minzoom": patrol_tiles.MIN_ZOOM, "maxzoom": patrol_tiles.MAX_ZOOM}
    return {
        "tilejson": "3.0.0",
        "name": f"巡查轨迹点 {day.isoformat()}",
        "tiles": [f"{url}?{request.url.query}"],
        **zooms,
        "bounds": _bounds(session),
        "vector_layers": [{"id": PATROL, "fields": patrol_tiles.FIELDS, **zooms}],
        "max_features": patrol_tiles.MAX_FEATURES,
        "sample_seconds": {str(z): patrol_tiles.sample_s(z) for z in range(patrol_tiles.MIN_ZOOM, 17)},
    }


@router.get(
    f"/tiles/{PATROL}/{{z}}/{{x}}/{{y}}.pbf",
    name="get_patrol_fix_tile",
    response_class=Response,
    summary="one tile of a day's patrol GPS fixes (token, jurisdiction)",
    responses=_tile_responses("the tile (may be empty); X-Tile-Truncated: cut at the cap", 401, 403, 404, 422),
)
async def get_patrol_fix_tile(
    z: int,
    x: int,
    y: int,
    request: Request,
    bind: ReadBindDep,
    creds: BearerCredentials,
    day: DayQuery,
    worker_id: WorkerQuery = None,
    community: CommunityQuery = None,
) -> Response:
    """GPS fixes of the day as MVT (layer `patrol_fixes`: worker_id, patrol_id, t in epoch seconds, accuracy in
    metres, flags: non-zero for a fix the ingest flagged). Admins read every worker's, managers their community's
    (`community` required) or one worker of their jurisdiction, grid workers their own; other roles 403.

    From zoom 12 (422 below); thinned below zoom 16 (a fix every 30 s at z15 … 5 min at z12, flagged ones always)
    and at most 20,000 fixes a tile: `X-Tile-Truncated: true` when cut, `X-Tile-Sample-Seconds` the step. Past
    days are cached an hour, today a minute; an ETag lets clients revalidate (304)."""
    if creds is None:
        raise Unauthorized("请先登录 / a bearer token is needed for patrol tiles")
    today = patrol_access.local_day(utcnow())
    patrol_tiles.check_day(day, today)
    tile = await run_in_threadpool(
        patrol_tiles.fix_tile,
        bind,
        creds.credentials,
        day=day,
        z=z,
        x=x,
        y=y,
        worker_id=worker_id,
        community=community,
    )
    headers = {
        "Cache-Control": "private, max-age=3600" if day < today else "private, max-age=60",
        "X-Tile-Truncated": "true" if tile.truncated else "false",
        "X-Tile-Sample-Seconds": str(tile.sample_s),
        "Access-Control-Expose-Headers": "X-Tile-Truncated, X-Tile-Sample-Seconds",
    }
    return _tile_answer(request, tile.data, headers)


@router.get("/tiles", summary="tile layers", response_model=TileLayersPublic)
async def list_tile_layers() -> TileLayersPublic:
    """The layers served as vector tiles."""
    return TileLayersPublic(layers=sorted([*tile_layers(), PATROL]))


@router.get(
    "/tiles/{layer}.json",
    summary="TileJSON of a tile layer",
    response_model=TileJsonPublic,
    responses=error_responses(404),
)
def tilejson(layer: str, request: Request, session: SessionDep) -> dict[str, Any]:
    """TileJSON 3.0 for MapLibre/QGIS: the tile URL (with this request's query, e.g. the ticket filters), zoom
    range, bounds of the 街道 and the fields of the layer."""
    spec = tile_layer(layer)
    zooms = {"minzoom": spec.min_zoom, "maxzoom": MAX_ZOOM}
    return {
        "tilejson": "3.0.0",
        "name": COLLECTIONS[layer].name,
        "tiles": [_tile_url(request, layer)],
        **zooms,
        "bounds": _bounds(session),
        "vector_layers": [{"id": layer, "fields": tile_fields(layer), **zooms}],
        "max_features": TILE_LAYERS[layer].max_features,
        "max_features_by_zoom": {str(z): n for z, n in TILE_LAYERS[layer].zoom_caps} or None,
    }


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.pbf",
    name="get_tile",
    response_class=Response,
    summary="one Mapbox vector tile",
    responses=_tile_responses("the tile (may be empty)", 401, 404, 422),
)
async def get_tile(
    layer: str,
    z: int,
    x: int,
    y: int,
    request: Request,
    bind: ReadBindDep,
    creds: BearerCredentials,
    filters: TicketFiltersQuery,
) -> Response:
    """Boundaries, resources and tickets as MVT (EPSG:3857 tile grid), for maps that must stay small as data grows.

    Without a token: public fields (names, kinds) of cells, compounds and resources; with one, the other fields
    within your jurisdiction, buildings, and the tickets you may read. Each layer has a minimum zoom (422 below
    it: zoom in) and a cap on features per tile. The tickets take the operations map's filters (category, state,
    opened_from, opened_to: the same values and 422s as /maps/data/tickets.geojson; other layers 422 on them).
    An ETag (of the tile and its query) lets clients revalidate (304)."""
    token = creds.credentials if creds is not None else None
    data = await run_in_threadpool(vector_tile, bind, layer, z, x, y, token=token, filters=filters)
    cache = "public, max-age=300" if token is None else "private, max-age=60"
    return _tile_answer(request, data, {"Cache-Control": cache})


# --- the hot route without FastAPI's routing and dependency resolution (api/fast_paths.py) ------------------------


def _fast_args(request: Request, found: re.Match[str]) -> tuple[str, int, int, int, str | None] | None:
    """(layer, z, x, y, token) for a tile asked without a query (no filters) and with no or a Bearer token, else
    None (the route answers: its validation and errors)."""
    if found[1] not in TILE_LAYERS or request.url.query:
        return None
    taken, token = plain_bearer(request)
    if not taken:
        return None
    return found[1], int(found[2]), int(found[3]), int(found[4]), token


async def tile_fast(request: Request, found: re.Match[str]) -> Response | None:
    """`GET /tiles/{layer}/{z}/{x}/{y}.pbf` as map clients ask it, answered before the router by the same
    functions as `get_tile` (W4: at z12 FastAPI's routing and request handling took as long as the statement)."""
    args = _fast_args(request, found)
    if args is None:
        return None
    layer, z, x, y, token = args
    bind = read_bind(request.app.state.sessions)
    data = await run_in_threadpool(vector_tile, bind, layer, z, x, y, token=token, filters=None)
    cache = "public, max-age=300" if token is None else "private, max-age=60"
    return _tile_answer(request, data, {"Cache-Control": cache})


FAST_ROUTE = FastRoute("GET", re.compile(r"/tiles/([a-z_]+)/([0-9]{1,2})/([0-9]{1,7})/([0-9]{1,7})\.pbf"), tile_fast)
