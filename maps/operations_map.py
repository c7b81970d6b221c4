"""Operations map for grid managers (网格长): cells coloured by open / overdue tickets (or households),
tickets (vector tiles), clustered resources, ticket and household heatmaps, ticket filters — every layer fetched by
bbox from /maps/data/… (the page holds no data).

The page is a public shell; the cell, ticket and heat endpoints need a token, which the page keeps in
localStorage after its login form. A layer is one function; the ticket ones live in maps/ticket_layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium

from gis.mapdata import CELL_METRICS, BBox
from gis.resources import RESOURCE_TYPES
from maps.core import Control, Layer, PageContext, Script, add_html, build_page, esc, legend_row, render_page
from maps.remote import RemoteChoropleth, RemoteCluster, RemoteParticipation, add_heat
from maps.symbols import RESOURCE_ICONS, marker_icon_html
from maps.ticket_layers import FILTER_GROUP, ticket_filters, tickets_cluster, tickets_heat


@dataclass(frozen=True)
class OperationsData:
    """Only what the page needs to open: where, and which metrics may colour the cells."""

    bounds: BBox | None
    metrics: tuple[str, ...] = tuple(CELL_METRICS)


def choropleth(metric: str, *, label: str = "网格", show: bool = True) -> Layer[OperationsData]:
    """A layer function: live cells coloured by one of CELL_METRICS (a token is needed)."""

    def layer(m: folium.Map, ctx: PageContext, data: OperationsData) -> None:
        remote = RemoteChoropleth(
            name=f"{label}着色（{'、'.join(CELL_METRICS[k].label for k in data.metrics)}）",
            url=ctx.link("/maps/data/cells.geojson"),
            label=label,
            crs=ctx.basemap.crs,
            auth=True,
            params={"metric": metric},
            show=show,
            extra={"filters": [FILTER_GROUP]},  # ticket metrics count the filtered tickets
        )
        remote.add_to(m)
        # filled by the page script from the classes the endpoint sends (the metric can be switched)
        m.add_child(Control(f'<div id="gg-legend-{remote.get_name()}"></div>', position="bottomright"))
        options = "".join(
            f'<option value="{esc(k)}"{" selected" if k == metric else ""}>{esc(v.label)}</option>'
            for k, v in CELL_METRICS.items()
            if k in data.metrics
        )
        add_html(
            m,
            f'<template data-panel-filter><label>网格着色 <select data-filter="{remote.get_name()}" '
            f'data-param="metric">{options}</select></label></template>',
        )

    return layer


def resources_cluster(m: folium.Map, ctx: PageContext, data: OperationsData) -> None:
    """Service resources, clustered (public data)."""
    remote = RemoteCluster(
        name="服务资源（聚合）",
        url=ctx.link("/maps/data/resources.geojson"),
        label="服务资源",
        crs=ctx.basemap.crs,
        auth=False,
        extra={"icons": {k: list(v) for k, v in RESOURCE_ICONS.items()}},
    )
    remote.add_to(m)
    options = '<option value="">全部</option>' + "".join(
        f'<option value="{esc(k)}">{esc(v)}</option>' for k, v in RESOURCE_TYPES.items()
    )
    add_html(
        m,
        f'<template data-panel-filter><label>服务资源类型 <select data-filter="{remote.get_name()}" '
        f'data-param="type">{options}</select></label></template>',
    )
    for rtype in ("party_service_center", "elderly_meal_point", "health_station"):
        ctx.legend.append(legend_row(marker_icon_html(rtype), RESOURCE_TYPES[rtype]))
    ctx.legend.append(
        legend_row('<span class="gg-swatch" style="border-radius:50%;background:#9c6"></span>', "聚合点（数量）")
    )


def participation_points(m: folium.Map, ctx: PageContext, data: OperationsData) -> None:
    """志愿服务 (issue 17): open service items and each community's members / hours this month / open items;
    off until switched on in the layer control (public data; the token scopes it to a manager's communities)."""
    RemoteParticipation(
        name="志愿服务（服务项目、参与情况）",
        url=ctx.link("/maps/data/participation.geojson"),
        label="志愿服务",
        crs=ctx.basemap.crs,
        auth=True,
        show=False,
    ).add_to(m)
    ctx.legend.append(legend_row('<span class="gg-swatch gg-vol"></span>', "志愿服务项目（可认领）"))


def households_heat(m: folium.Map, ctx: PageContext, data: OperationsData) -> None:
    """Where households live (building households on a zoom-dependent grid); off by default."""
    add_heat(m, ctx, "/maps/data/heat.json", "住户热力图")


OPERATIONS_LAYERS: list[Layer[OperationsData]] = [
    choropleth("open_tickets"),
    tickets_cluster,
    ticket_filters,
    resources_cluster,
    participation_points,
    tickets_heat,
    households_heat,
]

_PANEL = """
<aside class="gg-panel">
  <section class="gg-card"><h2>登录</h2>
    <form id="gg-login" class="gg-form" hidden>
      <div class="gg-muted">网格数据仅对有权限的工作人员显示（按辖区）。</div>
      <label>用户名 <input name="username" autocomplete="username" required></label>
      <label>密码 <input name="password" type="password" autocomplete="current-password" required></label>
      <button class="gg-btn" type="submit">登录</button>
      <div id="gg-login-msg" class="gg-gap"></div>
    </form>
    <div id="gg-who" hidden>已登录 <b id="gg-who-name"></b>
      <a id="gg-unread" class="gg-btn" href="/maps/notifications" hidden></a>
      <button class="gg-btn" id="gg-logout" type="button" style="color:#b71c1c;border-color:#b71c1c">退出</button>
    </div>
  </section>
  <section class="gg-card"><h2>筛选</h2><div id="gg-filters" class="gg-form"></div>
    <div id="gg-status" class="gg-status"></div></section>
  <section class="gg-card" id="gg-participation" hidden><h2>志愿服务</h2>
    <div id="gg-participation-body" class="gg-muted"></div></section>
  <section class="gg-card"><h2>说明</h2><div class="gg-muted">
    地图数据按当前视野分块加载，仅显示您辖区内的工单。网格颜色可切换为未办结工单、超期工单或户数；
    点击工单查看详情与办理记录。
    图层“志愿服务”显示可认领的服务项目及各社区的登记成员、本月服务时长和待认领项目。</div></section>
</aside>
"""

_SETUP = """
document.querySelectorAll("template[data-panel-filter]").forEach(function (t) {
  document.getElementById("gg-filters").appendChild(t.content.cloneNode(true));
});
gg.setupLogin(gg.reload);
"""


def operations_map(
    data: OperationsData, ctx: PageContext, layers: list[Layer[OperationsData]] | None = None
) -> folium.Map:
    init = {"bounds": ctx.bounds(data.bounds), "maxZoom": 16} if data.bounds else {}
    m = build_page(ctx, data, layers if layers is not None else OPERATIONS_LAYERS, init=init)
    add_html(
        m,
        '<header class="gg-head"><div><h1>网格运行图</h1><div class="gg-sub">网格化管理 · 网格长工作台</div></div>'
        '<div class="gg-actions"><button type="button" data-print>打印</button></div></header>',
    )
    add_html(m, _PANEL)
    m.add_child(Script(_SETUP))
    return m


def operations_page(data: OperationsData, ctx: PageContext) -> str:
    return render_page(operations_map(data, ctx), ctx)
