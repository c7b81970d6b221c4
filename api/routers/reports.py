"""物业工单定期通报 endpoints (monthly / quarterly per 街道: JSON, printable HTML, Word, Excel) and the evaluation
dashboard page (/maps/dashboard, a shell that reads /v1/kpis… with the stored token)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import error_responses
from api.schemas.evaluation import ReportPublic
from gis.auth import require_role
from gis.evaluation import report
from gis.evaluation.report_docx import report_docx
from gis.evaluation.report_xlsx import report_xlsx
from gis.evaluation.units import resolve_unit
from maps.basemaps import basemap_from_settings
from maps.core import PageContext
from maps.dashboard_page import dashboard_page
from maps.report_page import report_page

router = APIRouter(tags=["evaluation"], responses=error_responses(401, 403, 404, 422))

READERS = ("admin", "planner", "manager", "grid_worker", "department", "property")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
Kind = Literal["monthly", "quarterly"]
StreetQuery = Annotated[str, Query(max_length=20, description="the 街道 code")]
PeriodText = Annotated[str, Query(max_length=10, description="monthly: YYYY-MM; quarterly: YYYY-Qn")]


def _report(session: Any, user: Any, kind: str, street: str, period_text: str, refresh: bool) -> tuple[Any, Any]:
    """(data, stored row or None): the stored report when one exists (as circulated), else built now."""
    require_role(user, *READERS)
    period = report.period_for(kind, period_text)
    resolve_unit(session, "street", street)  # 404 for an unknown 街道
    if refresh:
        require_role(user, "admin")
        written = report.write_report(session, street, kind, period)
        session.commit()
        return written.data, written
    row = report.stored(session, street, kind, period)
    if row is not None:
        return row.data, row
    return report.build_report(session, street, kind, period), None


@router.get("/v1/reports/{kind}", response_model=ReportPublic)
def get_report(
    session: SessionDep,
    user: CurrentUser,
    kind: Kind,
    street: StreetQuery,
    period: PeriodText,
    refresh: Annotated[bool, Query(description="admins: rebuild and store it now")] = False,
) -> Any:
    """The 通报's figures: summary against the previous period, trend, communities, 红黑榜, worst cells, map,
    议事协商."""
    data, row = _report(session, user, kind, street, period, refresh)
    return {**data, "stored": row is not None}


@router.get(
    "/v1/reports/{kind}/file",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, DOCX: {}, XLSX: {}}, "description": "the file"}},
)
def get_report_file(
    session: SessionDep,
    user: CurrentUser,
    kind: Kind,
    street: StreetQuery,
    period: PeriodText,
    format: Literal["html", "docx", "xlsx"] = "html",
) -> Response:
    """The 通报 as a printable A4 HTML page, a Word document or an Excel workbook."""
    data, row = _report(session, user, kind, street, period, False)
    name = f"tongbao-{street}-{period}"
    if format == "html":
        return HTMLResponse(report_page(data))
    if format == "docx":
        body = row.docx if row is not None else report_docx(data, report.map_png(session, data))
        media = DOCX
    else:
        body = row.xlsx if row is not None else report_xlsx(data)
        media = XLSX
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})


@router.get("/maps/dashboard", response_class=HTMLResponse, summary="考核看板 (a shell; data with the stored token)")
def dashboard(session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """KPI cards, trends, the choropleth, the 红黑榜; the page holds no data, its script reads the API with the
    user's token, so jurisdiction is the API's."""
    ctx = PageContext(
        title="考核看板 · 网格化管理",
        basemap=basemap_from_settings(settings.maps.basemap, settings.maps.basemap_key),
        base_url=settings.maps.public_base_url,
        path="/maps/dashboard",
    )
    html = dashboard_page(ctx, report.street_list(session))
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
