"""Plan editor page (/plans/{id}/edit): Leaflet + geoman, assets served locally, data from /v1/plans/….

Click a cell to select it (only that cell gets vertex handles, snapping to its neighbours); draw a new cell or
a split line with the geoman toolbar; from the side panel save the shape or the name and households, split by
a line or into k parts by households, merge with a neighbour, remove, revert; validation after every change;
commit, and file import with progress. A plan without cells starts on a community picked from a list.
Compounds (小区) and communities of the draft are drawn as outlines over the cells; a compound can be picked
and redrawn. The page is static (maps/templates/plan_editor.html): its scripts (maps/static/plan_*.js after
gg_auth.js, long-cached assets like the map pages') read everything from the JSON API with a planner's token,
kept like on the other map pages (or passed as #token=…). The configured basemap (none by default) is drawn
under the cells.
"""

from __future__ import annotations

from typing import Any

from maps.assets import EDITOR_SCRIPTS, PAGE_CSS, asset
from maps.basemaps import Basemap
from maps.core import render_template


def basemap_config(basemap: Basemap) -> dict[str, Any]:
    """What the script needs to draw the basemap: its tile layers and the coordinates overlays are shown in."""
    tiles = [
        {"url": t.url, "attribution": t.attribution, "subdomains": t.subdomains, "maxZoom": t.max_zoom}
        for t in basemap.tiles
    ]
    return {"kind": basemap.kind, "crs": basemap.crs, "tiles": tiles}


def plan_editor_page(plan_id: int, basemap: Basemap) -> str:
    """The editor page for one plan (maps/templates/plan_editor.html; everything else comes from the JSON API)."""
    plan_id = int(plan_id)
    diff_url = f"/maps/plans/{plan_id}"
    config = {"plan": plan_id, "api": f"/v1/plans/{plan_id}", "diffUrl": diff_url, "basemap": basemap_config(basemap)}
    return render_template(
        "plan_editor.html",
        title=f"网格规划编辑 · 方案 {plan_id}",
        styles=[
            asset("leaflet", "dist/leaflet.css"),
            asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.css"),
            PAGE_CSS[1],
        ],
        scripts=[],  # at the end of <body>: the editor's scripts find the page's elements as they run
        body_scripts=[
            asset("leaflet", "dist/leaflet.js"),
            asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.js"),
            *(asset("gridgov", name) for name in EDITOR_SCRIPTS),
        ],
        plan_id=plan_id,
        diff_url=diff_url,
        config=config,
    )
