"""Values for spreadsheets (CSV and XLSX exports of tickets and of plans): what a user or a file supplied must
never run as a formula when a spreadsheet opens it, and XLSX cannot hold control characters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(v: Any) -> Any:
    """A value as a spreadsheet should hold it: dates as ISO text; text that a spreadsheet would run as a
    formula (=HYPERLINK(…), +cmd|…, @SUM(…)) kept as text behind a quote; control characters dropped
    (XLSX cannot hold them). Numbers stay numbers."""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, str):
        v = ILLEGAL_CHARACTERS_RE.sub("", v)
        if v.startswith(FORMULA_START):
            return "'" + v
    return v
