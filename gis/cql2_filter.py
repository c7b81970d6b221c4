"""CQL2 filters (OGC API – Features Part 3) on a feature layer's published properties, as SQLAlchemy.

The text (or JSON) is parsed by the `cql2` package (a Rust parser); its CQL2-JSON tree is checked here against
what we translate (`OPERATORS`) and caps (`MAX_TEXT`, `MAX_DEPTH`, `MAX_NODES`), and its literals are lifted
out as bound values `f0`, `f1` …, leaving a *shape* (the tree with each literal's kind in its place) that the
page statement's plan is keyed on. `filter_clause` turns the shape into a WHERE clause over a WHITELIST: the
layer's published, scalar properties the reader is not denied (`hidden`), and `geometry`. No SQL is ever made
from the filter's text; a filter on a property the reader does not read is refused as unknown, so filtering
cannot reveal a hidden field.

Errors are `BadFilter` (HTTP 400): what is wrong, where (line:column from the parser) and how to fix it, in
Chinese and English.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import cql2
import shapely
from shapely.geometry import box, shape
from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    and_,
    bindparam,
    func,
    not_,
    or_,
    true,
)
from sqlalchemy.types import TypeEngine

from gis.errors import BadFilter
from gis.resources import SHANGHAI

MAX_TEXT = 4_000  # characters of filter text
MAX_DEPTH = 20  # nesting of parentheses / operators (the parser recurses: deep input must not reach it)
MAX_NODES = 300  # operators, properties and literals in the tree
GEOMETRY = "geometry"  # the queryable name of a feature's geometry
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"  # latitude first
LANGS = ("cql2-text", "cql2-json")

COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_disjoint": "ST_Disjoint",
    "s_within": "ST_Within",
    "s_contains": "ST_Contains",
    "s_equals": "ST_Equals",
    "s_touches": "ST_Touches",
    "s_overlaps": "ST_Overlaps",
    "s_crosses": "ST_Crosses",
}
TEMPORAL = ("t_intersects", "t_before", "t_after", "t_equals")
OPERATORS = (
    "and",
    "or",
    "not",
    *COMPARISONS,
    "like",
    "between",
    "in",
    "isNull",
    "casei",
    *SPATIAL,
    *TEMPORAL,
)
SUPPORTED = (
    "=, <>, <, <=, >, >=, AND, OR, NOT, ( ), IS [NOT] NULL, [NOT] LIKE, [NOT] IN (…), [NOT] BETWEEN … AND …, "
    "CASEI(…), S_INTERSECTS / S_WITHIN / S_CONTAINS / S_DISJOINT / S_EQUALS / S_TOUCHES / S_OVERLAPS / S_CROSSES "
    "(geometry, POINT/LINESTRING/POLYGON/MULTI…/BBOX literal), T_INTERSECTS / T_BEFORE / T_AFTER / T_EQUALS "
    "(a date property, TIMESTAMP/DATE/INTERVAL literal)"
)
EXAMPLE = "households >= 100 AND name LIKE '%花园%'"

# a property's kind, from its column type; JSON and array columns are not queryable
KINDS: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (Boolean, "bool"),
    (DateTime, "time"),
    (Integer, "number"),
    (Numeric, "number"),
    (Float, "number"),
    (String, "text"),
)
KIND_NAMES = {"text": "文本 text", "number": "数字 number", "bool": "布尔 boolean", "time": "时间 timestamp/date"}
BIND_TYPES: dict[str, Any] = {"text": Text, "number": Float, "bool": Boolean, "time": DateTime(timezone=True)}


def bad(what_zh: str, what_en: str, *, fix: str, position: dict[str, int] | None = None, **detail: Any) -> BadFilter:
    where = f" (line {position['line']}, column {position['column']})" if position else ""
    return BadFilter(
        f"过滤条件有误：{what_zh} / bad filter: {what_en}{where}. 如何修改 / how to fix: {fix}",
        detail={"position": position, "fix": fix, "supported": SUPPORTED, **detail},
    )


@dataclass(frozen=True)
class Filter:
    """A parsed filter: `shape` (JSON text: the tree with literals replaced by {"$": name, "k": kind}) keys the
    page plan; `values` are the literals bound at each request."""

    shape: str
    values: dict[str, Any]

    @property
    def tree(self) -> Any:
        return json.loads(self.shape)


_QUOTED = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"")
_PREFIXES = re.compile(r"(?:(?:[-+]|\bNOT\b)\s*){3,}", re.IGNORECASE)


def _too_deep(text: str) -> bool:
    """Whether `text` nests brackets deeper than MAX_DEPTH or chains 3+ prefix operators (-, +, NOT) outside
    quoted strings: checked before the parser sees the text, as the parser recurses on both (a stack overflow
    at a few thousand)."""
    bare = _QUOTED.sub("''", text)
    depth = deepest = 0
    for ch in bare:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest > MAX_DEPTH or _PREFIXES.search(bare) is not None


_POSITION = re.compile(r"-->\s*(\d+):(\d+)")


def _parse_error(exc: Exception, text: str) -> BadFilter:
    message = str(exc)
    found = _POSITION.search(message)
    position = {"line": int(found[1]), "column": int(found[2])} if found else None
    expected = next((line.split("=", 1)[1].strip() for line in message.splitlines() if "expected" in line), None)
    near = ""
    if position and position["line"] == 1:
        near = text[max(0, position["column"] - 11) : position["column"] + 9]
    return bad(
        f"语法错误，位置在 {near!r} 附近" if near else "语法错误",
        f"syntax error near {near!r}" if near else "syntax error",
        fix=f"write CQL2-text such as {EXAMPLE!r}; strings in single quotes ('' for a quote), "
        "property names plain or in double quotes" + (f"; the parser expected: {expected}" if expected else ""),
        position=position,
        parser=message.strip()[:500],
    )


def check_options(lang: str | None, crs: str | None) -> str:
    """`filter-lang` (None: cql2-text) and `filter-crs` checked; the language."""
    lang = lang or "cql2-text"
    if lang not in LANGS:
        raise bad(
            f"不支持的 filter-lang {lang!r}",
            f"unsupported filter-lang {lang!r}",
            fix="use filter-lang=cql2-text (the default) or cql2-json",
        )
    if crs not in (None, CRS84, EPSG4326):
        raise bad(
            f"不支持的 filter-crs {crs!r}",
            f"unsupported filter-crs {crs!r}",
            fix=f"leave filter-crs out (longitude, latitude in WGS84) or use {CRS84} or {EPSG4326} (latitude first)",
        )
    return lang


def parse_filter(text: str, lang: str | None = None, crs: str | None = None) -> Filter:
    """Check and parse `filter` (`filter-lang` cql2-text, the default, or cql2-json; `filter-crs` CRS84, the
    default, or EPSG:4326 with latitude first)."""
    lang = check_options(lang, crs)
    if len(text) > MAX_TEXT:
        raise bad(
            f"过长（{len(text)} 个字符，最多 {MAX_TEXT}）",
            f"too long ({len(text)} characters, at most {MAX_TEXT})",
            fix="use IN (…) for lists of values, or a BBOX instead of a detailed polygon",
        )
    if "\x00" in text:
        raise bad("含有 NUL 字符", "contains a NUL character", fix="remove the NUL (%00) character")
    if not text.strip():
        raise bad("为空", "is empty", fix=f"leave filter out, or give a condition such as {EXAMPLE!r}")
    if _too_deep(text):
        raise bad(
            f"嵌套过深（括号最多 {MAX_DEPTH} 层，NOT / 负号最多连用 2 个）",
            f"nested too deep (at most {MAX_DEPTH} levels of brackets, at most 2 NOT or signs in a row)",
            fix="simplify the condition: AND / OR take any number of terms without nesting",
        )
    try:
        tree = (cql2.parse_text(text) if lang == "cql2-text" else cql2.parse_json(text)).to_json()
    except (ValueError, RecursionError, cql2.ParseError) as exc:
        raise _parse_error(exc, text) from exc
    lifted = _Lift(crs == EPSG4326)
    out = lifted.walk(tree, 0)
    return Filter(json.dumps(out, ensure_ascii=False, sort_keys=True), lifted.values)


class _Lift:
    """Walks the parser's CQL2-JSON: checks operators and caps, lifts literals into bound values."""

    def __init__(self, flip: bool) -> None:
        self.values: dict[str, Any] = {}
        self.nodes = 0
        self.flip = flip

    def literal(self, kind: str, value: Any) -> dict[str, str]:
        name = f"f{len(self.values)}"
        self.values[name] = value
        return {"$": name, "k": kind}

    def walk(self, node: Any, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise bad(
                f"过于复杂（最多 {MAX_NODES} 项、{MAX_DEPTH} 层）",
                f"too complex (at most {MAX_NODES} terms, {MAX_DEPTH} levels)",
                fix="split the query, or use IN (…) / BETWEEN instead of many ORs",
            )
        if isinstance(node, bool):
            return self.literal("bool", node)
        if isinstance(node, int | float):
            return self.literal("number", float(node))
        if isinstance(node, str):
            return self.literal("text", node)
        if isinstance(node, list):
            return {"list": [self.walk(item, depth + 1) for item in node]}
        if not isinstance(node, dict):
            raise bad("不能使用 NULL 作为值", "NULL is not a value here", fix="write 'prop IS NULL' / 'IS NOT NULL'")
        if "property" in node:
            return {"property": str(node["property"])}
        if "op" in node:
            op = node["op"]
            if op not in OPERATORS:
                raise bad(
                    f"不支持的运算 {op!r}", f"unsupported operator {op!r}", fix=f"use one of: {SUPPORTED}", operator=op
                )
            return {"op": op, "args": [self.walk(arg, depth + 1) for arg in node.get("args", [])]}
        if "timestamp" in node or "date" in node:
            return self.literal("time", _instant(node))
        if "interval" in node:
            ends = [_end(end, i == 1) for i, end in enumerate(node["interval"])]
            return {"interval": [None if end is None else self.literal("time", end) for end in ends]}
        if "bbox" in node or "type" in node:
            return self.literal("geom", _geometry(node, self.flip))
        raise bad("无法识别的值", f"unrecognised value {str(node)[:80]!r}", fix=f"use one of: {SUPPORTED}")


def _end(end: Any, last: bool) -> datetime | None:
    """An end of an INTERVAL: '..' open (None); a date ends at the end of that day (Beijing)."""
    if end == "..":
        return None
    node = end if isinstance(end, dict) else {"date" if len(str(end)) == 10 else "timestamp": end}
    value = _instant(node)
    return value.replace(hour=23, minute=59, second=59, microsecond=999999) if last and "date" in node else value


def _instant(node: dict[str, Any]) -> datetime:
    """A TIMESTAMP (RFC 3339; without a zone: Beijing time) or a DATE (its start in Beijing)."""
    raw = str(node.get("timestamp") or node.get("date"))
    try:
        if "date" in node:
            return datetime.combine(date.fromisoformat(raw), time(), SHANGHAI)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad(
            f"日期时间 {raw!r} 无效",
            f"{raw!r} is not a valid date or timestamp",
            fix="write TIMESTAMP('2026-12-01T08:00:00Z') or DATE('2026-12-01')",
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def _geometry(node: dict[str, Any], flip: bool) -> str:
    """A geometry literal (BBOX or GeoJSON-like from the parser) as WKT in longitude/latitude, checked valid."""
    try:
        if "bbox" in node:
            b = [float(v) for v in node["bbox"]]
            x1, y1, x2, y2 = (b[0], b[1], b[3], b[4]) if len(b) == 6 else b
            geom = box(y1, x1, y2, x2) if flip else box(x1, y1, x2, y2)
        else:
            geom = shape(node)
            if flip:
                geom = shapely.ops.transform(lambda x, y, *z: (y, x), geom)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise bad("几何图形无效", f"invalid geometry: {exc}", fix="e.g. BBOX(121.4,31.2,121.5,31.3)") from exc
    if geom.is_empty or not geom.is_valid:
        raise bad(
            "几何图形无效（自相交或为空）",
            "invalid geometry (self-intersecting or empty)",
            fix="close polygon rings and do not let them cross; "
            "e.g. POLYGON((121.4 31.2,121.5 31.2,121.5 31.3,121.4 31.2))",
        )
    b = geom.bounds
    if not (-180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90):
        raise bad(
            "坐标超出范围",
            "coordinates out of range",
            fix="longitude in [-180, 180], latitude in [-90, 90] (with filter-crs EPSG:4326: latitude first)",
        )
    return str(geom.wkt)


def property_kind(column: Any) -> str | None:
    """The queryable kind of a published column ('text', 'number', 'bool', 'time'), None: not queryable."""
    for cls, kind in KINDS:
        if isinstance(column.type, cls):
            return kind
    return None


def queryable_columns(properties: dict[str, Any], hidden: frozenset[str]) -> dict[str, tuple[Any, str]]:
    """The whitelist: published, scalar properties the reader reads, with their kinds."""
    out = {}
    for name, column in properties.items():
        kind = property_kind(column)
        if kind is not None and name not in hidden:
            out[name] = (column, kind)
    return out


JSON_SCHEMA_TYPES = {
    "text": {"type": "string"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "time": {"type": "string", "format": "date-time"},
}


def queryables_schema(properties: dict[str, Any], hidden: frozenset[str], geometry_type: str) -> dict[str, Any]:
    """The JSON Schema `properties` of a layer's queryables (OGC API – Features Part 3)."""
    out: dict[str, Any] = {
        GEOMETRY: {"title": "geometry", "format": f"geometry-{geometry_type}", "x-ogc-role": "primary-geometry"}
    }
    for name, (column, kind) in queryable_columns(properties, hidden).items():
        entry: dict[str, Any] = {"title": name, **JSON_SCHEMA_TYPES[kind]}
        if isinstance(column.type, Integer):
            entry["type"] = "integer"
        out[name] = entry
    return out


class _Clause:
    """Builds the WHERE clause of a filter's shape over the whitelist."""

    def __init__(self, columns: dict[str, tuple[Any, str]], geom: Any, layer: str) -> None:
        self.columns = columns
        self.geom = geom
        self.layer = layer

    def operand(self, node: dict[str, Any]) -> tuple[Any, str]:
        if "property" in node:
            name = node["property"]
            if name == GEOMETRY:
                return self.geom, "geom"
            if name not in self.columns:
                raise bad(
                    f"{self.layer} 没有可查询的属性 {name!r}",
                    f"{self.layer} has no queryable property {name[:80]!r}",
                    fix=f"use one of: {', '.join([*self.columns, GEOMETRY])} (GET …/queryables)",
                    property=name[:200],
                )
            return self.columns[name]
        if "$" in node:
            kind = node["k"]
            if kind == "geom":
                return func.ST_GeomFromText(bindparam(node["$"], type_=Text), 4326), "geom"
            return bindparam(node["$"], type_=BIND_TYPES[kind]), kind
        if node.get("op") == "casei":
            inner, kind = self.operand(node["args"][0]) if node["args"] else (None, "")
            if kind != "text":
                raise bad("CASEI 只能用于文本", "CASEI takes a text", fix="CASEI(name) = CASEI('abc')")
            return func.lower(inner), "text"
        raise bad(
            "此处需要属性或值",
            "a property or a value is expected here, not a condition",
            fix="compare a property with a value, e.g. households > 100",
        )

    def same(self, op: str, kinds: list[str]) -> None:
        if "geom" in kinds:
            raise bad(
                f"{op} 不能用于几何",
                f"{op} cannot compare geometries",
                fix="use S_INTERSECTS(geometry, …) and the like",
            )
        if len(set(kinds)) > 1:
            names = " / ".join(KIND_NAMES.get(k, k) for k in kinds)
            raise bad(
                f"{op} 两边类型不同（{names}）",
                f"{op} compares values of different types ({names})",
                fix="quote text ('abc'), write numbers bare (12), dates as TIMESTAMP('…') or DATE('…'); "
                "see the types in …/queryables",
            )

    def clause(self, node: dict[str, Any]) -> ColumnElement[bool]:
        op = node.get("op")
        args: list[Any] = node.get("args", [])
        if op in ("and", "or"):
            parts = [self.clause(a) for a in args]
            return and_(*parts) if op == "and" else or_(*parts)
        if op == "not":
            return not_(self.clause(args[0]))
        if op == "isNull":
            column, _ = self.operand(args[0])
            return column.is_(None)  # type: ignore[no-any-return]
        if op in COMPARISONS:
            (left, lk), (right, rk) = self.operand(args[0]), self.operand(args[1])
            self.same(op, [lk, rk])
            if lk == "bool" and op not in ("=", "<>"):
                raise bad(f"布尔值不能用 {op} 比较", f"booleans take = or <>, not {op}", fix="overdue = true")
            return left.op(op, is_comparison=True)(right)  # type: ignore[no-any-return]
        if op == "like":
            (left, lk), (right, rk) = self.operand(args[0]), self.operand(args[1])
            if lk != "text" or rk != "text":
                raise bad("LIKE 只能用于文本", "LIKE compares text", fix="name LIKE '%花园%' (% any, _ one character)")
            return left.like(right)  # type: ignore[no-any-return]
        if op == "between":
            operands = [self.operand(a) for a in args]
            self.same("BETWEEN", [k for _, k in operands])
            return operands[0][0].between(operands[1][0], operands[2][0])  # type: ignore[no-any-return]
        if op == "in":
            left, lk = self.operand(args[0])
            items = [self.operand(a) for a in args[1].get("list", [])] if isinstance(args[1], dict) else []
            self.same("IN", [lk, *(k for _, k in items)])
            return left.in_([value for value, _ in items])  # type: ignore[no-any-return]
        if op in SPATIAL:
            (left, lk), (right, rk) = self.operand(args[0]), self.operand(args[1])
            if lk != "geom" or rk != "geom":
                raise bad(
                    f"{op.upper()} 需要两个几何",
                    f"{op.upper()} takes two geometries",
                    fix="S_INTERSECTS(geometry, BBOX(121.4,31.2,121.5,31.3))",
                )
            return getattr(func, SPATIAL[op])(left, right)  # type: ignore[no-any-return]
        if op in TEMPORAL:
            return self.temporal(op, args)
        raise bad("此处需要条件", "a condition is expected here", fix=f"e.g. {EXAMPLE!r}")

    def temporal(self, op: str, args: list[Any]) -> ColumnElement[bool]:
        left, lk = self.operand(args[0])
        fix = (
            "T_INTERSECTS(opened_at, INTERVAL('2026-01-01T00:00:00Z', '..')) or T_AFTER(opened_at, DATE('2026-11-01'))"
        )
        if lk != "time":
            raise bad(f"{op.upper()} 需要日期属性", f"{op.upper()} takes a date property", fix=fix)
        right = args[1]
        if isinstance(right, dict) and "interval" in right:
            start, end = (None if e is None else self.operand(e)[0] for e in right["interval"])
        else:
            value, kind = self.operand(right)
            if kind != "time":
                raise bad(f"{op.upper()} 需要日期或区间", f"{op.upper()} takes a date, timestamp or interval", fix=fix)
            start = end = value
        if op == "t_before":
            return left < start if start is not None else true()
        if op == "t_after":
            return left > end if end is not None else true()
        if op == "t_equals" and start is end:
            return left == start  # type: ignore[no-any-return]
        if op == "t_equals":
            raise bad("T_EQUALS 需要一个时刻", "T_EQUALS of a date property takes an instant", fix=fix)
        parts = [left >= start] if start is not None else []
        parts += [left <= end] if end is not None else []
        return and_(left.is_not(None), *parts)


def filter_clause(flt: Filter, properties: dict[str, Any], hidden: frozenset[str], geom: Any, layer: str) -> Any:
    """The WHERE clause of `flt` over the layer's queryable properties (values bound as :f0, :f1 …)."""
    return _Clause(queryable_columns(properties, hidden), geom, layer).clause(flt.tree)
