from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AtQuery, PointQuery, SessionDep
from api.schemas.common import error_responses
from api.schemas.locate import LocationPublic
from gis.locate import locate

router = APIRouter(prefix="/v1", tags=["locate"])


@router.get(
    "/locate",
    response_model=LocationPublic,
    responses=error_responses(404, 422, descriptions={404: "point outside every grid cell", 422: "bad coordinates"}),
)
def get_location(
    session: SessionDep,
    point: PointQuery,
    at: AtQuery,
    per_type: Annotated[int, Query(ge=1, le=10, description="nearest resources per type")] = 1,
) -> LocationPublic:
    """Which 社区 / 网格 / 小区 a point is in, who is responsible, and the nearest resources of each type.

    Public: this is what the QR code on a 便民联系卡 opens.
    """
    loc = locate(session, point.lon, point.lat, at=at, resources_per_type=per_type)
    return LocationPublic.model_validate({**vars(loc), "source_crs": point.source_crs})
