"""Map pages (HTML built by maps/) and the small data endpoints the operations map fetches by bbox.

Auth: the 小区/社区 service-resource maps are public (residents open them from the QR code on the
便民联系卡; they show what the 责任公示牌 on the wall shows). The operations map page is a public shell
that holds no data: its cell and household layers come from /maps/data/… endpoints that need a bearer
token (jurisdiction-limited), which the page keeps in localStorage after its small login form (or a
`#token=` link). Resources are public data, so their layer needs no token. Ticket layers (points for
the clusters, heat, per-cell counts) need a token too and show only the tickets the user may read
(gis.tickets.access), filtered by category / state / opening date; a bad filter is a 422.
The ticket page /maps/tickets/{id} is a shell as well: it reads /v1/tickets/{id} with the stored token.
The plan diff map /maps/plans/{id} answers a request without a token with such a shell, which asks again
with the stored token.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import Field

from api.deps import CsvQuery, CurrentUser, DisplayBBox, OptionalUser, SessionDep, SettingsDep, TicketFiltersQuery
from api.page_cache import cached_page, data_version
from api.schemas.common import FeatureCollectionPublic, error_responses
from gis.access import PLAN_READERS
from gis.auth import require_role
from gis.evaluation.consultations import public_topics
from gis.features import layer_access
from gis.mapdata import (
    community_map_data,
    compound_map_data,
    household_heat,
    service_area_bounds,
    ticket_scope,
)
from gis.mapdata.layers import cell_metric_json, resource_points_json, ticket_heat_json, ticket_points_json
from gis.models import utcnow
from gis.participation.maplayer import participation_layer
from gis.participation.summary import participation as participation_summary
from gis.patrol.access import local_day
from gis.patrol.daymap import patrol_day_map
from gis.plans.catalog import readable_plan
from gis.plans.diffmap import plan_diff_map
from gis.plans.draft import get_plan
from gis.settings import Settings
from maps.assets import resolve_asset
from maps.basemaps import basemap_from_settings, project_features, projection_for
from maps.community_map import community_page
from maps.core import PageContext
from maps.operations_map import OperationsData, operations_page
from maps.patrol_map import patrol_map_page, patrol_shell_page
from maps.plan_map import plan_page, plan_shell_page
from maps.resource_map import compound_page
from maps.ticket_page import ticket_page

router = APIRouter(tags=["maps"], responses=error_responses(401, 403, 404, 422))

CodePath = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,24}$", description="compound / community code")]
PAGE_HEADERS = {"Cache-Control": "no-cache"}


def _context(settings: Settings, path: str, title: str) -> PageContext:
    return PageContext(
        title=title,
        basemap=basemap_from_settings(settings.maps.basemap, settings.maps.basemap_key),
        base_url=settings.maps.public_base_url,
        path=path,
    )


@router.get("/maps/compounds/{code}", response_class=HTMLResponse, summary="小区服务资源地图 (public)")
def compound_map_page(code: CodePath, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Built once per version of its data (api.page_cache), revalidated with an ETag."""
    data = compound_map_data(session, code)
    community = data.compound["community"]["code"]
    data.participation = {
        "community": participation_summary(session, community=community),
        "compound": participation_summary(session, community=community, compound=code),
    }
    data.consultations = public_topics(session, code)
    ctx = _context(settings, f"/maps/compounds/{code}", f"{data.compound['name']} · 小区服务资源地图")
    version = data_version(data, settings.maps)
    return cached_page(request, version, lambda: compound_page(data, ctx), PAGE_HEADERS)


@router.get("/maps/communities/{code}", response_class=HTMLResponse, summary="社区服务资源地图 (public)")
def community_map_page(code: CodePath, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Built once per version of its data (api.page_cache), revalidated with an ETag."""
    data = community_map_data(session, code)
    data.participation = {"community": participation_summary(session, community=code)}
    name = data.community["properties"]["name"]
    ctx = _context(settings, f"/maps/communities/{code}", f"{name} · 社区服务资源地图")
    version = data_version(data, settings.maps)
    return cached_page(request, version, lambda: community_page(data, ctx), PAGE_HEADERS)


@router.get("/maps/operations", response_class=HTMLResponse, summary="operations map (its data needs a token)")
def operations_map_page(session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    ctx = _context(settings, "/maps/operations", "网格运行图 · 网格化管理")
    return HTMLResponse(operations_page(OperationsData(service_area_bounds(session)), ctx), headers=PAGE_HEADERS)


@router.get("/maps/tickets/{ticket_id}", response_class=HTMLResponse, summary="one ticket and its history (token)")
def ticket_map_page(ticket_id: Annotated[int, Path(ge=1, le=2**31 - 1)], settings: SettingsDep) -> HTMLResponse:
    """A shell: the page fetches /v1/tickets/{id} and its history with the token the operations map keeps."""
    ctx = _context(settings, f"/maps/tickets/{ticket_id}", f"工单 {ticket_id} · 网格化管理")
    return HTMLResponse(ticket_page(ticket_id, ctx), headers=PAGE_HEADERS)


@router.get("/maps/plans/{plan_id}", response_class=HTMLResponse, summary="plan diff map (planner token)")
def plan_diff_page(
    plan_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, settings: SettingsDep, user: OptionalUser
) -> HTMLResponse:
    """Live cells against a draft plan, the ground that changes cell, and what a commit would move.

    Plans are not public. With a planner's, admin's or manager's bearer token (e.g. `curl -H 'Authorization:
    Bearer …' … > diff.html`) the answer is the diff map; other roles get 403, a bad token 401. Without the
    header (a link, e.g. from the plan editor) the answer is a shell holding no plan data whose script asks
    this URL again with the token the map pages keep in localStorage.
    """
    ctx = _context(settings, f"/maps/plans/{plan_id}", f"网格调整对比图 · 方案 {plan_id}")
    headers = {**PAGE_HEADERS, "Vary": "Authorization"}
    if user is None:
        get_plan(session, plan_id)  # 404 for a plan that does not exist, as the editor page does
        return HTMLResponse(plan_shell_page(plan_id, ctx), headers=headers)
    require_role(user, *PLAN_READERS)
    readable_plan(session, user, plan_id)  # a manager's: only plans touching their communities
    data = plan_diff_map(session, plan_id)
    return HTMLResponse(plan_page(data, ctx), headers=headers)


@router.get("/maps/patrols", response_class=HTMLResponse, summary="巡查地图: a day's patrols (manager/admin token)")
def patrol_map(
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalUser,
    day: Annotated[date | None, Query(alias="date", description="local day (default today)")] = None,
    community: Annotated[str | None, Query(max_length=20, description="community code (managers: required)")] = None,
    days: Annotated[int, Query(ge=1, le=366, description="compounds not visited for this many days")] = 7,
) -> HTMLResponse:
    """Tracks by worker, check-ins, 五必查 problems, coverage, compounds below the 定岗 rule or not visited, and
    the rule table. Managers see their community, admins any. Without an Authorization header (a link) the
    answer is a shell that asks again with the stored token, like the plan diff map."""
    ctx = _context(settings, "/maps/patrols", "巡查地图 · 网格化管理")
    headers = {**PAGE_HEADERS, "Vary": "Authorization"}
    if user is None:
        return HTMLResponse(patrol_shell_page(ctx), headers=headers)
    data = patrol_day_map(session, user, day=day or local_day(utcnow()), community=community, unvisited_days=days)
    return HTMLResponse(patrol_map_page(data, ctx), headers=headers)


@router.get("/assets/{path:path}", include_in_schema=False)
def asset_file(path: str, settings: SettingsDep) -> FileResponse:
    """Pinned JS/CSS/fonts from node_modules (allow-listed in maps/assets.py); 404 otherwise."""
    file, media_type = resolve_asset(path, assets_dir=settings.maps.assets_dir)
    return FileResponse(file, media_type=media_type, headers={"Cache-Control": "public, max-age=31536000, immutable"})


# --- data of the operations map, by bbox --------------------------------------------------------


def _metres_per_pixel(zoom: float) -> float:
    return 40_075_016.0 / 256.0 / 2**zoom


class MapLayerPublic(FeatureCollectionPublic):
    """A map layer's features, in the `crs` the page asked for."""

    truncated: bool = Field(description="more matched than the layer shows: zoom in or filter")


Zoom = Annotated[float, Query(ge=0, le=22, description="map zoom: sets simplification / heat grid")]


@router.get(
    "/maps/data/cells.geojson",
    summary="cells with a metric for the choropleth (token)",
    response_model=MapLayerPublic,
)
def cells_data(
    session: SessionDep,
    user: CurrentUser,
    box: DisplayBBox,
    filters: TicketFiltersQuery,
    zoom: Zoom = 15,
    metric: Annotated[str, Query(max_length=40)] = "households",
) -> Response:
    """Ticket metrics (open_tickets, overdue_tickets) count the visible tickets matching the filters."""
    bbox, crs = box
    body = cell_metric_json(
        session,
        bbox=bbox,
        metric=metric,
        scope=layer_access(session, "cells", user).where,
        tickets=ticket_scope(session, user, filters),
        simplify_m=_metres_per_pixel(zoom) / 2,
        crs=crs,
    )
    return Response(body, media_type="application/json")


@router.get(
    "/maps/data/tickets.geojson",
    summary="tickets for the clustered layer (token, jurisdiction)",
    response_model=MapLayerPublic,
)
def tickets_data(
    session: SessionDep,
    user: CurrentUser,
    box: DisplayBBox,
    filters: TicketFiltersQuery,
    zoom: Zoom = 15,  # noqa: ARG001 - the page sends its zoom to every layer (checked); points need none
) -> Response:
    """Newest first, at most 3000 (`truncated` says when more matched: zoom in or filter)."""
    bbox, crs = box
    body = ticket_points_json(session, bbox=bbox, scope=ticket_scope(session, user, filters), crs=crs)
    return Response(body, media_type="application/json")


@router.get(
    "/maps/data/ticket_heat.json",
    summary="tickets heatmap points [[lat, lon, count]] (token)",
    response_model=list[list[float]],
)
def ticket_heat_data(
    session: SessionDep, user: CurrentUser, box: DisplayBBox, filters: TicketFiltersQuery, zoom: Zoom = 15
) -> Response:
    bbox, crs = box
    scope = ticket_scope(session, user, filters)
    body = ticket_heat_json(session, bbox=bbox, scope=scope, grid_m=_metres_per_pixel(zoom) * 8, crs=crs)
    return Response(body, media_type="application/json")


@router.get(
    "/maps/data/resources.geojson",
    summary="service resources for the clustered layer (public)",
    response_model=MapLayerPublic,
)
def resources_data(
    session: SessionDep,
    box: DisplayBBox,
    zoom: Zoom = 15,  # noqa: ARG001 - the page sends its zoom to every layer (checked); points need none
    type: Annotated[CsvQuery, Query(description="comma-separated resource types")] = (),
) -> Response:
    bbox, crs = box
    return Response(resource_points_json(session, bbox=bbox, types=list(type), crs=crs), media_type="application/json")


@router.get(
    "/maps/data/participation.geojson",
    summary="志愿服务: open service items and each community's participation (public; a token scopes it)",
    response_model=MapLayerPublic,
)
def participation_data(
    session: SessionDep,
    user: OptionalUser,
    box: DisplayBBox,
    zoom: Zoom = 15,  # noqa: ARG001 - the page sends its zoom to every layer (checked); points need none
) -> dict[str, Any]:
    """Points: open items with places left (`layer` "item": title, window, places left, compound and cell of the
    place) and one per community in view (`layer` "community": members, teams, hours_month, open_items). Public
    like /v1/participation/items and /summary; a manager's or grid worker's token limits it to their communities."""
    bbox, crs = box
    return project_features(participation_layer(session, bbox=bbox, user=user), projection_for(crs))


@router.get("/maps/data/heat.json", summary="households heatmap points [[lat, lon, weight]] (token)")
def heat_data(session: SessionDep, user: CurrentUser, box: DisplayBBox, zoom: Zoom = 15) -> list[list[float]]:
    bbox, crs = box
    scope = layer_access(session, "buildings", user).where
    points = household_heat(session, bbox=bbox, scope=scope, grid_m=_metres_per_pixel(zoom) * 8)
    project = projection_for(crs)
    return [[*reversed(project(p[1], p[0])), p[2]] for p in points]
