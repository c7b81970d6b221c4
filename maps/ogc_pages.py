"""The OGC API's HTML representation (`?f=html`): a plain page of links and a table (collections, or a page of
features with their properties), so a browser can look around the API; GIS clients read the JSON."""

from __future__ import annotations

from typing import Any

from maps.core import PageContext, render_plain_page


def ogc_page(
    ctx: PageContext,
    *,
    links: list[dict[str, Any]],
    rows: list[dict[str, Any]] | None = None,
    table_title: str = "",
    note: str = "",
) -> str:
    """`rows` (dicts of plain values) as a table under the page's links."""
    columns: list[str] = []
    for row in rows or []:
        columns.extend(k for k in row if k not in columns)
    return render_plain_page(
        "ogc_page.html",
        ctx,
        heading=ctx.title,
        links=links,
        rows=rows or [],
        columns=columns,
        table_title=table_title,
        note=note,
    )


def feature_rows(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A table row per GeoJSON feature: its id, geometry type and properties (nested values as text)."""
    rows = []
    for f in features:
        props = {
            k: v if isinstance(v, str | int | float | bool) or v is None else str(v) for k, v in f["properties"].items()
        }
        rows.append({"id": f.get("id"), "geometry": (f.get("geometry") or {}).get("type"), **props})
    return rows
