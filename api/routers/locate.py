from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PointQuery, SessionDep
from api.schemas.common import ErrorOut
from api.schemas.locate import LocationOut
from gis.locate import locate

router = APIRouter(prefix="/v1", tags=["locate"])


@router.get(
    "/locate",
    response_model=LocationOut,
    responses={
        404: {"model": ErrorOut, "description": "point outside every grid cell"},
        422: {"model": ErrorOut, "description": "bad coordinates"},
    },
)
def get_location(
    session: SessionDep,
    point: PointQuery,
    at: Annotated[
        datetime | None, Query(description="boundary version in force at this time (ISO 8601)")
    ] = None,
    per_type: Annotated[int, Query(ge=1, le=10, description="nearest resources per type")] = 1,
) -> LocationOut:
    """Which 社区 / 网格 / 小区 a point is in, who is responsible, and the nearest resources of each type.

    Public: this is what the QR code on a 便民联系卡 opens.
    """
    loc = locate(session, point.lon, point.lat, at=at, resources_per_type=per_type)
    return LocationOut.model_validate({**vars(loc), "source_crs": point.source_crs})
