"""GeoJSON read endpoints: /v1/{communities,cells,compounds,buildings,resources}[/{code}]."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.deps import AtQuery, BBoxQuery, CsvQuery, NearQuery, OptionalUser, PageQuery, SessionDep
from api.paging import page_links
from api.schemas.common import FeaturePagePublic, FeaturePublic, error_responses
from gis.errors import InvalidInput
from gis.features import LAYERS, FeatureQuery, feature_by_code, feature_page, layer_access

router = APIRouter(prefix="/v1", tags=["features"], responses=error_responses(401, 403, 404, 422))


def feature_query(
    bbox: BBoxQuery,
    near: NearQuery,
    page: PageQuery,
    at: AtQuery,
    code: Annotated[CsvQuery, Query(description="comma-separated codes")] = (),
    within: Annotated[str | None, Query(description="code of a community, cell or compound")] = None,
    nearest: Annotated[int | None, Query(ge=1, le=100, description="the k nearest to `near`")] = None,
    type: Annotated[CsvQuery, Query(description="comma-separated types")] = (),
    simplify_m: Annotated[float | None, Query(ge=0, le=1000, description="simplify tolerance, metres")] = None,
) -> FeatureQuery:
    q = FeatureQuery(
        codes=list(code),
        bbox=bbox,
        within=within,
        types=list(type),
        at=at,
        simplify_m=simplify_m,
        limit=page.limit,
        offset=page.offset,
    )
    if near is not None:
        if nearest is not None:
            q.nearest = (near.lon, near.lat, nearest)
            if near.radius_given:
                q.near = (near.lon, near.lat, near.radius_m)
        else:
            q.near = (near.lon, near.lat, near.radius_m)
    elif nearest is not None:
        raise InvalidInput("nearest=k needs a point: add near=lon,lat")
    return q


FeatureQueryDep = Annotated[FeatureQuery, Depends(feature_query)]


def _register(layer: str) -> None:
    public = LAYERS[layer].public
    note = "Public." if public else "Requires a token; results limited to your jurisdiction."

    @router.get(
        f"/{layer}",
        response_model=FeaturePagePublic,
        name=f"list_{layer}",
        summary=f"{layer} as GeoJSON",
        description=f"Filter by bbox, within, near, nearest, type. {note}",
    )
    def list_features(request: Request, session: SessionDep, user: OptionalUser, q: FeatureQueryDep) -> Any:
        q.scope = layer_access(session, layer, user, at=q.at)
        page = feature_page(session, layer, q)
        page["links"] = page_links(request, q, page)
        return page

    @router.get(
        f"/{layer}/{{code}}", response_model=FeaturePublic, name=f"get_{layer}", summary=f"one of {layer} by code"
    )
    def get_feature(code: str, session: SessionDep, user: OptionalUser) -> dict[str, Any]:
        return feature_by_code(session, layer, code, scope=layer_access(session, layer, user))


for _layer in LAYERS:
    _register(_layer)
