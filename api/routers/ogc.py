"""OGC API – Features Part 1 (read-only) over the same layers as /v1, for QGIS and GDAL's OAPIF driver."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel

from api.deps import BBoxQuery, OptionalUser, PageQuery, SessionDep, layer_scope
from api.paging import GEOJSON, page_links
from api.schemas.common import FeaturePagePublic, FeaturePublic, LinkPublic, error_responses
from gis.errors import NotFound
from gis.features import LAYERS, FeatureQuery, feature_by_code, feature_page

router = APIRouter(prefix="/ogc", tags=["ogc"], responses=error_responses(401, 404, 422))
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


class LandingPublic(BaseModel):
    title: str
    description: str
    links: list[LinkPublic]


class ConformancePublic(BaseModel):
    conformsTo: list[str]  # noqa: N815 - OGC API field name


class CollectionPublic(BaseModel):
    id: str
    title: str
    itemType: str  # noqa: N815 - OGC API field name
    crs: list[str]
    links: list[LinkPublic]


class CollectionsPublic(BaseModel):
    links: list[LinkPublic]
    collections: list[CollectionPublic]


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


@router.get("", summary="landing page", response_model=LandingPublic)
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


@router.get("/conformance", name="ogc_conformance", response_model=ConformancePublic)
def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", name="ogc_collections", response_model=CollectionsPublic)
def collections(request: Request) -> dict[str, Any]:
    return {
        "links": [{"rel": "self", "href": str(request.url), "type": "application/json"}],
        "collections": [_collection(request, name) for name in LAYERS],
    }


@router.get("/collections/{collection_id}", name="ogc_collection", response_model=CollectionPublic)
def collection(collection_id: str, request: Request) -> dict[str, Any]:
    return _collection(request, _layer(collection_id))


@router.get(
    "/collections/{collection_id}/items",
    response_class=ORJSONResponse,
    response_model=FeaturePagePublic,
)
def items(
    collection_id: str, request: Request, session: SessionDep, user: OptionalUser, bbox: BBoxQuery, paging: PageQuery
) -> ORJSONResponse:
    layer = _layer(collection_id)
    q = FeatureQuery(bbox=bbox, limit=paging.limit, offset=paging.offset, scope=layer_scope(layer, user))
    page = feature_page(session, layer, q)
    page["links"] = page_links(request, q, page)
    return ORJSONResponse(page, media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=ORJSONResponse,
    response_model=FeaturePublic,
)
def item(collection_id: str, feature_id: str, session: SessionDep, user: OptionalUser) -> ORJSONResponse:
    layer = _layer(collection_id)
    feature = feature_by_code(session, layer, feature_id, scope=layer_scope(layer, user))
    return ORJSONResponse(feature, media_type=GEOJSON)
