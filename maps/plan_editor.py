"""Plan editor page (/plans/{id}/edit): Leaflet + geoman, assets served locally, data from /v1/plans/….

Click a cell to select it (only that cell gets vertex handles, snapping to its neighbours); draw a new cell or
a split line with the geoman toolbar; from the side panel save the shape or the name and households, split by
a line or into k parts by households, merge with a neighbour, remove, revert; validation after every change;
commit, and file import with progress. The page is static: its script (maps/static/plan_editor.js, inlined
here so the page is one request besides the pinned library files) reads everything from the JSON API with a
planner's token, kept in localStorage like on the other map pages (or passed as #token=…).
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

from maps.assets import PAGE_CSS, STATIC_DIR, asset

_TEMPLATE = Path(__file__).with_name("plan_editor.html")  # HTML + CSS, placeholders __LIKE_THIS__
_SCRIPT = STATIC_DIR / "plan_editor.js"


@lru_cache(maxsize=1)
def _template() -> tuple[str, str]:
    script = _SCRIPT.read_text(encoding="utf-8")
    if "</script" in script.lower():
        raise ValueError(f"{_SCRIPT} must not contain '</script' (it is inlined into the page)")
    return _TEMPLATE.read_text(encoding="utf-8"), script


def plan_editor_page(plan_id: int) -> str:
    """The editor page for one plan (static HTML; everything else comes from the JSON API)."""
    plan_id = int(plan_id)
    diff_url = f"/maps/plans/{plan_id}"
    config = {"plan": plan_id, "api": f"/v1/plans/{plan_id}", "diffUrl": diff_url}
    values = {
        "__LEAFLET_CSS__": asset("leaflet", "dist/leaflet.css"),
        "__GEOMAN_CSS__": asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.css"),
        "__PAGE_CSS__": PAGE_CSS[1],
        "__LEAFLET_JS__": asset("leaflet", "dist/leaflet.js"),
        "__GEOMAN_JS__": asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.js"),
        "__CONFIG_JSON__": json.dumps(config),
        "__DIFF_URL__": html.escape(diff_url),
        "__PLAN__": str(plan_id),
    }
    page, script = _template()
    for key, value in values.items():
        page = page.replace(key, value)
    return page.replace("__EDITOR_JS__", script)  # last: the script is not a template
