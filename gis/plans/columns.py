"""Map a read file's columns to a layer's features: codes, typed attributes (aliases such as 网格编码 or WGBM,
or an explicit mapping), polygon geometries within the vertex limit. Z/M values are dropped with a warning.
Every problem names the feature it is about (#n and code), and any problem rejects the whole file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.errors import InvalidInput
from gis.plans.geo import as_multipolygon
from gis.plans.layers import SPECS, Layer, check_layer
from gis.plans.read import Limits, Progress, frame_to_wgs84, no_progress, read_layer

_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "cell": {
        "code": ("code", "cell_code", "grid_code", "wgbm", "网格编码", "编码"),
        "name": ("name", "cell_name", "mc", "网格名称", "名称"),
        "households": ("households", "hs", "hh", "户数"),
        "population": ("population", "rk", "人口"),
        "cell_type": ("cell_type", "type", "lx", "网格类型", "类型"),
    },
    "compound": {
        "code": ("code", "compound_code", "xqbm", "小区编码", "编码"),
        "name": ("name", "compound_name", "xqmc", "小区名称", "名称"),
        "households": ("households", "hs", "hh", "户数"),
        "kind": ("kind", "type", "lx", "小区类型", "类型"),
        "address": ("address", "dz", "地址"),
        "community_code": ("community", "community_code", "sqbm", "社区编码"),
    },
    "community": {
        "code": ("code", "community_code", "sqbm", "社区编码", "编码"),
        "name": ("name", "community_name", "sqmc", "社区名称", "名称"),
        "households": ("households", "hs", "hh", "户数"),
        "party_org": ("party_org", "社区党组织", "党组织"),
        "secretary": ("secretary", "书记"),
        "phone": ("phone", "电话"),
    },
}
_INTEGERS = ("households", "population")
_CELL_TYPES = {"basic": "basic", "基础网格": "basic", "dedicated": "dedicated", "专属网格": "dedicated"}
_COMPOUND_KINDS = {
    "closed": "closed",
    "封闭式": "closed",
    "封闭": "closed",
    "open": "open",
    "开放式": "open",
    "开放": "open",
}


@dataclass
class ImportedFeature:
    """One feature of an imported file; attributes the file does not give are None (keep the current value)."""

    index: int  # 1-based position in the file, for messages
    code: str
    geom: BaseGeometry | None  # None: an attribute table (CSV/Excel without geometry)
    name: str | None = None
    households: int | None = None
    population: int | None = None
    cell_type: str | None = None
    kind: str | None = None
    address: str | None = None
    community_code: str | None = None
    party_org: str | None = None
    secretary: str | None = None
    phone: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportedLayer:
    features: list[ImportedFeature]
    source_crs: str
    format: str
    layer: Layer = "cell"
    warnings: list[str] = field(default_factory=list)
    attributes_only: bool = False  # a CSV/Excel table without geometry


def _value(row: dict[str, Any], key: str, mapping: dict[str, str], aliases: dict[str, tuple[str, ...]]) -> Any:
    names = (mapping[key],) if key in mapping else aliases[key]
    lowered = {str(k).strip().lower(): v for k, v in row.items()}
    for n in names:
        raw = lowered.get(n.lower())
        v = None if isinstance(raw, bytes | bytearray | memoryview) else _plain(raw)
        if v is not None and str(v).strip() != "":
            return v
    return None


def _plain(v: Any) -> Any:
    """An attribute value as JSON can hold it (properties are stored as JSONB): dates and times as ISO text,
    numpy scalars as Python numbers, NULL / NaN / NaT / ±Infinity as None. Bytes are left to the caller."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, datetime | date | time):  # pandas Timestamp is a datetime
        return v.isoformat()
    if isinstance(v, bool | int | str):
        return v
    return str(v)


def _binary_columns(records: list[dict[str, Any]]) -> list[str]:
    return sorted({str(k) for r in records for k, v in r.items() if isinstance(v, bytes | bytearray | memoryview)})


def _geometry_problem(geom: BaseGeometry | None, limits: Limits, what: str) -> str | None:
    if geom is None or geom.is_empty:
        return "几何为空 / empty geometry"
    if not isinstance(geom, Polygon | MultiPolygon):
        return f"不是面 ({geom.geom_type}) / a {what} must be a Polygon or MultiPolygon, not {geom.geom_type}"
    n = int(shapely.get_num_coordinates(geom))
    if n > limits.max_vertices:
        return f"顶点过多 ({n}) / too many vertices: {n} > {limits.max_vertices}; simplify it"
    return None


def _code_text(code: Any) -> str:
    """Codes read as numbers by a spreadsheet (370102010001001.0) back to their digits."""
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    text = str(code).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def _attributes(row: dict[str, Any], layer: str, mapping: dict[str, str]) -> dict[str, Any]:
    """The layer's attributes found in a row, typed; ValueError names the attribute that is wrong."""
    aliases = _ALIASES[layer]
    out: dict[str, Any] = {}
    for key in aliases:
        if key == "code":
            continue
        v = _value(row, key, mapping, aliases)
        if v is None:
            continue
        if key in _INTEGERS:
            try:
                number = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{key} 不是整数 / {key} must be a whole number, got {v!r}") from None
            if not number.is_integer() or number < 0:
                raise ValueError(f"{key} 不是非负整数 / {key} must be a whole number >= 0, got {v!r}")
            out[key] = int(number)
        elif key == "cell_type":
            out[key] = _CELL_TYPES.get(str(v).strip(), "basic")
        elif key == "kind":
            kind = _COMPOUND_KINDS.get(str(v).strip().lower())
            if kind is None:
                raise ValueError(f"小区类型 {v!r} 无法识别 / kind must be closed/封闭式 or open/开放式")
            out[key] = kind
        elif key == "community_code":
            out[key] = _code_text(v)
        else:
            out[key] = str(v).strip()
    return out


def features_from_frame(
    frame: gpd.GeoDataFrame,
    *,
    layer: str = "cell",
    mapping: dict[str, str] | None = None,
    limits: Limits | None = None,
    progress: Progress = no_progress,
    attributes_only: bool = False,
) -> tuple[list[ImportedFeature], list[str]]:
    """Map each row's attributes and check its geometry; every problem names the feature (#n and code)."""
    label = SPECS[check_layer(layer)].label
    limits, mapping = limits or Limits(), mapping or {}
    unknown = sorted(set(mapping) - set(_ALIASES[layer]))
    if unknown:
        raise InvalidInput(
            f"mapping 中的字段 {unknown} 不属于{label} / unknown field(s) {unknown} in mapping; "
            f"fields of a {layer}: {', '.join(_ALIASES[layer])}"
        )
    if len(frame) > limits.max_features:
        raise InvalidInput(f"要素过多 ({len(frame)}) / too many features: at most {limits.max_features} per import")
    if len(frame) == 0:
        raise InvalidInput("文件中没有要素 / the file holds no features")
    what = layer
    warnings: list[str] = []
    geoms = frame.geometry.to_numpy()
    table = attributes_only  # a CSV/Excel table without a geometry column
    if not table:
        present = np.asarray([g is not None for g in geoms])
        zm = np.zeros(len(geoms), dtype=bool)
        if present.any():
            zm[present] = shapely.has_z(geoms[present]) | shapely.has_m(geoms[present])
        if zm.any():
            warnings.append(
                f"{int(zm.sum())} 个要素含 Z/M 值，已舍弃 / Z/M values dropped from {int(zm.sum())} feature(s)"
            )
            geoms = np.asarray([shapely.force_2d(g) if z else g for g, z in zip(geoms, zm, strict=True)], dtype=object)
    errors, features = [], []
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    binary = _binary_columns(records)
    if binary:
        warnings.append(
            f"二进制字段 {binary} 未导入 / binary column(s) {binary} left out: only text, numbers, dates and "
            "true/false are kept as attributes"
        )
    total = len(records)
    progress("checking", 0, total)
    for i, (row, geom) in enumerate(zip(records, geoms, strict=True), start=1):
        if i % 200 == 0:
            progress("checking", i, total)
        code = _value(row, "code", mapping, _ALIASES[layer])
        label = f"要素 #{i}" + (f" ({_code_text(code)})" if code is not None else "")
        problem = None if table else _geometry_problem(geom, limits, what)
        if code is None:
            column = mapping.get("code") or "/".join(_ALIASES[layer]["code"][:2])
            problem = f"缺少编码 / no {layer} code (a '{column}' column, or say which column with mapping)"
        if problem:
            errors.append(f"{label}: {problem}")
            continue
        try:
            values = _attributes(row, layer, mapping)
        except ValueError as exc:
            errors.append(f"{label}: {exc}")
            continue
        props = {str(k): _plain(v) for k, v in row.items() if str(k) not in binary}
        features.append(
            ImportedFeature(i, _code_text(code), None if table else as_multipolygon(geom), properties=props, **values)
        )
    progress("checking", total, total)
    if errors:
        raise InvalidInput(
            f"{len(errors)} 个要素有问题，未导入任何要素 / {len(errors)} feature(s) rejected, nothing imported: "
            + "; ".join(errors[:20]),
            detail=errors,
        )
    return features, warnings


def read_features(
    data: bytes,
    filename: str,
    *,
    layer: str = "cell",
    crs: str | None = None,
    mapping: dict[str, str] | None = None,
    limits: Limits | None = None,
    progress: Progress = no_progress,
) -> ImportedLayer:
    """A file of cells, compounds or communities, checked and converted to WGS84 (attribute tables as they are)."""
    checked = check_layer(layer)
    progress("reading", 0, 0)
    frame = read_layer(data, filename, crs=crs, limits=limits)
    warnings: list[str] = []
    source = "none"
    fmt = frame.attrs.get("format")
    table = fmt in ("csv", "xlsx") and all(g is None for g in frame.geometry.to_numpy())
    if not table:
        progress("converting", 0, len(frame))
        frame, source = frame_to_wgs84(frame, crs, warnings)
        progress("converting", len(frame), len(frame))
    features, more = features_from_frame(
        frame, layer=layer, mapping=mapping, limits=limits, progress=progress, attributes_only=table
    )
    return ImportedLayer(features, source, str(fmt or ""), checked, warnings + more, attributes_only=table)
