"""The notifications page: the inbox and, for admins, the delivery log (a shell; its data needs a token)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import SettingsDep
from maps.basemaps import basemap_from_settings
from maps.core import PageContext
from maps.notify_page import notifications_page

router = APIRouter(tags=["notifications"])


@router.get("/maps/notifications", response_class=HTMLResponse, summary="通知: inbox and delivery log (token)")
def notifications(settings: SettingsDep) -> HTMLResponse:
    ctx = PageContext(
        title="通知 · 网格化管理",
        basemap=basemap_from_settings(settings.maps.basemap, settings.maps.basemap_key),
        base_url=settings.maps.public_base_url,
        path="/maps/notifications",
    )
    return HTMLResponse(notifications_page(ctx), headers={"Cache-Control": "no-cache"})
