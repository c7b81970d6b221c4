"""Read and write cell layers: GeoJSON, GeoPackage, zipped Shapefile (with .prj) and CSV with WKT.

Reading converts to WGS84 (EPSG:4326): the file's CRS is read (GeoJSON is WGS84 by definition); a declared
`crs` is needed when the file has none (a Shapefile without .prj, a CSV) and for GCJ-02 / BD-09, which no
file can declare. Z/M values are dropped with a warning. Every problem names the feature it is about.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.errors import InvalidInput
from gis.plans.chinacrs import bd_to_wgs, gcj_to_wgs
from gis.plans.geo import as_multipolygon

FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip", "csv": ".csv", "xlsx": ".xlsx"}
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
Progress = Callable[[str, int, int], None]  # (stage, done, total); total 0 = unknown


def no_progress(_stage: str, _done: int, _total: int) -> None:
    return None


LAYERS = ("cell", "compound", "community")
_LAYER_LABELS = {"cell": "网格 / cell", "compound": "小区 / compound", "community": "社区 / community"}
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
_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20_000_000
    max_features: int = 5_000
    max_vertices: int = 20_000  # per geometry (gis.settings.max_geometry_vertices)


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
    layer: str = "cell"
    warnings: list[str] = field(default_factory=list)
    attributes_only: bool = False  # a CSV/Excel table without geometry


def detect_format(filename: str, data: bytes) -> str:
    """The format from the file's name, checked against its first bytes."""
    suffix = Path(filename or "").suffix.lower()
    suffixes = {
        ".geojson": "geojson",
        ".json": "geojson",
        ".gpkg": "gpkg",
        ".zip": "shp",
        ".csv": "csv",
        ".xlsx": "xlsx",
    }
    fmt = suffixes.get(suffix)
    if fmt is None:
        raise InvalidInput(
            f"不支持的文件类型 {suffix or '(无扩展名)'} / unsupported file type {filename!r}: upload .geojson, .gpkg, "
            "a .zip holding a Shapefile (.shp .shx .dbf .prj), a .csv with a WKT column, or a .csv/.xlsx table of "
            "attributes (code, households …) without geometry"
        )
    magic = {"gpkg": b"SQLite format 3\x00", "shp": b"PK\x03\x04", "xlsx": b"PK\x03\x04"}.get(fmt)
    if magic is not None and not data.startswith(magic):
        raise InvalidInput(f"文件 {filename} 已损坏或不是 {fmt} / {filename!r} is corrupt or not a {fmt} file")
    return fmt


def _declared(crs: str | None) -> tuple[str | None, CRS | None]:
    """('gcj02'|'bd09'|None, pyproj CRS|None) from a declared CRS such as 'EPSG:4526', '4490', 'gcj02'."""
    if crs is None or not crs.strip():
        return None, None
    text = crs.strip().lower()
    if text in ("gcj02", "gcj-02"):
        return "gcj02", CRS.from_epsg(4326)
    if text in ("bd09", "bd-09"):
        return "bd09", CRS.from_epsg(4326)
    if text in ("wgs84", "cgcs2000"):
        return None, CRS.from_epsg(4326 if text == "wgs84" else 4490)
    try:
        return None, CRS.from_user_input(int(text) if text.isdigit() else crs.strip())
    except CRSError as exc:
        raise InvalidInput(
            f"无法识别的坐标系 {crs!r} / unknown CRS {crs!r}: use EPSG:4326, EPSG:4490, a Gauss-Krüger zone "
            "EPSG:4526…4554, gcj02 or bd09"
        ) from exc


def _read_zip(data: bytes, tmp: Path, limits: Limits) -> tuple[Path, bool]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidInput("zip 文件已损坏 / the zip file is corrupt") from exc
    members = [m for m in archive.infolist() if not m.is_dir()]
    if sum(m.file_size for m in members) > 10 * limits.max_bytes:
        raise InvalidInput("zip 解压后过大 / the zip expands to too much data")
    shps = [m for m in members if m.filename.lower().endswith(".shp")]
    if len(shps) != 1:
        raise InvalidInput(
            f"zip 中应恰有一个 .shp 文件 / the zip must hold exactly one .shp (found {len(shps)}) with its .shx, .dbf "
            "and .prj"
        )
    stem = shps[0].filename[:-4]
    names = {m.filename.lower(): m for m in members if m.filename.startswith(stem + ".")}
    for ext in (".shx", ".dbf"):
        if stem.lower() + ext not in names:
            raise InvalidInput(f"zip 中缺少 {ext} 文件 / the Shapefile {stem}.shp has no {ext} beside it")
    for m in names.values():  # extract only the dataset's own files, under flat safe names
        (tmp / ("layer" + Path(m.filename).suffix.lower())).write_bytes(archive.read(m))
    return tmp / "layer.shp", stem.lower() + ".prj" in names


def _table(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A table with a WKT column as geometries; without one, an attribute table (all geometries None)."""
    column = next((c for c in frame.columns if str(c).strip().lower() in _WKT_COLUMNS), None)
    if column is None:
        return gpd.GeoDataFrame(frame, geometry=[None] * len(frame))
    raw = frame[column].fillna("").astype(str)
    geoms = shapely.from_wkt(raw.to_numpy(), on_invalid="ignore")
    bad = [i + 1 for i, (g, text) in enumerate(zip(geoms, raw, strict=True)) if g is None and text.strip()]
    if bad:
        raise InvalidInput(f"第 {bad[:10]} 行的 WKT 无法解析 / rows {bad[:10]}: the WKT cannot be parsed")
    return gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=list(geoms))


def _read_csv(data: bytes) -> gpd.GeoDataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:  # spreadsheets saved by Excel in China are often GBK
        try:
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="gb18030")
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InvalidInput(f"CSV 无法读取 / cannot read the CSV (UTF-8 or GBK expected): {exc}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput(f"CSV 无法读取 / cannot read the CSV: {exc}") from exc
    return _table(frame)


def _read_xlsx(data: bytes) -> gpd.GeoDataFrame:
    try:
        frame = pd.read_excel(io.BytesIO(data), dtype=str, keep_default_na=False, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise InvalidInput(f"Excel 文件无法读取 / cannot read the .xlsx workbook (first sheet): {exc}") from exc
    return _table(frame)


def read_layer(data: bytes, filename: str, *, crs: str | None = None, limits: Limits | None = None) -> gpd.GeoDataFrame:
    """The file as a GeoDataFrame in its own CRS (possibly none), plus the detected format in `.attrs`."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise InvalidInput(f"文件过大 / the file exceeds {limits.max_bytes} bytes; split it by community")
    fmt = detect_format(filename, data)
    with tempfile.TemporaryDirectory(prefix="gridgov-import-") as tmpdir:
        tmp = Path(tmpdir)
        if fmt in ("csv", "xlsx"):
            frame = _read_csv(data) if fmt == "csv" else _read_xlsx(data)
        else:
            if fmt == "shp":
                path, has_prj = _read_zip(data, tmp, limits)
                if not has_prj and crs is None:
                    raise InvalidInput(
                        "Shapefile 缺少 .prj 坐标系文件，请指定坐标系 / the Shapefile has no .prj: say which CRS its "
                        "coordinates are in with crs= (e.g. EPSG:4490, EPSG:4527 for Gauss-Krüger zone 39, gcj02)"
                    )
            else:
                path = tmp / f"layer{FORMATS[fmt]}"
                path.write_bytes(data)
            try:
                frame = pyogrio.read_dataframe(path, encoding="UTF-8" if fmt == "shp" else None)
            except Exception as exc:  # pyogrio/GDAL raise several error types for unreadable data
                raise InvalidInput(f"文件无法读取 / cannot read {filename!r} as {fmt}: {exc}") from exc
    frame.attrs["format"] = fmt
    return frame


def to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, warnings: list[str]) -> tuple[gpd.GeoDataFrame, str]:
    """Reproject to EPSG:4326 (GCJ-02 / BD-09 shifted back to WGS84); returns the frame and the source CRS."""
    offset, declared = _declared(crs)
    fmt = frame.attrs.get("format")
    if frame.crs is None:
        if declared is None:
            if fmt in ("csv", "xlsx"):
                declared = CRS.from_epsg(4326)
                warnings.append("表格未指定坐标系，按 WGS84 (EPSG:4326) 读取 / no crs given: read as WGS84 (EPSG:4326)")
            else:
                raise InvalidInput("文件没有坐标系信息，请指定 crs / the file has no CRS: give crs= (e.g. EPSG:4490)")
        frame = frame.set_crs(declared)
    elif declared is not None and not CRS(frame.crs).equals(declared) and offset is None:
        raise InvalidInput(
            f"文件坐标系 {CRS(frame.crs).to_string()} 与指定的 {crs} 不一致 / the file says its CRS is "
            f"{CRS(frame.crs).to_string()} but crs={crs} was given; drop crs= or fix the file"
        )
    source = CRS(frame.crs).to_string() if offset is None else offset
    if offset is not None and CRS(frame.crs).is_projected:
        raise InvalidInput(f"{offset} 坐标必须是经纬度 / {offset} coordinates must be longitude/latitude")
    frame = frame.to_crs(4326)
    if offset is not None:
        shift = gcj_to_wgs if offset == "gcj02" else bd_to_wgs
        frame = frame.set_geometry(shapely.transform(frame.geometry.to_numpy(), shift), crs=4326)
    xmin, ymin, xmax, ymax = frame.total_bounds if len(frame) else (0, 0, 0, 0)
    finite = bool(np.isfinite([xmin, ymin, xmax, ymax]).all())
    if finite and not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise InvalidInput(f"坐标超出经纬度范围 / coordinates out of range after conversion from {source}: check crs=")
    return frame, source


def _value(row: dict[str, Any], key: str, mapping: dict[str, str], aliases: dict[str, tuple[str, ...]]) -> Any:
    names = (mapping[key],) if key in mapping else aliases[key]
    lowered = {str(k).strip().lower(): v for k, v in row.items()}
    for n in names:
        v = lowered.get(n.lower())
        if v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip() != "":
            return v
    return None


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
    if layer not in LAYERS:
        raise InvalidInput(f"layer 必须是 {', '.join(LAYERS)} / layer must be one of {', '.join(LAYERS)}")
    limits, mapping = limits or Limits(), mapping or {}
    unknown = sorted(set(mapping) - set(_ALIASES[layer]))
    if unknown:
        raise InvalidInput(
            f"mapping 中的字段 {unknown} 不属于{_LAYER_LABELS[layer]} / unknown field(s) {unknown} in mapping; "
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
        props = {str(k): (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
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
    if layer not in LAYERS:
        raise InvalidInput(f"layer 必须是 {', '.join(LAYERS)} / layer must be one of {', '.join(LAYERS)}")
    progress("reading", 0, 0)
    frame = read_layer(data, filename, crs=crs, limits=limits)
    warnings: list[str] = []
    source = "none"
    fmt = frame.attrs.get("format")
    table = fmt in ("csv", "xlsx") and all(g is None for g in frame.geometry.to_numpy())
    if not table:
        progress("converting", 0, len(frame))
        frame, source = to_wgs84(frame, crs, warnings)
        progress("converting", len(frame), len(frame))
    features, more = features_from_frame(
        frame, layer=layer, mapping=mapping, limits=limits, progress=progress, attributes_only=table
    )
    return ImportedLayer(features, source, str(fmt or ""), layer, warnings + more, attributes_only=table)


def read_cells(
    data: bytes,
    filename: str,
    *,
    crs: str | None = None,
    mapping: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> ImportedLayer:
    """A file of cells, checked and converted to WGS84."""
    return read_features(data, filename, layer="cell", crs=crs, mapping=mapping, limits=limits)


def write_cells(rows: list[dict[str, Any]], fmt: str, *, layer: str = "cells") -> bytes:  # any layer
    """Rows with a shapely `geom` (WGS84) and plain attributes as a file of the given format."""
    if fmt not in FORMATS:
        raise InvalidInput(f"不支持的导出格式 {fmt!r} / export format must be one of {', '.join(FORMATS)}")
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "geom"} for r in rows],
        geometry=[r["geom"] for r in rows],
        crs=4326,
    )
    if fmt == "csv":
        out = pd.DataFrame(frame.drop(columns="geometry"))
        out["wkt"] = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=-1)
        return str(out.to_csv(index=False)).encode("utf-8")
    if fmt == "xlsx":  # attributes only (an Excel cell holds at most 32,767 characters: no WKT)
        buf = io.BytesIO()
        pd.DataFrame(frame.drop(columns="geometry")).to_excel(buf, index=False, sheet_name=layer[:31])
        return buf.getvalue()
    with tempfile.TemporaryDirectory(prefix="gridgov-export-") as tmpdir:
        tmp = Path(tmpdir)
        if fmt == "shp":
            pyogrio.write_dataframe(frame, tmp / f"{layer}.shp", encoding="UTF-8")
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(tmp.iterdir()):
                    zf.write(f, f.name)
            return buf.getvalue()
        path = tmp / f"{layer}{FORMATS[fmt]}"
        pyogrio.write_dataframe(frame, path, layer=layer if fmt == "gpkg" else None)
        return bytes(path.read_bytes())


def geojson_bytes(collection: dict[str, Any]) -> bytes:
    return json.dumps(collection, ensure_ascii=False).encode("utf-8")
