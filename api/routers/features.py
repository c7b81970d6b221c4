"""GeoJSON read endpoints: /v1/{communities,cells,compounds,buildings,resources}[/{code}]."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.deps import BBoxQuery, OptionalUser, SessionDep, SettingsDep
from api.schemas.common import ErrorOut, FeatureCollectionOut
from gis.auth import scope_codes
from gis.crs import InputCRS, to_wgs84
from gis.errors import InvalidInput, Unauthorized
from gis.features import LAYERS, FeatureQuery, feature_by_code, feature_page
from gis.models import User

router = APIRouter(prefix="/v1", tags=["features"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


def _numbers(raw: str, name: str, count: tuple[int, ...], usage: str) -> list[float]:
    try:
        values = [float(p) for p in raw.split(",")]
    except ValueError as exc:
        raise InvalidInput(f"{name} must be {usage}, got {raw!r}") from exc
    if len(values) not in count:
        raise InvalidInput(f"{name} must be {usage}, got {raw!r}")
    return values


def feature_query(
    settings: SettingsDep,
    bbox: BBoxQuery,
    code: Annotated[str | None, Query(description="comma-separated codes")] = None,
    within: Annotated[str | None, Query(description="code of a community, cell or compound")] = None,
    near: Annotated[str | None, Query(description="lon,lat[,radius_m] (radius default 1000 m)")] = None,
    nearest: Annotated[int | None, Query(ge=1, le=100, description="the k nearest to `near`")] = None,
    crs: Annotated[InputCRS, Query(description="CRS of `near`")] = InputCRS.wgs84,
    type: Annotated[str | None, Query(description="comma-separated types")] = None,
    at: Annotated[datetime | None, Query(description="cells: version in force at this time")] = None,
    simplify_m: Annotated[
        float | None, Query(ge=0, le=1000, description="simplify tolerance, metres")
    ] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> FeatureQuery:
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit may be at most {settings.max_page_size}; page with offset")
    q = FeatureQuery(
        codes=[c for c in (code or "").split(",") if c],
        bbox=bbox,
        within=within,
        types=[t for t in (type or "").split(",") if t],
        at=at,
        simplify_m=simplify_m,
        limit=limit,
        offset=offset,
    )
    if near is not None:
        values = _numbers(near, "near", (2, 3), "'lon,lat' or 'lon,lat,radius_m'")
        lon, lat = to_wgs84(values[0], values[1], crs)
        radius = values[2] if len(values) == 3 else 1000.0
        if not 0 < radius <= 50_000:
            raise InvalidInput("near radius_m must be in (0, 50000]")
        if nearest is not None:
            q.nearest = (lon, lat, nearest)
            if len(values) == 3:
                q.near = (lon, lat, radius)
        else:
            q.near = (lon, lat, radius)
    elif nearest is not None:
        raise InvalidInput("nearest=k needs a point: add near=lon,lat")
    return q


FeatureQueryDep = Annotated[FeatureQuery, Depends(feature_query)]


def layer_scope(layer: str, user: User | None) -> list[str] | None:
    if LAYERS[layer].public:
        return None
    if user is None:
        raise Unauthorized(
            f"需要登录 / the {layer} layer requires authentication: send 'Authorization: Bearer <token>'"
        )
    return scope_codes(user)


def page_links(request: Request, q: FeatureQuery, page: dict[str, Any]) -> list[dict[str, Any]]:
    links = [{"rel": "self", "href": str(request.url), "type": "application/geo+json"}]
    if q.nearest is None and q.offset + page["numberReturned"] < page["numberMatched"]:
        nxt = request.url.include_query_params(offset=q.offset + q.limit)
        links.append({"rel": "next", "href": str(nxt), "type": "application/geo+json"})
    if q.offset > 0:
        prev = request.url.include_query_params(offset=max(0, q.offset - q.limit))
        links.append({"rel": "prev", "href": str(prev), "type": "application/geo+json"})
    return links


def _register(layer: str) -> None:
    public = LAYERS[layer].public
    note = "Public." if public else "Requires a token; results limited to your jurisdiction."

    @router.get(
        f"/{layer}",
        response_model=FeatureCollectionOut,
        responses=ERRORS,
        name=f"list_{layer}",
        summary=f"{layer} as GeoJSON",
        description=f"Filter by bbox, within, near, nearest, type. {note}",
    )
    def list_features(request: Request, session: SessionDep, user: OptionalUser, q: FeatureQueryDep) -> Any:
        q.scope = layer_scope(layer, user)
        page = feature_page(session, layer, q)
        page["links"] = page_links(request, q, page)
        return page

    @router.get(
        f"/{layer}/{{code}}", responses=ERRORS, name=f"get_{layer}", summary=f"one of {layer} by code"
    )
    def get_feature(code: str, session: SessionDep, user: OptionalUser) -> dict[str, Any]:
        return feature_by_code(session, layer, code, scope=layer_scope(layer, user))


for _layer in LAYERS:
    _register(_layer)
