"""Plan editor page (/plans/{id}/edit): Leaflet + geoman, assets served locally, data from /v1/plans/….

Click a cell to select it (only that cell gets vertex handles, snapping to its neighbours); draw a new cell or
a split line with the geoman toolbar; from the side panel save the shape or the name and households, split by
a line or into k parts by households, merge with a neighbour, remove, revert; validation after every change;
commit, and file import with progress. A plan without cells starts on a community picked from a list.
Compounds (小区) and communities of the draft are drawn as outlines over the cells; a compound can be picked
and redrawn. The page is static: its scripts (maps/static/plan_*.js, long-cached assets like maps.js) read
everything from the JSON API with a planner's token, kept in localStorage like on the other map pages (or
passed as #token=…). The configured basemap (none by default) is drawn under the cells.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from maps.assets import PAGE_CSS, asset
from maps.basemaps import Basemap

_TEMPLATE = Path(__file__).with_name("plan_editor.html")  # HTML + CSS, placeholders __LIKE_THIS__
# The editor's scripts, in loading order: the first holds the state and the map the others build on (each file
# must also be in OWN_FILES, maps/assets.py).
SCRIPTS = ("plan_editor.js", "plan_cells.js", "plan_areas.js", "plan_panels.js")


@lru_cache(maxsize=1)
def _template() -> str:
    return _TEMPLATE.read_text(encoding="utf-8")


def basemap_config(basemap: Basemap) -> dict[str, Any]:
    """What the script needs to draw the basemap: its tile layers and the coordinates overlays are shown in."""
    tiles = [
        {"url": t.url, "attribution": t.attribution, "subdomains": t.subdomains, "maxZoom": t.max_zoom}
        for t in basemap.tiles
    ]
    return {"kind": basemap.kind, "crs": basemap.crs, "tiles": tiles}


def plan_editor_page(plan_id: int, basemap: Basemap) -> str:
    """The editor page for one plan (static HTML; everything else comes from the JSON API)."""
    plan_id = int(plan_id)
    diff_url = f"/maps/plans/{plan_id}"
    config = {"plan": plan_id, "api": f"/v1/plans/{plan_id}", "diffUrl": diff_url, "basemap": basemap_config(basemap)}
    # "<" escaped: the JSON sits in a <script> and holds configured text (a tile URL, an attribution)
    config_json = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    values = {
        "__LEAFLET_CSS__": asset("leaflet", "dist/leaflet.css"),
        "__GEOMAN_CSS__": asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.css"),
        "__PAGE_CSS__": PAGE_CSS[1],
        "__LEAFLET_JS__": asset("leaflet", "dist/leaflet.js"),
        "__GEOMAN_JS__": asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.js"),
        "__EDITOR_SCRIPTS__": "".join(f'<script src="{asset("gridgov", name)}"></script>' for name in SCRIPTS),
        "__DIFF_URL__": html.escape(diff_url),
        "__PLAN__": str(plan_id),
    }
    page = _template()
    for key, value in values.items():
        page = page.replace(key, value)
    return page.replace("__CONFIG_JSON__", config_json)  # last: configured text is not a template
