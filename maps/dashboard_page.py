"""The evaluation dashboard (/maps/dashboard) for 街道 leadership and managers: KPI cards, trends by month and
category (ECharts, served locally), the choropleth of any KPI per cell or community (Leaflet), the 红黑榜 and the
通报 downloads. Every number opens the tickets behind it (/v1/kpis/tickets).

The page holds no data: maps/static/dashboard.js reads the API with the stored token, so what a user sees is
the API's jurisdiction (a manager: their community; a property company: itself). The page knows only the
街道 names and codes to offer (boundary names, public)."""

from __future__ import annotations

from maps.assets import DASHBOARD_SCRIPTS, LEAFLET_CSS, LEAFLET_JS, PAGE_CSS, asset
from maps.core import PageContext, ensure_local, render_template


def dashboard_page(ctx: PageContext, streets: list[dict[str, str]]) -> str:
    scripts = [
        ctx.link(asset("echarts", "dist/echarts.min.js")),
        ctx.link(LEAFLET_JS[1]),
        *(ctx.link(asset("gridgov", f)) for f in DASHBOARD_SCRIPTS),
    ]
    styles = [ctx.link(LEAFLET_CSS[1]), ctx.link(PAGE_CSS[1]), ctx.link(asset("gridgov", "dashboard.css"))]
    html = render_template("dashboard.html", title=ctx.title, scripts=scripts, styles=styles, streets=streets)
    return ensure_local(html, ctx)
