"""Ticket layers of the operations map (工单): ticket points (vector tiles; capped GeoJSON clusters on a
GCJ-02 basemap), a ticket heatmap and the filters (category / state / opening date) that re-fetch every ticket
layer, the choropleth included (the tiles apply them in the browser).

The page holds labels only (categories, states): the tickets themselves come from /tiles/tickets/… and
/maps/data/… with the stored token, so the page is the same size for a thousand tickets or a million.
"""

from __future__ import annotations

from typing import Any

import folium

from gis.mapdata import STATE_FILTER_LABELS, category_labels
from gis.tickets.workflow import OPEN_STATES, STATE_LABELS
from gis.tiles import TILE_LAYERS
from maps.core import PageContext, add_html, esc, legend_row
from maps.remote import RemoteTickets, TicketTiles, add_heat

FILTER_GROUP = "tickets"  # specs with this group get the panel's ticket filters


def ticket_labels() -> dict[str, Any]:
    """What the page's script needs to label tickets in Chinese."""
    return {"categories": category_labels(), "states": dict(STATE_LABELS)}


def tickets_cluster(m: folium.Map, ctx: PageContext, data: object) -> None:
    """Tickets in view: vector tiles on a WGS-84 basemap (every ticket the user may read, no cap), clustered
    GeoJSON on a GCJ-02 one; red when overdue; a popup links to the ticket page (token)."""
    dot = '<span class="gg-ticket{}" style="position:static;display:inline-block;width:12px;height:12px"></span>'
    ctx.legend.append(legend_row(dot.format(""), "工单"))
    ctx.legend.append(legend_row(dot.format(" gg-ticket-overdue"), "超期工单"))
    extra = {"filters": [FILTER_GROUP], "ticketUrl": ctx.link("/maps/tickets/"), **ticket_labels()}
    if ctx.basemap.crs == "wgs84" and not ctx.standalone:
        url, tiles = ctx.link("/tiles/tickets/{z}/{x}/{y}.pbf"), TILE_LAYERS["tickets"]
        extra["openStates"] = sorted(OPEN_STATES)
        m.add_child(
            TicketTiles(
                name="工单", url=url, label="工单", crs="wgs84", auth=True, min_zoom=tiles.min_zoom, extra=extra
            )
        )
        return
    # The tiles are cut on the WGS-84 web-mercator grid and ST_AsMVTGeom cannot shift points to GCJ-02, so on the
    # 高德 basemap the tickets would sit ~500 m off: there the capped GeoJSON clusters (shifted in Python) stay.
    # An exported file (`gridgov map export`) keeps them as well: it is checked offline, tiles there are untried.
    url = ctx.link("/maps/data/tickets.geojson")
    m.add_child(RemoteTickets(name="工单（聚合）", url=url, label="工单", crs=ctx.basemap.crs, auth=True, extra=extra))
    ctx.legend.append(
        legend_row('<span class="gg-swatch gg-ticket-cluster-swatch"></span>', "工单聚合（数量，含超期为红色）")
    )


def tickets_heat(m: folium.Map, ctx: PageContext, data: object) -> None:
    """Where tickets are reported (counts on a zoom-dependent grid); off by default."""
    add_heat(m, ctx, "/maps/data/ticket_heat.json", "工单热力图", extra={"filters": [FILTER_GROUP]})


def ticket_filters(m: folium.Map, ctx: PageContext, data: object) -> None:
    """The panel's ticket filters: each change re-fetches every layer of the group with the new params."""
    group = f'data-filter-group="{FILTER_GROUP}"'
    cats = '<option value="">全部类别</option>' + "".join(
        f'<option value="{esc(k)}">{esc(v)}</option>' for k, v in category_labels().items()
    )
    states = '<option value="">全部状态</option>' + "".join(
        f'<option value="{esc(k)}">{esc(v)}</option>' for k, v in STATE_FILTER_LABELS.items()
    )
    add_html(
        m,
        "<template data-panel-filter>"
        f'<label>工单类别 <select {group} data-param="category">{cats}</select></label>'
        f'<label>工单状态 <select {group} data-param="state">{states}</select></label>'
        '<div class="gg-dates">'
        f'<label>受理日期 自 <input type="date" {group} data-param="opened_from"></label>'
        f'<label>至 <input type="date" {group} data-param="opened_to"></label></div>'
        "</template>",
    )
