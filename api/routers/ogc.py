"""OGC API – Features Part 1 (read-only) over the same layers as /v1, for QGIS and GDAL's OAPIF driver."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import URL

from api.deps import BBoxQuery, BearerCredentials, OptionalUser, ReadBindDep, SettingsDep, parse_bbox
from api.fast_paths import FastRoute, plain_bearer
from api.paging import GEOJSON
from api.schemas.common import FeaturePagePublic, FeaturePublic, LinkPublic, error_responses
from gis import access, cql2_filter, feature_json
from gis.cql2_filter import Filter
from gis.db import read_bind, session_scope
from gis.errors import GridError, InvalidInput, NotFound
from gis.feature_json import COLLECTIONS, Interval, JsonPage, interval, read_page
from gis.features import FeatureQuery
from gis.settings import Settings
from maps.basemaps import basemap_from_settings
from maps.core import PageContext
from maps.ogc_pages import feature_rows
from maps.ogc_pages import ogc_page as ogc_html_page

router = APIRouter(prefix="/ogc", tags=["ogc"], responses=error_responses(401, 404, 422))
TITLES = {
    "communities": "社区 communities",
    "cells": "网格 grid cells",
    "compounds": "小区 compounds",
    "buildings": "楼栋 buildings",
    "resources": "服务资源 service resources",
    "tickets": "工单 tickets (with a token, within your jurisdiction)",
}
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    # Part 3: filtering with CQL2 (docs/serving.md "CQL2 filters")
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"


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


class QueryablesPublic(BaseModel):
    """OGC API – Features Part 3 queryables: a JSON Schema of the properties a `filter` may name."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="$schema")
    id_: str = Field(alias="$id")
    type: Literal["object"]
    title: str
    properties: dict[str, dict[str, Any]]
    additionalProperties: bool  # noqa: N815 - JSON Schema field name


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
            {"rel": QUERYABLES_REL, "href": f"{base}/queryables", "type": SCHEMA_JSON},
        ],
    }


def _layer(collection_id: str) -> str:
    return feature_json.collection(collection_id).name


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


FormatQuery = Annotated[Literal["json", "html"], Query(description="json (default) or html, for a browser")]
JSON = "application/json"


def _html(request: Request, settings: Settings, title: str, links: list[dict[str, Any]], **table: Any) -> HTMLResponse:
    ctx = PageContext(
        title=title,
        basemap=basemap_from_settings(settings.maps.basemap, settings.maps.basemap_key),
        base_url=settings.maps.public_base_url,
        path=request.url.path,
    )
    base = str(request.base_url).rstrip("/")  # the page links to the app by paths (maps.core.ensure_local)

    def local(value: Any) -> Any:
        return value[len(base) :] or "/" if isinstance(value, str) and value.startswith(base) else value

    # an OGC rel URI is shown by its last word (the page names no outside host, maps.core.ensure_local)
    links = [{**link, "href": local(link["href"]), "rel": link["rel"].rsplit("/", 1)[-1]} for link in links]
    if "rows" in table:
        table["rows"] = [{k: local(v) for k, v in row.items()} for row in table["rows"]]
    return HTMLResponse(ogc_html_page(ctx, links=links, **table))


def _alternate(request: Request, links: list[dict[str, Any]], media: str) -> list[dict[str, Any]]:
    html = {"rel": "alternate", "href": str(request.url.include_query_params(f="html")), "type": "text/html"}
    json_link = {"rel": "alternate", "href": str(request.url.remove_query_params("f")), "type": media}
    return [*links, json_link if request.query_params.get("f") == "html" else html]


@router.get(
    "/collections",
    name="ogc_collections",
    response_model=CollectionsPublic,
    responses={200: {"content": {"text/html": {}}}},
)
def collections(request: Request, settings: SettingsDep, f: FormatQuery = "json") -> Any:
    """The collections (tickets: with a token)."""
    body = {
        "links": _alternate(request, [{"rel": "self", "href": str(request.url), "type": JSON}], JSON),
        "collections": [_collection(request, name) for name in COLLECTIONS],
    }
    if f == "html":
        rows = [{"id": c["id"], "title": c["title"], "items": c["links"][1]["href"]} for c in body["collections"]]
        return _html(request, settings, "数据集 collections", body["links"], rows=rows, table_title="collections")
    return body


@router.get(
    "/collections/{collection_id}",
    name="ogc_collection",
    response_model=CollectionPublic,
    responses={200: {"content": {"text/html": {}}}},
)
def collection(collection_id: str, request: Request, settings: SettingsDep, f: FormatQuery = "json") -> Any:
    """One collection and the link to its items."""
    body = _collection(request, _layer(collection_id))
    if f == "html":
        return _html(request, settings, body["title"], body["links"])
    return body


class OgcPage(NamedTuple):
    limit: int
    offset: int


async def ogc_page(  # async: pure computation, no thread hop
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, description="features per page (at most 10,000)")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="features skipped (at most 1,000,000)")] = 0,
) -> OgcPage:
    most = settings.limits.max_ogc_page_size
    if limit > most:
        raise InvalidInput(f"limit may be at most {most}; read further pages with the 'next' link (offset)")
    return OgcPage(limit, offset)


async def datetime_query(  # async: pure computation, no thread hop
    datetime: Annotated[  # noqa: A002 - the OGC API parameter name
        str | None,
        Query(
            description="an instant or 'start/end' ('..' open): cells: the boundary version in force at an "
            "instant; tickets: opened_at within the interval. RFC 3339; without a zone, Beijing time"
        ),
    ] = None,
) -> Interval | None:
    return None if datetime is None else interval(datetime)


OgcPageQuery = Annotated[OgcPage, Depends(ogc_page)]
DatetimeQuery = Annotated[Interval | None, Depends(datetime_query)]
_RESERVED = frozenset(
    {"limit", "offset", "bbox", "datetime", "f", "crs", "bbox-crs", "properties", "sortby"}
    | {"filter", "filter-lang", "filter-crs"}
)


async def filter_query(  # async: pure computation (the parser is Rust), no thread hop
    filter: Annotated[  # noqa: A002 - the OGC API parameter name
        str | None,
        Query(
            description="a CQL2 condition on the queryable properties (GET …/queryables), e.g. "
            "households >= 100 AND name LIKE '%花园%'; see docs/serving.md",
        ),
    ] = None,
    filter_lang: Annotated[
        str | None, Query(alias="filter-lang", description="cql2-text (default) or cql2-json")
    ] = None,
    filter_crs: Annotated[
        str | None, Query(alias="filter-crs", description=f"{cql2_filter.CRS84} (default) or EPSG 4326")
    ] = None,
) -> Filter | None:
    if filter is None:
        cql2_filter.check_options(filter_lang, filter_crs)  # a bad language or CRS is still said
        return None
    return cql2_filter.parse_filter(filter, filter_lang, filter_crs)


FilterQuery = Annotated[Filter | None, Depends(filter_query)]


def _audit(sessions: sessionmaker[Session], subject: str) -> Any:
    def record(user: Any, ref: str, fields: list[str]) -> None:
        with session_scope(sessions) as session:
            access.record_read(session, user, subject=subject, ref=ref, fields=fields)

    return record


def _page_body(page: JsonPage, links: list[dict[str, Any]] | bytes) -> bytes:
    counts = f',"numberReturned":{page.returned}'
    if page.matched is not None:
        counts += f',"numberMatched":{page.matched}'
    return (
        b'{"type":"FeatureCollection","features":'
        + page.features
        + counts.encode()
        + b',"links":'
        + (links if isinstance(links, bytes) else orjson.dumps(links))
        + b"}"
    )


def _more(page: JsonPage, paging: OgcPage) -> bool:
    """Whether a next page follows (counted, or, uncounted, while pages come back full)."""
    return paging.offset + page.returned < page.matched if page.matched is not None else page.returned == paging.limit


def _links(request: Request, paging: OgcPage, more: bool) -> list[dict[str, Any]]:
    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON}]
    if more:
        nxt = request.url.include_query_params(offset=paging.offset + paging.limit, limit=paging.limit)
        links.append({"rel": "next", "href": str(nxt), "type": GEOJSON})
    if paging.offset > 0:
        prev = request.url.include_query_params(offset=max(0, paging.offset - paging.limit), limit=paging.limit)
        links.append({"rel": "prev", "href": str(prev), "type": GEOJSON})
    return links


class ItemsArgs(NamedTuple):
    """What an items request asks, parsed (by FastAPI for the route, by `_fast_args` for the fast path)."""

    token: str | None
    bbox: Any
    paging: OgcPage
    when: Interval | None
    props: dict[str, str]
    flt: Filter | None


async def _read_items(request: Request, bind: Any, layer: str, a: ItemsArgs) -> JsonPage:
    """The page's one statement (`gis.feature_json.read_page`), in one worker-thread hop."""
    q = FeatureQuery(bbox=a.bbox, limit=a.paging.limit, offset=a.paging.offset)
    audit = _audit(request.app.state.sessions, layer)
    return await run_in_threadpool(
        read_page, bind, layer, q, token=a.token, when=a.when, props=a.props, audit=audit, flt=a.flt
    )


@router.get(
    "/collections/{collection_id}/items",
    response_class=Response,
    response_model=FeaturePagePublic,
    responses=error_responses(400, descriptions={400: "a `filter` that cannot run: what, where and how to fix"}),
)
async def items(
    collection_id: str,
    request: Request,
    bind: ReadBindDep,
    creds: BearerCredentials,
    bbox: BBoxQuery,
    paging: OgcPageQuery,
    when: DatetimeQuery,
    flt: FilterQuery,
    settings: SettingsDep,
    f: FormatQuery = "json",
) -> Response:
    """A page of features, built by one SQL statement (GeoJSON made in PostgreSQL).

    Public layers (resources) for anyone; the others, and `tickets`, with a token and within your jurisdiction.
    Filter by `bbox`, `datetime` (cells, tickets), `?property=value` on published properties and `filter` (CQL2-text
    on the queryables: comparisons, AND/OR/NOT, LIKE, IN, BETWEEN, IS NULL, S_INTERSECTS …). numberMatched
    is left out when more than the page and 1,000 further rows match; follow `next` until it is absent."""
    layer = feature_json.collection(collection_id).name
    props = {k: v for k, v in request.query_params.items() if k not in _RESERVED}
    token = creds.credentials if creds is not None else None
    page = await _read_items(request, bind, layer, ItemsArgs(token, bbox, paging, when, props, flt))
    links = _alternate(request, _links(request, paging, _more(page, paging)), GEOJSON)
    if f == "html":
        note = f"{page.returned} / {page.matched if page.matched is not None else '…'}"
        rows = feature_rows(orjson.loads(page.features))
        page_html: Response = _html(request, settings, TITLES.get(layer, layer), links, rows=rows, table_title=note)
        return page_html
    return Response(_page_body(page, links), media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=Response,
    response_model=FeaturePublic,
)
async def item(
    collection_id: str, feature_id: str, request: Request, bind: ReadBindDep, creds: BearerCredentials
) -> Response:
    """One feature by its code (a ticket by its token)."""
    layer = feature_json.collection(collection_id)
    q = FeatureQuery(codes=[feature_id], limit=1)
    page = await run_in_threadpool(
        read_page,
        bind,
        layer.name,
        q,
        token=creds.credentials if creds is not None else None,
        audit=_audit(request.app.state.sessions, layer.name),
    )
    if page.returned == 0:
        raise NotFound(f"no {layer.singular} with code {feature_id!r} (or it is outside your jurisdiction)")
    return Response(page.features[1:-1], media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/queryables",
    name="ogc_queryables",
    response_class=Response,
    response_model=QueryablesPublic,
    responses={
        200: {
            "content": {SCHEMA_JSON: {"schema": {"$ref": "#/components/schemas/QueryablesPublic"}}},
            "description": "JSON Schema of the filterable properties",
        }
    },
)
def queryables(collection_id: str, request: Request, user: OptionalUser) -> Response:
    """The properties a CQL2 `filter` may name (OGC API – Features Part 3), as a JSON Schema: the collection's
    published scalar properties that you read (registers of persons only for the roles that read them)."""
    layer = feature_json.collection(collection_id)
    hidden = frozenset() if layer is feature_json.TICKETS else access.hidden_fields(user, layer.name)
    geometry_type = str(getattr(layer.geom.type, "geometry_type", "geometry") or "geometry").lower()
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": str(request.url.replace(query="")),
        "type": "object",
        "title": TITLES.get(layer.name, layer.name),
        "properties": cql2_filter.queryables_schema(layer.properties, hidden, geometry_type),
        "additionalProperties": False,
    }
    return Response(orjson.dumps(body), media_type=SCHEMA_JSON)


# --- the hot route without FastAPI's routing and dependency resolution -------------------------------------------

_NUMBER = re.compile(r"^[0-9]{1,7}$")
_JSON_ONLY = frozenset({"limit", "offset", "bbox", "datetime", "filter", "filter-lang", "filter-crs"})


async def items_fast(request: Request, found: re.Match[str]) -> Response | None:
    """`GET /ogc/collections/{id}/items` as GIS clients ask it (JSON, plain parameters), answered before the router
    (api/fast_paths.py): the same answer as the `items` route, made by the same functions, without FastAPI's
    dependency resolution and parameter validation, which cost more Python than the rest of a 10-feature page
    (W3; docs/serving.md). A request it does not take as it is (`f=html`, a repeated or malformed parameter, an
    Authorization that is not Bearer) goes on to the route, so its validation and its errors are the route's."""
    if found[1] not in COLLECTIONS:
        return None
    args = _fast_args(request)
    if args is None:
        return None
    page = await _read_items(request, read_bind(request.app.state.sessions), found[1], args)
    links = _page_links(str(request.url), args.paging, _more(page, args.paging))
    return Response(_page_body(page, links), media_type=GEOJSON)


FAST_ROUTE = FastRoute("GET", re.compile(r"/ogc/collections/([a-z_]+)/items"), items_fast)


def _fast_args(request: Request) -> ItemsArgs | None:
    """(token, bbox, paging, when, props, filter) when every parameter is plain and valid, else None."""
    params = request.query_params
    if len(params) != len(params.multi_items()):  # a repeated parameter: the route says what it takes
        return None
    taken, token = plain_bearer(request)
    if not taken:
        return None
    settings: Settings = request.app.state.settings
    try:
        limit = params.get("limit", "100")
        offset = params.get("offset", "0")
        if not (_NUMBER.match(limit) and _NUMBER.match(offset) and params.get("f", "json") == "json"):
            return None
        paging = OgcPage(int(limit), int(offset))
        if not (1 <= paging.limit <= settings.limits.max_ogc_page_size and paging.offset <= 1_000_000):
            return None
        bbox = parse_bbox(params["bbox"]) if "bbox" in params else None
        raw_when = params.get("datetime")
        when = interval(raw_when) if raw_when is not None else None
        raw_filter = params.get("filter")
        lang, crs = params.get("filter-lang"), params.get("filter-crs")
        if raw_filter is None:
            cql2_filter.check_options(lang, crs)
        flt = cql2_filter.parse_filter(raw_filter, lang, crs) if raw_filter is not None else None
    except GridError:
        return None
    props = {k: v for k, v in params.items() if k not in _RESERVED}
    return ItemsArgs(token, bbox, paging, when, props, flt)


@lru_cache(maxsize=1024)
def _page_links(url: str, paging: OgcPage, more: bool) -> bytes:
    """The links of a JSON page at `url` as JSON, made as the route makes them (a page's links depend on its
    URL, its paging and whether more follow; making them with Starlette's URL helpers was ~50 µs a request)."""
    request = Request({"type": "http", "query_string": URL(url).query.encode("latin-1")})
    request._url = URL(url)  # noqa: SLF001 - the URL the links are made of, as the route's request has it
    return orjson.dumps(_alternate(request, _links(request, paging, more), GEOJSON))
