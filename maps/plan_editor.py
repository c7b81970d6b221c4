"""Plan editor page (/plans/{id}/edit): Leaflet + geoman, assets served locally, data from /v1/plans/….

Draw, move vertices (snapping to neighbours), split a cell by drawing a line across it, merge two cells,
save to the draft, and see the validation problems on the map after every change. The page is static; its
data needs a planner's token (kept in localStorage like the other map pages, or passed as #token=…).
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

from maps.assets import asset

_TEMPLATE = Path(__file__).with_name("plan_editor.html")  # HTML + JS, placeholders __LIKE_THIS__


@lru_cache(maxsize=1)
def _template() -> str:
    return _TEMPLATE.read_text(encoding="utf-8")


def plan_editor_page(plan_id: int) -> str:
    """The editor page for one plan (static HTML; everything else comes from the JSON API)."""
    values = {
        "__LEAFLET_CSS__": asset("leaflet", "dist/leaflet.css"),
        "__GEOMAN_CSS__": asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.css"),
        "__LEAFLET_JS__": asset("leaflet", "dist/leaflet.js"),
        "__GEOMAN_JS__": asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.js"),
        "__PLAN_JSON__": json.dumps(int(plan_id)),
        "__PLAN__": html.escape(str(int(plan_id))),
    }
    page = _template()
    for key, value in values.items():
        page = page.replace(key, value)
    return page
