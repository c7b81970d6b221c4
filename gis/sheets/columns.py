"""Column kinds of the reference sheets: how a cell is read from a file, checked, compared and written back.

A cell's *value* is what the database holds (a code, an int, a list); its *text* is what the sheet shows (a
Chinese label, `、`-joined list). `parse` turns text into a value or raises `CellError` with a message that
says how to fix it; `show` turns a value into text; `parse(show(v)) == v` for every value the database holds,
which is what makes an export re-import as "unchanged".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gis.errors import InvalidInput
from gis.reference import checks

LIST_SEPARATORS = re.compile(r"\s*[、，,;；|]\s*")


class CellError(ValueError):
    """A cell that cannot be read: the message says what is wrong and how to fix it (Chinese first)."""


@dataclass(frozen=True)
class Column:
    """One column of a sheet. `key` names the value (a database field or a reference), `header` the Chinese
    heading in the file; `note` explains it in the 说明 sheet; `info` columns are written by exports for the
    reader and ignored by imports; `write_only` ones are read by imports and never exported (passwords)."""

    key: str
    header: str
    note: str
    required: bool = False
    kind: str = "text"  # text, int, float, choice, phone, list, bool, hours (OSM opening_hours)
    max_len: int = 120
    choices: dict[str, str] = field(default_factory=dict)  # value -> label
    minimum: float | None = None
    maximum: float | None = None
    info: bool = False
    write_only: bool = False
    check: Callable[[Any], None] | None = None  # extra check of a parsed value (raises CellError)
    default: Any = None  # the value of an empty optional cell
    aliases: tuple[str, ...] = ()  # former headers, still read

    def allowed(self) -> str:
        """The allowed values as the 说明 sheet states them."""
        if self.kind == "choice":
            return "、".join(self.choices.values())
        return {
            "int": "整数",
            "float": "小数（WGS84 经纬度，6 位小数）",
            "phone": "手机 11 位（13800000000）或座机（0531-88880000），400/800 服务号",
            "list": "多项用“、”分隔",
            "bool": "是、否",
            "hours": "OpenStreetMap 营业时间（Mo-Fr 08:30-17:30; PH off）或“周一至周五 08:30-17:30”",
        }.get(self.kind, f"文字，最多 {self.max_len} 字")

    def parse(self, raw: Any) -> Any:
        """The value of a cell's text; None for an empty cell (CellError if required)."""
        text = clean(raw)
        if text == "":
            if self.required:
                raise CellError(f"必填 / required: 请填写{self.header}")
            return [] if self.kind == "list" else self.default
        value = _PARSERS[self.kind](self, text)
        if self.check is not None:
            self.check(value)
        return value

    def show(self, value: Any) -> Any:
        """A value as the sheet shows it (numbers stay numbers)."""
        if value is None:
            return ""
        if self.kind == "choice":
            return self.choices.get(str(value), str(value))
        if self.kind == "list":
            return "、".join(str(v) for v in value)
        if self.kind == "bool":
            return "是" if value else "否"
        if self.kind == "float":
            return round(float(value), 6)
        return value


def clean(raw: Any) -> str:
    """A cell as text: numbers without a trailing .0, stripped, and without the quote our exports put before
    a text that a spreadsheet would otherwise run as a formula (gis.spreadsheet.spreadsheet_cell)."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def _text(col: Column, text: str) -> str:
    if len(text) > col.max_len:
        raise CellError(f"过长 / too long: {len(text)} 字，最多 {col.max_len} 字")
    return text


def _number(col: Column, text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(float(text)) if kind is float else int(text.replace(",", ""))
    except ValueError:
        what = "整数" if kind is int else "数字"
        raise CellError(f"不是{what} / not a number: “{text}”，请填写{what}") from None
    if col.minimum is not None and value < col.minimum:
        raise CellError(f"太小 / too small: {value}，不能小于 {col.minimum:g}")
    if col.maximum is not None and value > col.maximum:
        raise CellError(f"太大 / too large: {value}，不能大于 {col.maximum:g}")
    return value


def _choice(col: Column, text: str) -> str:
    for value, label in col.choices.items():
        if text in (value, label):
            return value
    raise CellError(f"不是可选值 / not one of the allowed values: “{text}”，可选：{col.allowed()}")


def check_phone(text: str) -> str:
    """gis.reference.checks.phone (one rule and one message for forms, the API and sheets) as a cell check."""
    try:
        return checks.phone(text) or ""
    except InvalidInput as exc:
        raise CellError(exc.message) from None


def _bool(col: Column, text: str) -> bool:
    if text in ("是", "启用", "有", "true", "True", "1", "Y", "y"):
        return True
    if text in ("否", "停用", "无", "false", "False", "0", "N", "n"):
        return False
    raise CellError(f"请填写“是”或“否” / yes or no: “{text}”")


_PARSERS: dict[str, Callable[[Column, str], Any]] = {
    "text": _text,
    "int": lambda col, text: int(_number(col, text, int)),
    "float": lambda col, text: round(_number(col, text, float), 6),
    "choice": _choice,
    "phone": lambda col, text: check_phone(text),
    "list": lambda col, text: [_text(col, v) for v in LIST_SEPARATORS.split(text) if v],
    "bool": _bool,
    "hours": lambda col, text: _hours(text),
}


def _hours(text: str) -> str:
    from gis.sheets.hours import to_osm  # it reads CellError from here

    return to_osm(text)


def lon_column(**kw: Any) -> Column:
    return Column("lon", "经度", "WGS84 经度（GPS/天地图坐标）；空着则按“所在小区/楼栋”放置", kind="float",
                  minimum=73, maximum=136, **kw)  # fmt: skip


def lat_column(**kw: Any) -> Column:
    return Column("lat", "纬度", "WGS84 纬度", kind="float", minimum=3, maximum=54, **kw)
