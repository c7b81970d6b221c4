"""OGC API – Features Part 1 (read-only) over the same layers as /v1, for QGIS and GDAL's OAPIF driver."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import ORJSONResponse

from api.deps import BBoxQuery, OptionalUser, SessionDep, SettingsDep
from api.routers.features import layer_scope, page_links
from gis.errors import InvalidInput, NotFound
from gis.features import LAYERS, FeatureQuery, feature_by_code, feature_page

router = APIRouter(prefix="/ogc", tags=["ogc"])

GEOJSON = "application/geo+json"
TITLES = {
    "communities": "社区 communities",
    "cells": "网格 grid cells",
    "compounds": "小区 compounds",
    "buildings": "楼栋 buildings",
    "resources": "服务资源 service resources",
}
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def _collection(request: Request, name: str) -> dict[str, Any]:
    base = str(request.url_for("ogc_collection", collection_id=name))
    return {
        "id": name,
        "title": TITLES.get(name, name),
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            {"rel": "self", "href": base, "type": "application/json"},
            {"rel": "items", "href": f"{base}/items", "type": GEOJSON},
        ],
    }


def _layer(collection_id: str) -> str:
    if collection_id not in LAYERS:
        raise NotFound(f"no collection {collection_id!r}; collections: {', '.join(LAYERS)}")
    return collection_id


@router.get("", summary="landing page")
def landing(request: Request) -> dict[str, Any]:
    return {
        "title": "gridgov OGC API – Features",
        "description": "网格、小区、楼栋与服务资源 / grid cells, compounds, buildings and resources",
        "links": [
            {"rel": "self", "href": str(request.url), "type": "application/json"},
            {"rel": "conformance", "href": str(request.url_for("ogc_conformance")), "type": "application/json"},
            {"rel": "data", "href": str(request.url_for("ogc_collections")), "type": "application/json"},
            {
                "rel": "service-desc",
                "href": str(request.url_for("openapi")),
                "type": "application/vnd.oai.openapi+json;version=3.0",
            },
        ],
    }


@router.get("/conformance", name="ogc_conformance")
def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", name="ogc_collections")
def collections(request: Request) -> dict[str, Any]:
    return {
        "links": [{"rel": "self", "href": str(request.url), "type": "application/json"}],
        "collections": [_collection(request, name) for name in LAYERS],
    }


@router.get("/collections/{collection_id}", name="ogc_collection")
def collection(collection_id: str, request: Request) -> dict[str, Any]:
    return _collection(request, _layer(collection_id))


@router.get("/collections/{collection_id}/items", response_class=ORJSONResponse)
def items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    settings: SettingsDep,
    bbox: BBoxQuery,
    limit: Annotated[int, Query(ge=1)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ORJSONResponse:
    layer = _layer(collection_id)
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit may be at most {settings.max_page_size}")
    q = FeatureQuery(bbox=bbox, limit=limit, offset=offset, scope=layer_scope(layer, user))
    page = feature_page(session, layer, q)
    page["links"] = page_links(request, q, page)
    return ORJSONResponse(page, media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=ORJSONResponse)
def item(collection_id: str, feature_id: str, session: SessionDep, user: OptionalUser) -> ORJSONResponse:
    layer = _layer(collection_id)
    feature = feature_by_code(session, layer, feature_id, scope=layer_scope(layer, user))
    return ORJSONResponse(feature, media_type=GEOJSON)
