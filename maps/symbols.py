"""Symbols and HTML pieces shared by the resource maps: icons per resource type, popups, the
责任公示牌 board, the QR code of the 便民联系卡, and the resource-marker layer."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import folium
import folium.plugins
import segno

from gis.resources import RESOURCE_TYPES
from maps.avatars import AVATAR_PREFIX
from maps.core import PageContext, Script, esc, escaped, legend_row

# type -> (Font Awesome 6 solid icon, awesome-markers colour)
RESOURCE_ICONS: dict[str, tuple[str, str]] = {
    "party_service_center": ("flag", "red"),
    "community_canteen": ("utensils", "orange"),
    "elderly_meal_point": ("bowl-rice", "orange"),
    "elderly_care": ("person-cane", "purple"),
    "childcare": ("baby", "pink"),
    "repair": ("screwdriver-wrench", "cadetblue"),
    "health_station": ("kit-medical", "green"),
    "good_life_center": ("heart", "darkred"),
    "science_education": ("flask", "darkpurple"),
    "supermarket": ("cart-shopping", "blue"),
    "station_24h": ("clock", "darkgreen"),
    "police_office": ("shield-halved", "darkblue"),
}
DEFAULT_ICON = ("circle-info", "gray")

DUTIES: dict[str, str] = {  # 责任公示牌, in the order it is posted
    "secretary": "小区党支部书记",
    "liaison_worker": "包联社区工作者",
    "property_steward": "物业管家",
    "police": "社区民警",
}


def icon_for(rtype: str) -> tuple[str, str]:
    return RESOURCE_ICONS.get(rtype, DEFAULT_ICON)


def marker_icon_html(rtype: str) -> str:
    """The marker as static HTML (legend rows, panel), identical to the map's."""
    icon, colour = icon_for(rtype)
    return (
        f'<span class="awesome-marker awesome-marker-icon-{colour}">'
        f'<i class="fa fa-{icon}" style="color:white"></i></span>'
    )


def phone_link(phone: str | None) -> str:
    if not phone:
        return ""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch in "+-")
    return f'<a href="tel:{esc(digits)}">{esc(phone)}</a>'


def open_badge(resource: dict[str, Any]) -> str:
    """营业中 / 休息中, refreshed in the browser every minute from the machine-readable hours."""
    state = resource.get("open_now")
    hours = esc(json.dumps(resource.get("hours") or [], ensure_ascii=False, separators=(",", ":")))
    if state is None:
        return f'<span class="gg-open gg-no" data-hours="{hours}">时间未知</span>'
    cls, text = ("gg-yes", "营业中") if state else ("gg-no", "休息中")
    return f'<span class="gg-open {cls}" data-hours="{hours}">{text}</span>'


def distance_text(resource: dict[str, Any]) -> str:
    if resource.get("distance_m") == 0 and resource.get("walk_m") in (0, None):
        return "小区内"
    walk = resource.get("walk_m")
    if walk is not None:
        return f"步行约 {walk:.0f} 米（约 {max(1, round(walk / 67))} 分钟）"
    return f"直线 {resource['distance_m']:.0f} 米"


def resource_popup(r: dict[str, Any]) -> str:
    features = "、".join(esc(f) for f in r.get("features") or [])
    rows = [
        f"<b>{esc(r['name'])}</b> {open_badge(r)}",
        f'<span class="gg-muted">{esc(r.get("type_label") or RESOURCE_TYPES.get(r["type"], r["type"]))}</span>',
        f"地址：{esc(r.get('address') or '—')}",
        f"服务时间：{esc(r.get('opening_hours') or '—')}",
        f"电话：{phone_link(r.get('phone')) or '—'}",
    ]
    if features:
        rows.append(f"特色服务：{features}")
    if "distance_m" in r:
        far = "" if r.get("in_reach", True) else '<span class="gg-gap">（不在15分钟生活圈内）</span>'
        rows.append(f"距离：{distance_text(r)}{far}")
    return '<div class="gg-pop">' + "<br>".join(rows) + "</div>"


def add_resource_markers(m: folium.Map, ctx: PageContext, resources: list[dict[str, Any]]) -> None:
    """One layer per resource type ("党群服务中心 (2)") with icon markers and full popups, all in one
    marker cluster: the 美好生活中心 modules share a building, and a tap must still reach each of them
    (the cluster spiders them out). Markers are registered in `gg.markers` for the panel list."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in resources:
        by_type[r["type"]].append(r)
    cluster = folium.plugins.MarkerCluster(  # type: ignore[no-untyped-call]
        name="服务资源",
        control=False,
        options={"maxClusterRadius": 24, "spiderfyOnMaxZoom": True, "showCoverageOnHover": False},
    ).add_to(m)
    registry: list[str] = [f"gg.cluster = {cluster.get_name()};"]
    for rtype in sorted(by_type, key=lambda t: list(RESOURCE_ICONS).index(t) if t in RESOURCE_ICONS else 99):
        items = by_type[rtype]
        label = RESOURCE_TYPES.get(rtype, rtype)
        icon, colour = icon_for(rtype)
        group = folium.plugins.FeatureGroupSubGroup(  # type: ignore[no-untyped-call]
            cluster, name=f'<i class="fa fa-{icon}"></i> {esc(label)}（{len(items)}）', show=True
        )
        for r in items:
            marker = folium.Marker(
                ctx.latlon(r["lon"], r["lat"]),
                popup=folium.Popup(resource_popup(r), max_width=320),
                tooltip=esc(r["name"]),
                icon=folium.Icon(icon=icon, prefix="fa", color=colour, icon_color="white"),
            )
            marker.add_to(group)
            registry.append(
                f"gg.markers[{json.dumps(r['code'])}] = {marker.get_name()}; "
                f"gg.groups[{json.dumps(r['code'])}] = {group.get_name()};"
            )
        group.add_to(m)
        ctx.legend.append(legend_row(marker_icon_html(rtype), label))
    m.add_child(Script("\n".join(registry)))


def add_search(m: folium.Map, ctx: PageContext, resources: list[dict[str, Any]]) -> None:
    """Search services by name (leaflet-search, served locally). It indexes an invisible point layer
    and then opens the real marker, whose popup has everything."""
    points = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            "properties": {"name": r["name"], "code": r["code"]},
        }
        for r in resources
    ]
    if not points:
        return
    index = folium.GeoJson(
        ctx.features(escaped({"type": "FeatureCollection", "features": points})),  # leaflet-search lists as HTML
        name="搜索索引",
        control=False,
        marker=folium.CircleMarker(radius=0, stroke=False, fill=False, interactive=False),
    ).add_to(m)
    folium.plugins.Search(  # type: ignore[no-untyped-call]
        layer=index, search_label="name", placeholder="搜索服务场所…", collapsed=True, position="topleft"
    ).add_to(m)
    m.add_child(
        Script(
            f"{index.get_name()}searchControl.on('search:locationfound', function (e) {{"
            " gg.focus(e.layer.feature.properties.code); });"
        )
    )


def resource_list(resources: list[dict[str, Any]], *, reach_label: str | None = None) -> str:
    """Panel list grouped by type, nearest first; an item opens its marker (data-focus)."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in resources:
        by_type[r["type"]].append(r)
    out = []
    for rtype in sorted(by_type, key=lambda t: list(RESOURCE_ICONS).index(t) if t in RESOURCE_ICONS else 99):
        out.append(f'<div class="gg-type">{esc(RESOURCE_TYPES.get(rtype, rtype))}</div><ul class="gg-list">')
        for r in by_type[rtype][:6]:
            far = "" if r.get("in_reach", True) else " gg-far"
            dist = f' · <span class="gg-muted">{distance_text(r)}</span>' if "distance_m" in r else ""
            out.append(
                f'<li class="gg-item{far}" data-focus="{esc(r["code"])}">{esc(r["name"])} {open_badge(r)}{dist}'
                f'<br><span class="gg-muted">{esc(r.get("opening_hours") or "")}</span> '
                f"{phone_link(r.get('phone'))}</li>"
            )
        out.append("</ul>")
    return "".join(out)


def avatar_url(person: dict[str, Any]) -> str:
    """The person's photo when it is served by the app, else the app's placeholder portrait."""
    url = person.get("photo_url") or ""
    if url.startswith("/") and not url.startswith("//"):
        return url
    return f"{AVATAR_PREFIX}{person.get('name') or '?'}.svg"


def board_html(contacts: list[dict[str, Any]]) -> str:
    """责任公示牌: 小区书记, 包联社区工作者, 物业管家, 社区民警 with photo and a tap-to-call number."""
    by_duty = {c.get("duty"): c for c in contacts}
    cells = []
    for duty, title in DUTIES.items():
        c = by_duty.get(duty)
        if c is None:
            continue
        cells.append(
            f'<div class="gg-person"><img src="{esc(avatar_url(c))}" alt="{esc(c.get("name"))}" loading="lazy">'
            f'<div><div class="gg-duty">{esc(title)}</div><div class="gg-name">{esc(c.get("name"))}</div>'
            f"{phone_link(c.get('phone'))}</div></div>"
        )
    if not cells:
        return '<p class="gg-muted">暂未公示</p>'
    return '<div class="gg-board">' + "".join(cells) + "</div>"


def qr_svg(url: str) -> str:
    """QR code of the live page (for the 便民联系卡), inline SVG that scales with CSS."""
    return segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, title="扫码打开本地图")


def qr_card(ctx: PageContext) -> str:
    return (
        '<section class="gg-card"><h2>便民联系卡 · 扫码打开本图</h2><div class="gg-qr">'
        f"{qr_svg(ctx.page_url)}<div><div>用手机扫描二维码，随时查看周边服务和联系人。</div>"
        f'<div class="gg-url">{esc(ctx.page_url)}</div></div></div></section>'
    )


def participation_card(ctx: PageContext, participation: dict[str, Any] | None) -> str:
    """志愿服务: registered party members and volunteers, hours served this month, items open to claim (with the
    field app's link to claim them)."""
    if not participation:
        return ""
    community = participation["community"]
    rows = [
        f"社区已登记党员、志愿者 {esc(community['members'])} 人 · 服务队 {esc(community['teams'])} 支",
        f"社区本月服务 {esc(community['hours_month'])} 小时 · 可认领项目 {esc(community['open_items'])} 个",
    ]
    compound = participation.get("compound")
    if compound:
        rows.append(f"本小区本月服务 {esc(compound['hours_month'])} 小时 · 可认领项目 {esc(compound['open_items'])} 个")
    link = f'<a href="{esc(ctx.link("/field"))}">手机认领服务项目 →</a>'
    return f'<section class="gg-card gg-participation"><h2>志愿服务</h2>{"<br>".join(rows)}<br>{link}</section>'
