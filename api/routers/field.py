"""The grid workers' field app (/field): the page shell, its service worker, web manifest and icons.

All public: the shell holds no data (field.js reads the worker's day with the token it keeps). The service
worker is served under /field/ with `Service-Worker-Allowed: /field`, so it may control the page /field
itself (a worker's default scope is its own folder, /field/, which /field is not inside).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import SettingsDep
from gis.errors import NotFound
from maps.basemaps import basemap_from_settings
from maps.core import PageContext
from maps.field_app import ICON_SIZES, MANIFEST_PATH, PATH, SW_PATH, field_page, icon_png, service_worker, web_manifest

router = APIRouter(tags=["field"], include_in_schema=False)

NO_CACHE = {"Cache-Control": "no-cache"}


def _page(settings: SettingsDep) -> str:
    ctx = PageContext(
        title="网格员巡查",
        basemap=basemap_from_settings("none"),  # no map on this page
        base_url=settings.maps.public_base_url,
        path=PATH,
    )
    return field_page(ctx)


@router.get(PATH, response_class=HTMLResponse, summary="网格员巡查 field app (its data needs a token)")
def field_app(settings: SettingsDep) -> HTMLResponse:
    return HTMLResponse(_page(settings), headers=NO_CACHE)


@router.get(SW_PATH)
def field_service_worker(settings: SettingsDep) -> Response:
    """The service worker: precaches the shell and its assets (no-cache, so updates are seen at once)."""
    headers = {**NO_CACHE, "Service-Worker-Allowed": PATH}
    return Response(service_worker(_page(settings)), media_type="application/javascript", headers=headers)


@router.get(MANIFEST_PATH)
def field_manifest() -> JSONResponse:
    return JSONResponse(web_manifest(), media_type="application/manifest+json", headers=NO_CACHE)


@router.get("/field/icon-{size}.png")
def field_icon(size: int) -> Response:
    if size not in ICON_SIZES:
        raise NotFound(f"icons come in sizes {ICON_SIZES}")
    return Response(icon_png(size), media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
