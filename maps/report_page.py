"""The 通报 as a printable A4 HTML page (maps/templates/report.html) from gis.evaluation.report's data.

The page has no script and loads nothing: its styles are inline and the map is the SVG the report drew from
the cells' geometry (built by gis.evaluation.report_map from coordinates only, names escaped there)."""

from __future__ import annotations

from typing import Any

from gis.evaluation.report_format import (
    CELL_KEYS,
    COMMUNITY_KEYS,
    RANKING_HEADER,
    STATUS_LABELS,
    TREND_KEYS,
    ranking_rows,
    show,
    summary_rows,
)
from maps.core import render_template


def report_page(data: dict[str, Any]) -> str:
    return render_template(
        "report.html",
        d=data,
        show=show,
        summary=summary_rows(data),
        ranking_rows=ranking_rows,
        ranking_header=RANKING_HEADER,
        trend_keys=TREND_KEYS,
        community_keys=COMMUNITY_KEYS,
        cell_keys=CELL_KEYS,
        status_labels=STATUS_LABELS,
    )
