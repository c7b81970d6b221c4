"""社区服务资源地图: a community's cells and compounds (coloured by what their 15-minute circle lacks),
every service in or near it, and links to each compound's own map. Public, like the compound page."""

from __future__ import annotations

from typing import Any

import folium
import folium.plugins

from gis.mapdata import CommunityMap
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
from maps.resource_map import controls, streets
from maps.symbols import add_resource_markers, add_search, participation_card, phone_link, qr_card, resource_list

COMMUNITY_STYLE = {"color": "#b71c1c", "weight": 3, "fill": False}
CELL_STYLE = {"color": "#1565c0", "weight": 1.5, "dashArray": "5 4", "fill": False}
GAP_COLOURS = (("#43a047", "服务齐全"), ("#fb8c00", "缺 1–2 项"), ("#e53935", "缺 3 项及以上"))


def _gap_colour(gaps: list[str]) -> str:
    n = len(gaps)
    return GAP_COLOURS[0][0] if n == 0 else GAP_COLOURS[1][0] if n <= 2 else GAP_COLOURS[2][0]


def boundary(m: folium.Map, ctx: PageContext, data: CommunityMap) -> None:
    p = data.community["properties"]
    folium.GeoJson(
        ctx.features(data.community), name="社区边界", style_function=lambda _f: COMMUNITY_STYLE, interactive=False
    ).add_to(m)
    ctx.legend.append(legend_row(swatch("transparent", "#b71c1c"), f"{p['name']}边界"))


def cells(m: folium.Map, ctx: PageContext, data: CommunityMap) -> None:
    fields, aliases = ["name", "code", "households"], ["网格", "编码", "户数"]
    if geojson_layer(m, ctx, data.cells, name="网格", style=CELL_STYLE, fields=fields, aliases=aliases):
        ctx.legend.append(legend_row(swatch("transparent", "#1565c0", dashed=True), "网格"))


def compounds(m: folium.Map, ctx: PageContext, data: CommunityMap) -> None:
    group = folium.FeatureGroup(name="小区（按15分钟生活圈缺项着色）")
    for f in data.compounds["features"]:
        p = f["properties"]
        colour = _gap_colour(p["gaps"])
        gaps = "、".join(p["gaps"]) or "无"
        popup = (
            f'<div class="gg-pop"><b>{esc(p["name"])}</b><br>{"封闭式" if p["kind"] == "closed" else "开放式"}小区'
            f" · {esc(p['households'])} 户<br>生活圈缺项：{esc(gaps)}"
            f'<br><a href="{esc(ctx.link("/maps/compounds/" + p["code"]))}">查看小区服务资源地图 ›</a></div>'
        )
        folium.GeoJson(
            ctx.features(escaped(f)),
            style_function=lambda _f, c=colour: {"color": c, "weight": 2, "fillColor": c, "fillOpacity": 0.25},
            tooltip=esc(p["name"]),
        ).add_child(folium.Popup(popup, max_width=280)).add_to(group)
    group.add_to(m)
    for colour, label in GAP_COLOURS:
        ctx.legend.append(legend_row(swatch(colour + "55", colour), f"小区：{label}"))


def resources(m: folium.Map, ctx: PageContext, data: CommunityMap) -> None:
    add_resource_markers(m, ctx, data.resources)


def search(m: folium.Map, ctx: PageContext, data: CommunityMap) -> None:
    add_search(m, ctx, data.resources)


COMMUNITY_MAP_LAYERS: list[Layer[CommunityMap]] = [streets, boundary, cells, compounds, resources, search, controls]


def _panel(ctx: PageContext, data: CommunityMap) -> str:
    p = data.community["properties"]
    head = [f"党组织：{esc(p.get('party_org') or '—')}", f"社区书记：{esc(p.get('secretary') or '—')}"]
    if p.get("phone"):
        head.append(f"社区电话：{phone_link(p['phone'])}")
    items = []
    for f in data.compounds["features"]:
        c = f["properties"]
        gap = f'<span class="gg-gap">缺：{esc("、".join(c["gaps"]))}</span>' if c["gaps"] else ""
        items.append(
            f'<li><a href="{esc(ctx.link("/maps/compounds/" + c["code"]))}">{esc(c["name"])}</a> '
            f'<span class="gg-muted">{esc(c["households"])} 户</span> {gap}</li>'
        )
    return (
        '<aside class="gg-panel">'
        f'<section class="gg-card"><h2>{esc(p["name"])}</h2>' + "<br>".join(head) + "</section>"
        f"{participation_card(ctx, data.participation)}"
        f'<section class="gg-card"><h2>小区（{len(items)}）</h2><ul class="gg-list">{"".join(items)}</ul></section>'
        f'<section class="gg-card"><h2>服务场所</h2>{resource_list(data.resources)}</section>'
        f"{qr_card(ctx)}</aside>"
    )


def community_map(data: CommunityMap, ctx: PageContext, layers: list[Layer[CommunityMap]] | None = None) -> Any:
    m = build_page(
        ctx, data, layers if layers is not None else COMMUNITY_MAP_LAYERS, init={"bounds": ctx.bounds(data.bounds)}
    )
    p = data.community["properties"]
    add_html(
        m,
        f'<header class="gg-head"><div><h1>{esc(p["name"])} · 社区服务资源地图</h1>'
        f'<div class="gg-sub">{esc(p.get("subdistrict") or "")}</div></div>'
        f'<div class="gg-sub gg-print-only">打印日期：<span data-today>{ctx.generated_at:%Y年%m月%d日}</span></div>'
        '<div class="gg-actions"><button type="button" data-print>打印</button></div></header>',
    )
    add_html(m, _panel(ctx, data))
    return m


def community_page(data: CommunityMap, ctx: PageContext) -> str:
    return render_page(community_map(data, ctx), ctx)
