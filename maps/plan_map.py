"""Plan diff map for planners (规划员): live cells against a draft plan, the ground that changes cell
highlighted, and what a commit would re-anchor (tickets, resources, compounds). Built from a
gis.mapdata.PlanDiffMap that the planning module fills; the page = PLAN_MAP_LAYERS.

Plans are not public, so /maps/plans/{id} opened by a link (no Authorization header) gets
`plan_shell_page`: a page holding no plan data (maps/templates/plan_shell.html) whose script asks the same
URL again with the token the other pages keep (gg_auth.js), and shows the diff map it gets (or why it cannot).
"""

from __future__ import annotations

import folium

from gis.mapdata import PlanDiffMap
from maps.core import (
    Layer,
    PageContext,
    add_html,
    build_page,
    esc,
    geojson_layer,
    legend_row,
    render_page,
    render_plain_page,
    swatch,
)

CHANGE_STYLES: dict[str, tuple[str, str]] = {  # change -> (colour, label)
    "added": ("#2e7d32", "新增网格"),
    "changed": ("#1565c0", "边界调整"),
    "removed": ("#b71c1c", "撤销网格"),
    "unchanged": ("#9e9e9e", "未变化"),
}
LIVE_STYLE = {"color": "#616161", "weight": 2, "dashArray": "6 4", "fill": False}
MOVED_STYLE = {"color": "#e65100", "weight": 1, "fillColor": "#ff9800", "fillOpacity": 0.55}


def live_cells(m: folium.Map, ctx: PageContext, data: PlanDiffMap) -> None:
    fields, aliases = ["name", "code"], ["现行", "编码"]
    # nothing live: a new plan, or only new communities
    if geojson_layer(m, ctx, data.live, name="现行网格", style=LIVE_STYLE, fields=fields, aliases=aliases):
        ctx.legend.append(legend_row(swatch("transparent", "#616161", dashed=True), "现行网格"))


def draft_cells(m: folium.Map, ctx: PageContext, data: PlanDiffMap) -> None:
    def style(feature: dict[str, object]) -> dict[str, object]:
        props = feature["properties"]
        change = props.get("change", "unchanged") if isinstance(props, dict) else "unchanged"
        colour = CHANGE_STYLES.get(str(change), CHANGE_STYLES["unchanged"])[0]
        return {"color": colour, "weight": 2.5, "fillColor": colour, "fillOpacity": 0.08}

    fields, aliases = ["name", "code", "households"], ["草案", "编码", "户数"]
    if not geojson_layer(m, ctx, data.draft, name="草案网格", style=style, fields=fields, aliases=aliases):
        return
    kinds = {f["properties"].get("change", "unchanged") for f in data.draft["features"]}
    for change, (colour, label) in CHANGE_STYLES.items():
        if change in kinds:
            ctx.legend.append(legend_row(swatch(colour + "22", colour), label))


def moved_ground(m: folium.Map, ctx: PageContext, data: PlanDiffMap) -> None:
    fields, aliases = ["from_code", "to_code", "area_m2", "tickets"], ["原网格", "新网格", "面积(㎡)", "涉及工单"]
    if geojson_layer(m, ctx, data.changed, name="归属变化区域", style=MOVED_STYLE, fields=fields, aliases=aliases):
        ctx.legend.append(legend_row(swatch("rgba(255,152,0,.55)", "#e65100"), "归属变化区域"))


AREA_STYLES: dict[str, tuple[str, str]] = {"compound": ("#6a1b9a", "小区"), "community": ("#4e342e", "社区")}
AREA_CHANGES = {"added": "新增", "changed": "调整", "removed": "撤销"}


def redrawn_areas(m: folium.Map, ctx: PageContext, data: PlanDiffMap) -> None:
    """Compounds (小区) and communities (社区) the plan redraws: the old outline dashed, the new one filled."""
    if not data.areas["features"]:
        return
    labelled = {
        **data.areas,
        "features": [
            {
                **f,
                "properties": {
                    **f["properties"],
                    "what": AREA_STYLES.get(f["properties"].get("layer"), ("", "边界"))[1]
                    + AREA_CHANGES.get(f["properties"].get("change"), "")
                    + ("（调整前）" if f["properties"].get("side") == "live" else ""),
                },
            }
            for f in data.areas["features"]
        ],
    }

    def style(feature: dict[str, object]) -> dict[str, object]:
        props = feature["properties"] if isinstance(feature["properties"], dict) else {}
        colour = AREA_STYLES.get(str(props.get("layer")), ("#424242", ""))[0]
        if props.get("side") == "live":
            return {"color": colour, "weight": 2, "dashArray": "4 4", "fill": False}
        return {"color": colour, "weight": 3, "fillColor": colour, "fillOpacity": 0.1}

    fields, aliases = ["what", "name", "code"], ["", "名称", "编码"]
    geojson_layer(m, ctx, labelled, name="小区、社区边界调整", style=style, fields=fields, aliases=aliases)
    for layer in sorted({f["properties"].get("layer") for f in data.areas["features"]} & set(AREA_STYLES)):
        colour, label = AREA_STYLES[layer]
        ctx.legend.append(legend_row(swatch(colour + "1a", colour), f"{label}边界（调整后）"))
        ctx.legend.append(legend_row(swatch("transparent", colour, dashed=True), f"{label}边界（调整前）"))


PLAN_MAP_LAYERS: list[Layer[PlanDiffMap]] = [live_cells, draft_cells, redrawn_areas, moved_ground]

PLAN_STATUS_LABELS = {"draft": "草案", "committed": "已提交", "abandoned": "已废弃"}

AFFECTED_LABELS = {
    "tickets": "工单",
    "resources": "服务资源",
    "service_resources": "服务资源",
    "compounds": "小区",
    "buildings": "楼栋",
    "patrols": "巡查记录",
}


def affected_label(key: str) -> str:
    """ "tickets" → 工单; "tickets.compound_code" (a second anchor of a table) → 工单（compound_code）."""
    table, _, column = key.partition(".")
    label = AFFECTED_LABELS.get(table, table)
    return f"{label}（{column}）" if column else label


def plan_map(data: PlanDiffMap, ctx: PageContext, layers: list[Layer[PlanDiffMap]] | None = None) -> folium.Map:
    empty = not data.draft["features"] and not data.live["features"]
    init = {} if empty else {"bounds": ctx.bounds(data.bounds)}
    m = build_page(ctx, data, layers if layers is not None else PLAN_MAP_LAYERS, init=init)
    plan = data.plan
    counts = dict.fromkeys(CHANGE_STYLES, 0)
    for f in data.draft["features"]:
        change = f["properties"].get("change", "unchanged")
        counts[change] = counts.get(change, 0) + 1
    rows = "".join(f"<li>{esc(label)}：{counts.get(change, 0)}</li>" for change, (_, label) in CHANGE_STYLES.items())
    affected = "".join(f"<li>{esc(affected_label(k))}：{v}</li>" for k, v in data.affected.items())
    areas: dict[str, int] = {}
    for f in data.areas["features"]:
        if f["properties"].get("side") != "live" or f["properties"].get("change") == "removed":
            layer = str(f["properties"].get("layer"))
            areas[layer] = areas.get(layer, 0) + 1
    rows += "".join(
        f"<li>{esc(AREA_STYLES[k][1])}边界调整：{n}</li>" for k, n in sorted(areas.items()) if k in AREA_STYLES
    )
    status = str(plan.get("status") or "")
    plan_id = plan.get("id")
    editor = (
        f'<a class="gg-btn" href="{esc(ctx.link(f"/plans/{int(plan_id)}/edit"))}">编辑器 / editor</a>'
        if plan_id is not None
        else ""
    )
    add_html(
        m,
        f'<header class="gg-head"><div><h1>网格调整草案 · {esc(plan.get("name"))}</h1>'
        f'<div class="gg-sub">{esc(plan.get("code"))} · {esc(PLAN_STATUS_LABELS.get(status, status))}</div></div>'
        f'<div class="gg-actions">{editor}<button type="button" data-print>打印</button></div></header>',
    )
    add_html(
        m,
        '<aside class="gg-panel"><section class="gg-card"><h2>变化概况</h2>'
        + ('<div class="gg-muted">方案还没有任何网格 / the plan has no cells yet</div>' if empty else "")
        + f'<ul class="gg-list">{rows}</ul></section>'
        f'<section class="gg-card"><h2>提交后需重新归属</h2><ul class="gg-list">{affected}</ul>'
        '<div class="gg-muted">提交时旧版本网格关闭、新版本生效，历史记录保留。</div></section></aside>',
    )
    return m


def plan_page(data: PlanDiffMap, ctx: PageContext) -> str:
    return render_page(plan_map(data, ctx), ctx)


def plan_shell_page(plan_id: int, ctx: PageContext) -> str:
    """The page a link to /maps/plans/{id} opens: no plan data, only a script (gg_plan_shell.js) that asks for the
    diff map with the stored token (401/403/404 explained in Chinese) and shows it."""
    plan_id = int(plan_id)
    return render_plain_page(
        "plan_shell.html",
        ctx,
        scripts=("gg_auth.js", "gg_plan_shell.js"),
        plan_id=plan_id,
        page_url=ctx.link(f"/maps/plans/{plan_id}"),
        editor_url=ctx.link(f"/plans/{plan_id}/edit"),
    )
