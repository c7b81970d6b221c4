"""The admin console (/admin/…): server-rendered Chinese pages, one per kind of reference data, whose forms and
tables admin.js fills and submits through the /v1 endpoints with the stored token.

The pages carry no data (a link opens them without an Authorization header): only the vocabularies the forms
offer (roles, organization kinds, resource types …), handed in by the router. What a user then reads and may
change is decided by the API (gis/reference): an admin the whole 街道, a manager their community."""

from __future__ import annotations

from typing import Any

from maps.assets import ADMIN_SCRIPTS, LEAFLET_CSS, LEAFLET_JS, asset
from maps.core import PageContext, ensure_local, render_template

SECTIONS = {
    "": "概览",
    "users": "账号",
    "organizations": "单位",
    "staff": "网格人员",
    "compounds": "小区与公示牌",
    "resources": "服务资源",
    "party": "党组织",
    "sheets": "表格导入导出",
    "audit": "修改记录",
}
ADMIN_ONLY = ("organizations", "audit")  # managers read organizations through the API but do not edit them


def admin_page(section: str, ctx: PageContext, *, street: str, vocabulary: dict[str, Any]) -> str:
    """One page of the console; `vocabulary` holds the option lists of its forms."""
    with_map = section == "resources"
    scripts = [ctx.link(asset("gridgov", f)) for f in ADMIN_SCRIPTS]
    styles = [ctx.link(asset("gridgov", "admin.css"))]
    if with_map:
        scripts.insert(0, ctx.link(LEAFLET_JS[1]))
        styles.insert(0, ctx.link(LEAFLET_CSS[1]))
    html = render_template(
        f"admin/{section or 'index'}.html",
        title=f"{SECTIONS[section]} · 基础数据管理",
        heading=SECTIONS[section] if section else "基础数据管理",
        section=section,
        sections=[(k, v) for k, v in SECTIONS.items() if k],
        admin_only=ADMIN_ONLY,
        street=street,
        scripts=scripts,
        styles=styles,
        **vocabulary,
    )
    return ensure_local(html, ctx)
