"""Paging links of a feature page, shared by /v1/{layer} and the OGC API items."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from gis.features import FeatureQuery

GEOJSON = "application/geo+json"


def page_links(request: Request, q: FeatureQuery, page: dict[str, Any]) -> list[dict[str, Any]]:
    """self, and next / prev when there are more pages (k-nearest answers are one page)."""
    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON}]
    if q.nearest is None and q.offset + page["numberReturned"] < page["numberMatched"]:
        nxt = request.url.include_query_params(offset=q.offset + q.limit)
        links.append({"rel": "next", "href": str(nxt), "type": GEOJSON})
    if q.offset > 0:
        prev = request.url.include_query_params(offset=max(0, q.offset - q.limit))
        links.append({"rel": "prev", "href": str(prev), "type": GEOJSON})
    return links
