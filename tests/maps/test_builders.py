"""Page builders from plain data (no database): layers present, popups complete, nothing from outside."""

from __future__ import annotations

import re
from typing import Any

import folium
import folium.plugins
import pytest

from gis.crs import wgs84_to_gcj02
from gis.errors import InvalidInput
from gis.mapdata import CommunityMap, CompoundMap
from maps.basemaps import basemap_from_settings
from maps.community_map import community_page
from maps.core import OutsideAssetError, PageContext, build_page, esc, render_page
from maps.operations_map import OPERATIONS_LAYERS, OperationsData, operations_page
from maps.resource_map import RESOURCE_MAP_LAYERS, compound_map, compound_page
from tests.maps.conftest import BASE_URL, ctx_for, outside_hosts


def unescaped(html: str) -> str:
    """Page text with JavaScript's \\uXXXX escapes decoded (folium writes layer names that way)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def test_compound_page_has_every_layer_and_control(compound_data: CompoundMap) -> None:
    html = unescaped(compound_page(compound_data, ctx_for()))
    for name in ("15分钟生活圈", "所在网格", "小区及楼栋", "便民维修（1）", "长者助餐点（1）", "卫生服务站（1）"):
        assert name in html, name
    assert "L.Control.Search" in html and "搜索服务场所" in html
    assert "L.Control.FullScreen" in html or "fullscreen" in html.lower()
    assert "L.control.scale" in html and "imperial: false" in html
    assert "L.control.layers" in html
    assert "图例" in html
    assert '<html lang="zh-CN">' in html and "user-scalable=no" not in html
    assert "initial-scale=1.0" in html, "readable on a phone"


def test_resource_popups_carry_what_a_resident_needs(compound_data: CompoundMap) -> None:
    html = compound_page(compound_data, ctx_for())
    for text in ("泉景便民维修站", "泉华路1号", "周一至周五 08:30-17:30", 'href="tel:0531-86001234"', "小修小补、磨刀"):
        assert text in html, text
    assert "营业中" in html and "休息中" in html
    assert "步行约 180 米（约 3 分钟）" in html
    assert "直线 1800 米" in html and "不在15分钟生活圈内" in html
    assert "data-hours=" in html, "open-now is refreshed in the browser from the hours"
    assert "生活圈内缺少：卫生" in html


def test_board_shows_the_four_duties_with_photos_and_phones(compound_data: CompoundMap) -> None:
    html = compound_page(compound_data, ctx_for())
    for duty in ("小区党支部书记", "包联社区工作者", "物业管家", "社区民警"):
        assert duty in html
    for phone in ("13900000001", "13900000002", "13900000003", "13900000004"):
        assert f'href="tel:{phone}"' in html
    assert 'src="/v1/avatars/李绪杰.svg"' in html
    assert 'src="/v1/avatars/王强.svg"' in html, "an outside photo URL is replaced by the app's portrait"
    assert "cdn.example.com" not in html
    assert "网格长：赵敏" in html and "孙伟" in html


def test_qr_code_links_to_the_live_page(compound_data: CompoundMap) -> None:
    html = compound_page(compound_data, ctx_for("/maps/compounds/C1"))
    card = html[html.index("便民联系卡") :]
    assert re.search(r"<svg viewBox=\"0 0 \d+ \d+\" class=\"segno\">", card)
    assert f"{BASE_URL}/maps/compounds/C1" in card


def test_print_layout_is_declared(compound_data: CompoundMap) -> None:
    html = compound_page(compound_data, ctx_for())
    assert "打印日期" in html and "data-print" in html
    css = (__import__("maps.assets", fromlist=["STATIC_DIR"]).STATIC_DIR / "maps.css").read_text()
    assert "@page { size: A4 portrait" in css and "@media print" in css


@pytest.mark.parametrize("page", ["compound", "community", "operations"])
def test_no_page_references_an_outside_host(
    page: str, compound_data: CompoundMap, community_data: CommunityMap
) -> None:
    if page == "compound":
        html = compound_page(compound_data, ctx_for())
    elif page == "community":
        html = community_page(community_data, ctx_for("/maps/communities/370102010001"))
    else:
        html = operations_page(OperationsData((117.0, 36.6, 117.1, 36.7)), ctx_for("/maps/operations"))
    assert outside_hosts(html) == set()
    assert re.findall(r'(?:src|href)="(/[^"]*)"', html), "assets come from the app itself"
    assert all(
        u.startswith(("/assets/", "/v1/avatars/", "/maps/", "data:"))
        for u in re.findall(r'(?:src|href)="(/[^"]*)"', html)
    )


def test_a_plugin_with_a_cdn_url_makes_the_page_fail(compound_data: CompoundMap) -> None:
    def minimap(m: folium.Map, ctx: PageContext, data: Any) -> None:
        folium.plugins.MiniMap(tile_layer=None).add_to(m)  # never rewritten to local files

    ctx = ctx_for()
    with pytest.raises(OutsideAssetError, match="cdnjs"):
        render_page(compound_map(compound_data, ctx, [*RESOURCE_MAP_LAYERS, minimap]), ctx)


def test_community_page_links_compounds_and_colours_gaps(community_data: CommunityMap) -> None:
    html = unescaped(community_page(community_data, ctx_for("/maps/communities/370102010001")))
    assert 'href="/maps/compounds/C1"' in html
    assert "生活圈缺项：托育、卫生" in html and "#fb8c00" in html
    assert "文华社区党委" in html and "文华社区第9网格" in html
    exported = community_page(community_data, ctx_for("/maps/communities/370102010001", standalone=True))
    assert f'href="{BASE_URL}/maps/compounds/C1"' in exported, "an exported file links to the live site"


def test_operations_page_holds_no_data_and_fetches_by_bbox() -> None:
    small = operations_page(OperationsData((117.0, 36.6, 117.1, 36.7)), ctx_for("/maps/operations"))
    other = operations_page(OperationsData((100.0, 20.0, 120.0, 40.0)), ctx_for("/maps/operations"))
    assert abs(len(small) - len(other)) < 200, "page size does not depend on the data"
    assert "FeatureCollection" not in small
    for url in (
        "/maps/data/cells.geojson",
        "/maps/data/resources.geojson",
        "/maps/data/heat.json",
        "/tiles/tickets/{z}/{x}/{y}.pbf",
        "/maps/data/ticket_heat.json",
    ):
        assert url in small
    assert "/maps/data/tickets.geojson" not in small, "tickets are drawn from vector tiles, not capped GeoJSON"
    assert "gg.remote(" in small and "L.markerClusterGroup" in small and "L.heatLayer" in small
    assert "gg.ticketTiles(" in small and "Leaflet.VectorGrid.bundled.min.js" in small
    assert 'id="gg-login"' in small and "localStorage" not in small, "token handling lives in maps.js"


def test_operations_page_has_ticket_layers_filters_and_labels() -> None:
    html = unescaped(operations_page(OperationsData((117.0, 36.6, 117.1, 36.7)), ctx_for("/maps/operations")))
    for name in ("工单", "工单热力图", "住户热力图", "网格着色（未办结工单、超期工单、户数）"):
        assert name in html, name
    assert '"metric": "open_tickets"' in html, "cells open coloured by open tickets"
    for option in ('value="open_tickets" selected>未办结工单', 'value="overdue_tickets">超期工单'):
        assert option in html, option
    for param in ("category", "state", "opened_from", "opened_to"):
        assert f'data-filter-group="tickets" data-param="{param}"' in html, param
    assert 'type="date"' in html and '<option value="overdue">超期</option>' in html
    assert '"noise": "噪音扰民"' in html, "category labels for the popups"
    assert '"in_progress": "处置"' in html and '"ticketUrl": "/maps/tickets/"' in html
    assert "gg.ticketTiles(" in html and "超期工单" in html, "ticket tiles and the legend row"
    assert '"openStates": [' in html and '"minZoom": 12' in html, "what the browser filters and zooms by"


def test_ticket_page_links_back_and_holds_no_data() -> None:
    from maps.ticket_page import ticket_page

    html = ticket_page(42, ctx_for("/maps/tickets/42"))
    assert "工单 42" in html and 'href="/maps/operations"' in html and '"id": 42' in html
    assert outside_hosts(html) == set() and '<html lang="zh-CN">' in html
    exported = ticket_page(42, ctx_for("/maps/tickets/42", standalone=True))
    assert f'href="{BASE_URL}/maps/operations"' in exported


def test_a_new_layer_plugs_into_the_operations_page() -> None:
    seen: list[OperationsData] = []

    def tickets(m: folium.Map, ctx: PageContext, data: OperationsData) -> None:
        seen.append(data)
        folium.FeatureGroup(name="工单（测试）").add_to(m)

    data = OperationsData(None)
    html = render_page(build_page(ctx_for("/maps/operations"), data, [*OPERATIONS_LAYERS, tickets]), ctx_for())
    assert seen == [data] and "工单（测试）" in unescaped(html)


def test_operations_tickets_as_clusters_where_tiles_cannot_go() -> None:
    """Tiles are cut in WGS-84 (not shifted to GCJ-02): clusters on the 高德 basemap; in exported files too."""
    data = OperationsData((117.0, 36.6, 117.1, 36.7))
    for ctx in (ctx_for("/maps/operations", basemap=basemap_from_settings("amap")), ctx_for(standalone=True)):
        html = operations_page(data, ctx)
        assert "/maps/data/tickets.geojson" in html and "gg.ticketTiles(" not in html
        assert "/tiles/tickets/" not in html


def test_amap_basemap_shifts_overlays_to_gcj02(compound_data: CompoundMap) -> None:
    amap = basemap_from_settings("amap")
    html = compound_page(compound_data, ctx_for(basemap=amap))
    r = compound_data.resources[0]
    gx, gy = wgs84_to_gcj02(r["lon"], r["lat"])
    assert f"[{gy}, {gx}]" in html, "markers drawn in GCJ-02"
    assert f"[{r['lat']}, {r['lon']}]" not in html
    assert "autonavi.com" in html
    assert outside_hosts(html, extra=set(amap.hosts)) == set()


def test_basemap_settings() -> None:
    assert basemap_from_settings("none").tiles == ()
    xyz = basemap_from_settings("https://tiles.example.gov.cn/{z}/{x}/{y}.png")
    assert xyz.kind == "xyz" and "tiles.example.gov.cn" in xyz.hosts
    tdt = basemap_from_settings("tianditu", "KEY123")
    assert tdt.crs == "wgs84" and all("tk=KEY123" in t.url for t in tdt.tiles)
    with pytest.raises(InvalidInput, match="GRIDGOV_BASEMAP_KEY"):
        basemap_from_settings("tianditu")
    with pytest.raises(InvalidInput, match="XYZ URL template"):
        basemap_from_settings("google")


def test_popup_text_cannot_break_out_of_folium_js_templates() -> None:
    assert esc("`${alert(1)}`\\u") == "&#96;&#36;{alert(1)}&#96;&#92;u"
    assert esc("<script>") == "&lt;script&gt;"


def test_plan_diff_map_shows_live_draft_and_moved_ground() -> None:
    from gis.mapdata import PlanDiffMap
    from maps.plan_map import plan_page
    from tests.maps.conftest import square

    def fc(*features: dict[str, Any]) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": list(features)}

    def feat(geom: dict[str, Any], **props: Any) -> dict[str, Any]:
        return {"type": "Feature", "geometry": geom, "properties": props}

    x, y = 117.05, 36.67
    data = PlanDiffMap(
        plan={"code": "PLAN-1", "name": "文华社区网格调整", "status": "草案"},
        live=fc(feat(square(x, y, 0.004), code="L1", name="第1网格", households=300)),
        draft=fc(
            feat(square(x, y, 0.002), code="D1", name="第1网格", households=150, change="changed"),
            feat(square(x + 0.002, y, 0.002), code="D2", name="第23网格", households=150, change="added"),
        ),
        changed=fc(feat(square(x + 0.002, y, 0.002), from_code="L1", to_code="D2", area_m2=40000, tickets=3)),
        affected={"tickets": 3, "resources": 1, "compounds": 2},
        bounds=(x, y, x + 0.004, y + 0.004),
    )
    html = unescaped(plan_page(data, ctx_for("/maps/plans/PLAN-1")))
    for text in (
        "现行网格",
        "草案网格",
        "归属变化区域",
        "新增网格",
        "边界调整",
        "工单：3",
        "小区：2",
        "文华社区网格调整",
    ):
        assert text in html, text
    assert "撤销网格" not in html.split("图例")[1], "the legend lists only kinds present"
    assert outside_hosts(html) == set()


def test_tooltip_text_from_a_file_is_escaped_and_plain_pages_are_autoescaped() -> None:
    """Folium pastes tooltip values into HTML: a cell name from an imported file must arrive escaped. The plain
    pages' templates escape what they are given, and ensure_local refuses outside hosts there too."""
    from maps.core import ensure_local, geojson_layer, render_plain_page
    from tests.maps.conftest import square

    name = '<img src=x onerror="alert(1)">'
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": square(117.05, 36.67, 0.002),
                "properties": {"name": name, "code": "C1", "households": 12, "note": "<b>"},
            }
        ],
    }
    m = folium.Map(tiles=None)
    ctx = ctx_for()
    fields, aliases = ["name", "households"], ["网格", "户数"]
    assert geojson_layer(m, ctx, fc, name="网格", style={"color": "#000"}, fields=fields, aliases=aliases)
    html = unescaped(m.get_root().render())
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html and "<img src=x" not in html
    assert '"households": 12' in html and '"note": "<b>"' in html, "numbers and other properties as they were"
    empty = {"type": "FeatureCollection", "features": []}
    assert not geojson_layer(m, ctx, empty, name="空", style={}, fields=["name"])

    page = render_plain_page("ticket_page.html", PageContext(**{**ctx.__dict__, "title": name}), ticket_id=1, init={})
    assert "<title>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</title>" in page
    with pytest.raises(OutsideAssetError, match="cdn.example"):
        ensure_local('<script src="https://cdn.example/x.js"></script>', ctx)
