"""The admin console's pages (/admin, /admin/{section}): shells holding no data, built by maps/admin_console.py;
their script reads and writes through /v1 with the user's token (see api/routers/reference*.py, users.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep, TicketConfigDep
from api.routers.maps import PAGE_HEADERS, _context
from api.schemas.common import error_responses
from gis import sheets
from gis.errors import NotFound
from gis.models import AdminArea
from gis.reference import audit, compounds, hours, organizations, party, staff
from gis.reference.models import CHANGE_ACTIONS
from gis.reference.users import ROLE_LABELS
from gis.resources import RESOURCE_TYPES
from gis.sheets import engine
from gis.tickets.config import TicketConfig
from maps.admin_console import SECTIONS, admin_page

router = APIRouter(tags=["admin console"])

TABLE_LABELS = {
    "organizations": "单位",
    "users": "账号",
    "cell_staff": "网格人员",
    "compounds": "小区",
    "buildings": "楼栋",
    "service_resources": "服务资源",
    "party_units": "党组织",
}
ACTION_LABELS = dict(zip(CHANGE_ACTIONS, ("新建", "修改", "停用", "启用", "删除", "撤销"), strict=True))


def _vocabulary(config: TicketConfig) -> dict[str, Any]:
    unit_types = sorted({c.unit_type for c in config.categories.values()} - {"community", "property"})
    return {
        "roles": list(ROLE_LABELS.items()),
        "role_labels": ROLE_LABELS,
        "org_kinds": list(organizations.ORG_KIND_LABELS.items()),
        "unit_types": [(u, config.unit_types.get(u, u)) for u in unit_types],
        "duties": list(staff.DUTIES.items()),
        "duty_labels": staff.DUTIES,
        "employments": list(staff.EMPLOYMENTS.items()),
        "employment_labels": staff.EMPLOYMENTS,
        "compound_kinds": list(compounds.KINDS.items()),
        "board_duties": list(compounds.DUTIES.items()),  # 责任公示牌
        "committee_kinds": list(compounds.COMMITTEE_KINDS.items()),
        "resource_types": list(RESOURCE_TYPES.items()),
        "hours_example": hours.EXAMPLE,
        "party_kinds": list(party.KIND_LABELS.items()),
        "party_labels": party.KIND_LABELS,
        "tables": [(t, TABLE_LABELS.get(t, t)) for t in audit.SPECS],
        "table_labels": TABLE_LABELS,
        "action_labels": ACTION_LABELS,
        "sheets": _sheets(),
        "sheets_choices": [(name, engine.get_sheet(name).title) for name in sheets.ORDER],
    }


def _sheets() -> list[dict[str, Any]]:
    """The sheets of the 表格导入导出 page: name, title, whether a manager may use it, its columns' headings."""
    return [
        {"name": s.name, "title": s.title, "manager": "manager" in s.roles, "headers": [c.header for c in s.columns]}
        for s in (engine.get_sheet(name) for name in sheets.ORDER)
    ]


def _page(section: str, session: SessionDep, settings: SettingsDep, config: TicketConfigDep) -> HTMLResponse:
    if section not in SECTIONS:
        raise NotFound(f"没有这个管理页面 / no console page {section!r}: {', '.join(k for k in SECTIONS if k)}")
    street = session.scalar(select(AdminArea.name).where(AdminArea.level == "subdistrict").order_by(AdminArea.code))
    ctx = _context(settings, f"/admin/{section}".rstrip("/"), SECTIONS[section])
    html = admin_page(section, ctx, street=street or "未导入街道边界", vocabulary=_vocabulary(config))
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/admin", response_class=HTMLResponse, summary="基础数据管理 console (a shell; data through /v1)")
def console_home(session: SessionDep, settings: SettingsDep, config: TicketConfigDep) -> HTMLResponse:
    return _page("", session, settings, config)


@router.get(
    "/admin/{section}",
    response_class=HTMLResponse,
    summary="one page of the admin console",
    responses=error_responses(404, descriptions={404: "no such console page"}),
)
def console_page(
    section: Annotated[str, Path(max_length=20)], session: SessionDep, settings: SettingsDep, config: TicketConfigDep
) -> HTMLResponse:
    """users, organizations, staff, compounds, resources, party, sheets, audit."""
    return _page(section, session, settings, config)
