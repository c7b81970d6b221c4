from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import AtQuery, PointQuery, ReadBindDep
from api.schemas.common import error_responses
from api.schemas.locate import LocationPublic
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
