"""Plan diff map for planners (规划员): live cells against a draft plan, the ground that changes cell
highlighted, and what a commit would re-anchor (tickets, resources, compounds). Built from a
gis.mapdata.PlanDiffMap that the planning module fills; the page = PLAN_MAP_LAYERS.
"""

from __future__ import annotations

import folium

from gis.mapdata import PlanDiffMap
from maps.core import Layer, PageContext, add_html, build_page, esc, legend_row, render_page, swatch

CHANGE_STYLES: dict[str, tuple[str, str]] = {  # change -> (colour, label)
    "added": ("#2e7d32", "新增网格"),
    "changed": ("#1565c0", "边界调整"),
    "removed": ("#b71c1c", "撤销网格"),
    "unchanged": ("#9e9e9e", "未变化"),
}
LIVE_STYLE = {"color": "#616161", "weight": 2, "dashArray": "6 4", "fill": False}
MOVED_STYLE = {"color": "#e65100", "weight": 1, "fillColor": "#ff9800", "fillOpacity": 0.55}


def live_cells(m: folium.Map, ctx: PageContext, data: PlanDiffMap) -> None:
    folium.GeoJson(
        ctx.features(data.live),
        name="现行网格",
        style_function=lambda _f: LIVE_STYLE,
        tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=["现行", "编码"]),
    ).add_to(m)
    ctx.legend.append(legend_row(swatch("transparent", "#616161", dashed=True), "现行网格"))


def draft_cells(m: folium.Map, ctx: PageContext, data: PlanDiffMap) -> None:
    def style(feature: dict[str, object]) -> dict[str, object]:
        props = feature["properties"]
        change = props.get("change", "unchanged") if isinstance(props, dict) else "unchanged"
        colour = CHANGE_STYLES.get(str(change), CHANGE_STYLES["unchanged"])[0]
        return {"color": colour, "weight": 2.5, "fillColor": colour, "fillOpacity": 0.08}

    folium.GeoJson(
        ctx.features(data.draft),
        name="草案网格",
        style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=["name", "code", "households"], aliases=["草案", "编码", "户数"]),
    ).add_to(m)
    kinds = {f["properties"].get("change", "unchanged") for f in data.draft["features"]}
    for change, (colour, label) in CHANGE_STYLES.items():
        if change in kinds:
            ctx.legend.append(legend_row(swatch(colour + "22", colour), label))


def moved_ground(m: folium.Map, ctx: PageContext, data: PlanDiffMap) -> None:
    if not data.changed["features"]:
        return
    folium.GeoJson(
        ctx.features(data.changed),
        name="归属变化区域",
        style_function=lambda _f: MOVED_STYLE,
        tooltip=folium.GeoJsonTooltip(
            fields=["from_code", "to_code", "area_m2", "tickets"], aliases=["原网格", "新网格", "面积(㎡)", "涉及工单"]
        ),
    ).add_to(m)
    ctx.legend.append(legend_row(swatch("rgba(255,152,0,.55)", "#e65100"), "归属变化区域"))


PLAN_MAP_LAYERS: list[Layer[PlanDiffMap]] = [live_cells, draft_cells, moved_ground]

AFFECTED_LABELS = {
    "tickets": "工单",
    "resources": "服务资源",
    "compounds": "小区",
    "buildings": "楼栋",
    "patrols": "巡查记录",
}


def plan_map(data: PlanDiffMap, ctx: PageContext, layers: list[Layer[PlanDiffMap]] | None = None) -> folium.Map:
    m = build_page(
        ctx, data, layers if layers is not None else PLAN_MAP_LAYERS, init={"bounds": ctx.bounds(data.bounds)}
    )
    plan = data.plan
    counts = dict.fromkeys(CHANGE_STYLES, 0)
    for f in data.draft["features"]:
        change = f["properties"].get("change", "unchanged")
        counts[change] = counts.get(change, 0) + 1
    rows = "".join(f"<li>{esc(label)}：{counts.get(change, 0)}</li>" for change, (_, label) in CHANGE_STYLES.items())
    affected = "".join(f"<li>{esc(AFFECTED_LABELS.get(k, k))}：{v}</li>" for k, v in data.affected.items())
    add_html(
        m,
        f'<header class="gg-head"><div><h1>网格调整草案 · {esc(plan.get("name"))}</h1>'
        f'<div class="gg-sub">{esc(plan.get("code"))} · {esc(plan.get("status"))}</div></div>'
        '<div class="gg-actions"><button type="button" data-print>打印</button></div></header>',
    )
    add_html(
        m,
        '<aside class="gg-panel"><section class="gg-card"><h2>变化概况</h2>'
        f'<ul class="gg-list">{rows}</ul></section>'
        f'<section class="gg-card"><h2>提交后需重新归属</h2><ul class="gg-list">{affected}</ul>'
        '<div class="gg-muted">提交时旧版本网格关闭、新版本生效，历史记录保留。</div></section></aside>',
    )
    return m


def plan_page(data: PlanDiffMap, ctx: PageContext) -> str:
    return render_page(plan_map(data, ctx), ctx)
