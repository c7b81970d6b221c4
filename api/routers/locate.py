from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import AtQuery, PointQuery, ReadBindDep
from api.fast_paths import FastRoute
from api.schemas.common import error_responses
from api.schemas.locate import LocationPublic
from gis.crs import InputCRS, to_wgs84
from gis.db import read_bind
from gis.locate_json import locate_json

router = APIRouter(prefix="/v1", tags=["locate"])


@router.get(
    "/locate",
    response_model=LocationPublic,
    responses=error_responses(404, 422, descriptions={404: "point outside every grid cell", 422: "bad coordinates"}),
)
async def get_location(
    bind: ReadBindDep,
    point: PointQuery,
    at: AtQuery,
    per_type: Annotated[int, Query(ge=1, le=10, description="nearest resources per type")] = 1,
) -> Response:
    """Which 社区 / 网格 / 小区 a point is in, who is responsible, and the nearest resources of each type.

    Public: this is what the QR code on a 便民联系卡 opens.
    """
    # one statement, its JSON made in PostgreSQL (gis.locate_json), in one worker-thread hop
    body = await run_in_threadpool(
        locate_json, bind, point.lon, point.lat, source_crs=point.source_crs, at=at, resources_per_type=per_type
    )
    return Response(body, media_type="application/json")


# --- the hot route without FastAPI's routing and dependency resolution (api/fast_paths.py) ------------------------

_PLAIN = frozenset({"lon", "lat", "crs", "per_type"})
_CRS = frozenset(c.value for c in InputCRS)
_PER_TYPE = re.compile(r"[1-9]|10")


_NUMBER = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,15})?")


def _fast_args(request: Request) -> tuple[float, float, str, int] | None:
    """(lon, lat, crs, per_type) when the query is plain and valid, else None (the route answers)."""
    params = request.query_params
    if len(params) != len(params.multi_items()) or not params.keys() <= _PLAIN:
        return None
    lon, lat = params.get("lon", ""), params.get("lat", "")
    crs, per_type = params.get("crs", "wgs84"), params.get("per_type", "1")
    if not (_NUMBER.fullmatch(lon) and _NUMBER.fullmatch(lat) and crs in _CRS and _PER_TYPE.fullmatch(per_type)):
        return None
    x, y = float(lon), float(lat)
    return (x, y, crs, int(per_type)) if abs(x) <= 180 and abs(y) <= 90 else None


async def locate_fast(request: Request, found: re.Match[str]) -> Response | None:
    """`GET /v1/locate?lon=&lat=[&crs=][&per_type=]` as the QR code and the apps ask it, answered before the router
    by the same statement as `get_location`. Anything else (`at=`, a repeated, unknown or bad parameter) goes on
    to the route, so its validation and its 422 bodies are the route's."""
    del found
    args = _fast_args(request)
    if args is None:
        return None
    lon, lat, crs, per_type = args
    x, y = to_wgs84(lon, lat, crs)
    bind = read_bind(request.app.state.sessions)
    body = await run_in_threadpool(locate_json, bind, x, y, source_crs=crs, at=None, resources_per_type=per_type)
    return Response(body, media_type="application/json")


FAST_ROUTE = FastRoute("GET", re.compile(r"/v1/locate"), locate_fast)
