"""小区服务资源地图 of one compound (R1–R4, the 五个一): boundary and buildings, its cell, the
15-minute reach, every service around it, the 责任公示牌, and a QR code for the 便民联系卡.

Public: residents open it from the QR code on the card. The page = RESOURCE_MAP_LAYERS in order.
"""

from __future__ import annotations

from typing import Any

import folium
import folium.plugins

from gis.mapdata import CompoundMap
from maps.core import (
    Layer,
    PageContext,
    add_html,
    build_page,
    esc,
    escaped,
    geojson_layer,
    legend_row,
    render_page,
    swatch,
)
from maps.symbols import (
    add_resource_markers,
    add_search,
    board_html,
    participation_card,
    phone_link,
    qr_card,
    resource_list,
)

COMPOUND_STYLE = {"color": "#b71c1c", "weight": 3, "fillColor": "#e57373", "fillOpacity": 0.12}
BUILDING_STYLE = {"color": "#8d6e63", "weight": 1, "fillColor": "#bcaaa4", "fillOpacity": 0.7}
CELL_STYLE = {"color": "#1565c0", "weight": 2, "dashArray": "6 4", "fill": False}
REACH_STYLE = {"color": "#2e7d32", "weight": 1.5, "fillColor": "#66bb6a", "fillOpacity": 0.12}
NEIGHBOUR_STYLE = {"color": "#9e9e9e", "weight": 1, "fillColor": "#e0e0e0", "fillOpacity": 0.35}
STREET_STYLE = {"color": "#c9c3b6", "weight": 3, "opacity": 0.9}


def _style(style: dict[str, Any]) -> Any:
    return lambda _feature: style


def streets(m: folium.Map, ctx: PageContext, data: Any) -> None:
    """Our own street network as a light backdrop, so the page reads without a basemap."""
    if data.streets is None:
        return
    folium.GeoJson(
        {"type": "Feature", "geometry": ctx.geometry(data.streets), "properties": {}},
        name="道路",
        style_function=_style(STREET_STYLE),
        interactive=False,
        control=False,
    ).add_to(m)


def reach_area(m: folium.Map, ctx: PageContext, data: CompoundMap) -> None:
    folium.GeoJson(
        {"type": "Feature", "geometry": ctx.geometry(data.reach.geometry), "properties": {}},
        name="15分钟生活圈",
        style_function=_style(REACH_STYLE),
        tooltip=esc(data.reach.label),
    ).add_to(m)
    ctx.legend.append(legend_row(swatch("rgba(102,187,106,.25)", "#2e7d32"), data.reach.label))


def neighbours(m: folium.Map, ctx: PageContext, data: CompoundMap) -> None:
    if geojson_layer(m, ctx, data.neighbours, name="周边小区", style=NEIGHBOUR_STYLE, fields=["name"]):
        ctx.legend.append(legend_row(swatch("rgba(224,224,224,.6)", "#9e9e9e"), "周边小区"))


def cell(m: folium.Map, ctx: PageContext, data: CompoundMap) -> None:
    if data.cell is None:
        return
    p = data.cell["properties"]
    folium.GeoJson(
        ctx.features(escaped(data.cell)),
        name="所在网格",
        style_function=_style(CELL_STYLE),
        tooltip=esc(f"{p['name']}（{p['code']}）"),
    ).add_to(m)
    ctx.legend.append(legend_row(swatch("transparent", "#1565c0", dashed=True), f"所在网格：{p['name']}"))


def boundary_and_buildings(m: folium.Map, ctx: PageContext, data: CompoundMap) -> None:
    c = data.compound
    group = folium.FeatureGroup(name="小区及楼栋")
    popup = (
        f'<div class="gg-pop"><b>{esc(c["name"])}</b><br>{esc(c["kind_label"])} · {esc(c["households"])} 户'
        f"<br>地址：{esc(c.get('address') or '—')}"
        f"<br>物业：{esc((c.get('property_company') or {}).get('name') or '—')}"
        f"<br>党组织：{esc(c.get('party_branch') or '—')}</div>"
    )
    folium.GeoJson(
        {"type": "Feature", "geometry": ctx.geometry(c["geometry"]), "properties": {"name": esc(c["name"])}},
        style_function=_style(COMPOUND_STYLE),
        tooltip=esc(c["name"]),
    ).add_child(folium.Popup(popup, max_width=300)).add_to(group)
    if geojson_layer(
        group,
        ctx,
        data.buildings,
        name="楼栋",
        style=BUILDING_STYLE,
        fields=["name"],
        popup_fields=["name", "households", "floors", "party_group_leader"],
        popup_aliases=["楼栋", "户数", "层数", "楼栋党小组长"],
    ):
        ctx.legend.append(legend_row(swatch("rgba(188,170,164,.8)", "#8d6e63"), "楼栋"))
    group.add_to(m)
    ctx.legend.insert(0, legend_row(swatch("rgba(229,115,115,.2)", "#b71c1c"), f"本小区：{c['name']}"))


def resources(m: folium.Map, ctx: PageContext, data: CompoundMap) -> None:
    add_resource_markers(m, ctx, data.resources)


def search(m: folium.Map, ctx: PageContext, data: CompoundMap) -> None:
    add_search(m, ctx, data.resources)


def controls(m: folium.Map, ctx: PageContext, data: Any) -> None:
    folium.plugins.Fullscreen(  # type: ignore[no-untyped-call]
        position="topleft", title="全屏", title_cancel="退出全屏"
    ).add_to(m)


RESOURCE_MAP_LAYERS: list[Layer[CompoundMap]] = [
    streets,
    reach_area,
    neighbours,
    cell,
    boundary_and_buildings,
    resources,
    search,
    controls,
]


def _header(ctx: PageContext, data: CompoundMap) -> str:
    c = data.compound
    where = " · ".join(
        esc(x) for x in ((c.get("subdistrict") or {}).get("name"), c["community"]["name"], c.get("address")) if x
    )
    return (
        f'<header class="gg-head"><div><h1>{esc(c["name"])} · 小区服务资源地图</h1>'
        f'<div class="gg-sub">{where}</div></div>'
        f'<div class="gg-sub gg-print-only">打印日期：<span data-today>{ctx.generated_at:%Y年%m月%d日}</span></div>'
        '<div class="gg-actions"><button type="button" data-print>打印 / 便民联系卡</button></div></header>'
    )


def _panel(ctx: PageContext, data: CompoundMap) -> str:
    c = data.compound
    parts = ['<aside class="gg-panel">']
    parts.append(f'<section class="gg-card"><h2>责任公示牌</h2>{board_html(c.get("contacts") or [])}</section>')
    if data.cell is not None:
        p = data.cell["properties"]
        mgr = p.get("manager") or {}
        workers = "、".join(f"{esc(w['name'])} {phone_link(w.get('phone'))}" for w in p.get("workers") or [])
        parts.append(
            f'<section class="gg-card"><h2>所在网格</h2>{esc(p["name"])}'
            f'<span class="gg-muted">（{esc(p["code"])} · {esc(p["cell_type_label"])}）</span>'
            f"<br>网格长：{esc(mgr.get('name') or '—')} {phone_link(mgr.get('phone'))}"
            f"<br>网格员：{workers or '—'}</section>"
        )
    company = c.get("property_company") or {}
    info = [f"{esc(c['kind_label'])} · {esc(c['households'])} 户"]
    if company:
        info.append(f"物业：{esc(company.get('name'))} {phone_link(company.get('phone'))}")
    if c.get("party_branch"):
        info.append(f"党组织：{esc(c['party_branch'])}")
    if c.get("wechat_group"):
        info.append(f"小区微信群：{esc(c['wechat_group'])}（请联系包联社区工作者入群）")
    community = c["community"]
    info.append(f"社区：{esc(community['name'])} {phone_link(community.get('phone'))}")
    parts.append('<section class="gg-card"><h2>小区信息</h2>' + "<br>".join(info) + "</section>")
    parts.append(participation_card(ctx, data.participation))
    parts.append(consultation_card(data.consultations))
    gaps = (
        f'<div class="gg-gap">生活圈内缺少：{esc("、".join(data.gaps))}（已标出最近的场所）</div>'
        if data.gaps
        else '<div class="gg-muted">生活圈内助餐、养老、托育、卫生、维修、购物等服务齐全。</div>'
    )
    parts.append(
        f'<section class="gg-card"><h2>周边服务</h2><div class="gg-muted">{esc(data.reach.label)}</div>{gaps}'
        f"{resource_list(data.resources)}</section>"
    )
    parts.append(qr_card(ctx))
    parts.append("</aside>")
    return "".join(parts)


def consultation_card(topics: list[dict[str, Any]] | None) -> str:
    """议事协商 (C1): the compound's open and recent topics, each with its latest round's agreement rate and the
    outcome (public fields only)."""
    if not topics:
        return ""
    items = []
    for t in topics:
        rate = t["last_agreement_rate"]
        line = f"<b>{esc(t['title'])}</b> · {esc(t['status_label'])}"
        if t["rounds"]:
            pct = "—" if rate is None else f"{rate * 100:.0f}%"
            line += f"<br><small>第 {esc(t['rounds'])} 轮（{esc(t['last_held_on'])}）同意率 {esc(pct)}</small>"
        if t["outcome"]:
            line += f"<br><small>结果：{esc(t['outcome'])}</small>"
        items.append(f"<li>{line}</li>")
    return f'<section class="gg-card gg-consultation"><h2>议事协商</h2><ul>{"".join(items)}</ul></section>'


def compound_map(data: CompoundMap, ctx: PageContext, layers: list[Layer[CompoundMap]] | None = None) -> folium.Map:
    """The resource map of one compound as a folium Map (call render_page for the HTML)."""
    m = build_page(
        ctx, data, layers if layers is not None else RESOURCE_MAP_LAYERS, init={"bounds": ctx.bounds(data.bounds)}
    )
    add_html(m, _header(ctx, data))
    add_html(m, _panel(ctx, data))
    return m


def compound_page(data: CompoundMap, ctx: PageContext) -> str:
    return render_page(compound_map(data, ctx), ctx)
