"""The managers' patrol map (/maps/patrols?date=&community=): a day's tracks by worker, check-ins, 五必查
problems, cell coverage as a choropleth, compounds below the 定岗 rule or not visited for N days, and the table
of workers and their rule status (exportable to Excel through /v1/patrols/rule.xlsx).

A plain page (maps/templates/patrol_map.html) drawn by maps/static/patrol_map.js with Leaflet: the data travels
in a JSON data block and the table is rendered here, autoescaped, so the page has no inline script (a
Content-Security-Policy may forbid them). Opened by a link (no Authorization header) the answer is a shell with
no data whose script asks the same URL again with the stored token, like the plan diff map.
"""

from __future__ import annotations

from typing import Any

from gis.patrol.daymap import PatrolDayMap
from gis.patrol.tiles import FIX_INTERVAL_S, MIN_ZOOM
from maps.assets import LEAFLET_CSS, LEAFLET_JS, PAGE_CSS, PATROL_MAP_SCRIPTS, VECTORGRID_JS, asset
from maps.core import PageContext, ensure_local, render_template


def _assets(ctx: PageContext, *, with_map: bool) -> dict[str, list[str]]:
    own = [ctx.link(asset("gridgov", f)) for f in PATROL_MAP_SCRIPTS]
    if not with_map:
        return {"scripts": own, "styles": [ctx.link(PAGE_CSS[1])]}
    scripts = [ctx.link(LEAFLET_JS[1]), ctx.link(VECTORGRID_JS[1]), *own]
    return {"scripts": scripts, "styles": [ctx.link(LEAFLET_CSS[1]), ctx.link(PAGE_CSS[1])]}


def fix_tiles(data: PatrolDayMap, ctx: PageContext) -> dict[str, Any] | None:
    """The day's GPS fixes as vector tiles (the "轨迹点" layer: gis.patrol.tiles, with the page's token), on
    WGS-84 basemaps only: the tiles are cut on the WGS-84 web-mercator grid and are not shifted to GCJ-02."""
    if ctx.basemap.crs != "wgs84" or ctx.standalone:
        return None
    query = f"date={data.day.isoformat()}" + (f"&community={data.community}" if data.community else "")
    return {"url": ctx.link("/tiles/patrol_fixes/{z}/{x}/{y}.pbf") + "?" + query, "minZoom": MIN_ZOOM,
            "interval": FIX_INTERVAL_S}  # fmt: skip


def map_data(data: PatrolDayMap, ctx: PageContext) -> dict[str, Any]:
    """What patrol_map.js draws, projected for the page's basemap."""
    box = data.bounds
    return {
        "bounds": ctx.bounds(box) if box else None,
        "tracks": ctx.features(data.tracks),
        "problems": ctx.features(data.problems),
        "cells": ctx.features(data.cells),
        "compounds": ctx.features(data.compounds),
        "workers": [{"id": i, "name": n} for i, n in sorted(data.workers.items())],
        "fixTiles": fix_tiles(data, ctx),
    }


def export_url(data: PatrolDayMap) -> str:
    query = f"date={data.day.isoformat()}" + (f"&community={data.community}" if data.community else "")
    return f"/v1/patrols/rule.xlsx?{query}"


def patrol_map_page(data: PatrolDayMap, ctx: PageContext) -> str:
    """The patrol map of one day; checked by ensure_local like every page."""
    compounds = [f["properties"] for f in data.compounds["features"]]
    html = render_template(
        "patrol_map.html",
        title=ctx.title,
        shell=False,
        data=map_data(data, ctx),
        day=data.day.isoformat(),
        community=data.community or "",
        days=data.unvisited_days,
        rule=data.rule,
        workers=data.workers,
        below=[c for c in compounds if c["below_rule"]],
        unvisited=[c for c in compounds if c["unvisited"]],
        export_url=ctx.link(export_url(data)),
        **_assets(ctx, with_map=True),
    )
    return ensure_local(html, ctx)


def patrol_shell_page(ctx: PageContext) -> str:
    """The page a link opens: no data; patrol_map.js asks this address again with the stored token."""
    html = render_template(
        "patrol_map.html", title=ctx.title, shell=True, data={"url": ctx.path}, **_assets(ctx, with_map=False)
    )
    return ensure_local(html, ctx)
