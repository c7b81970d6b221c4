"""Values for spreadsheets (CSV and XLSX exports of tickets and of plans): what a user or a file supplied must
never run as a formula when a spreadsheet opens it, and XLSX cannot hold control characters. And the text of an
uploaded CSV, which Excel in China saves as GBK."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from gis.errors import InvalidInput

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


def csv_text(data: bytes) -> str:
    """An uploaded CSV's text: UTF-8 (with or without BOM) or GBK (gb18030), as Excel in China saves it."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("CSV 编码无法识别 / the CSV must be UTF-8 or GBK encoded: 请用 Excel “另存为 CSV”")
