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

FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip", "csv": ".csv"}
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
    "csv": "text/csv; charset=utf-8",
}
_ALIASES = {
    "code": ("code", "cell_code", "grid_code", "wgbm", "网格编码", "编码"),
    "name": ("name", "cell_name", "mc", "网格名称", "名称"),
    "households": ("households", "hs", "hh", "户数"),
    "population": ("population", "rk", "人口"),
    "cell_type": ("cell_type", "type", "lx", "网格类型", "类型"),
}
_CELL_TYPES = {"basic": "basic", "基础网格": "basic", "dedicated": "dedicated", "专属网格": "dedicated"}
_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20_000_000
    max_features: int = 5_000
    max_vertices: int = 20_000  # per geometry (gis.settings.max_geometry_vertices)


@dataclass
class ImportedCell:
    index: int  # 1-based position in the file, for messages
    code: str
    geom: BaseGeometry
    name: str | None = None
    households: int | None = None
    population: int | None = None
    cell_type: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportedLayer:
    cells: list[ImportedCell]
    source_crs: str
    format: str
    warnings: list[str] = field(default_factory=list)


def detect_format(filename: str, data: bytes) -> str:
    """The format from the file's name, checked against its first bytes."""
    suffix = Path(filename or "").suffix.lower()
    fmt = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shp", ".csv": "csv"}.get(suffix)
    if fmt is None:
        raise InvalidInput(
            f"不支持的文件类型 {suffix or '(无扩展名)'} / unsupported file type {filename!r}: upload .geojson, .gpkg, "
            "a .zip holding a Shapefile (.shp .shx .dbf .prj) or a .csv with a WKT column"
        )
    magic = {"gpkg": b"SQLite format 3\x00", "shp": b"PK\x03\x04"}.get(fmt)
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


def _read_csv(data: bytes) -> gpd.GeoDataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput(f"CSV 无法读取 / cannot read the CSV (UTF-8 expected): {exc}") from exc
    column = next((c for c in frame.columns if str(c).strip().lower() in _WKT_COLUMNS), None)
    if column is None:
        raise InvalidInput(
            f"CSV 缺少 WKT 几何列 / the CSV needs a geometry column named one of {', '.join(_WKT_COLUMNS)}"
        )
    geoms = shapely.from_wkt(frame[column].to_numpy(), on_invalid="ignore")
    bad = [i + 1 for i, (g, raw) in enumerate(zip(geoms, frame[column], strict=True)) if g is None and raw.strip()]
    if bad:
        raise InvalidInput(f"CSV 第 {bad[:10]} 行的 WKT 无法解析 / rows {bad[:10]}: the WKT cannot be parsed")
    return gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=list(geoms))


def read_layer(data: bytes, filename: str, *, crs: str | None = None, limits: Limits | None = None) -> gpd.GeoDataFrame:
    """The file as a GeoDataFrame in its own CRS (possibly none), plus the detected format in `.attrs`."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise InvalidInput(f"文件过大 / the file exceeds {limits.max_bytes} bytes; split it by community")
    fmt = detect_format(filename, data)
    with tempfile.TemporaryDirectory(prefix="gridgov-import-") as tmpdir:
        tmp = Path(tmpdir)
        if fmt == "csv":
            frame = _read_csv(data)
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
            if fmt == "csv":
                declared = CRS.from_epsg(4326)
                warnings.append("CSV 未指定坐标系，按 WGS84 (EPSG:4326) 读取 / no crs given: read as WGS84 (EPSG:4326)")
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


def _value(row: dict[str, Any], key: str, mapping: dict[str, str]) -> Any:
    names = (mapping[key],) if key in mapping else _ALIASES[key]
    lowered = {str(k).lower(): v for k, v in row.items()}
    for n in names:
        v = lowered.get(n.lower())
        if v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip() != "":
            return v
    return None


def _geometry_problem(geom: BaseGeometry | None, limits: Limits) -> str | None:
    if geom is None or geom.is_empty:
        return "几何为空 / empty geometry"
    if not isinstance(geom, Polygon | MultiPolygon):
        return f"不是面 ({geom.geom_type}) / a cell must be a Polygon or MultiPolygon, not {geom.geom_type}"
    n = int(shapely.get_num_coordinates(geom))
    if n > limits.max_vertices:
        return f"顶点过多 ({n}) / too many vertices: {n} > {limits.max_vertices}; simplify it"
    return None


def cells_from_frame(
    frame: gpd.GeoDataFrame, *, mapping: dict[str, str] | None = None, limits: Limits | None = None
) -> tuple[list[ImportedCell], list[str]]:
    """Map attributes (code, name, households, population, type) and check every geometry, naming features."""
    limits, mapping = limits or Limits(), mapping or {}
    if len(frame) > limits.max_features:
        raise InvalidInput(f"要素过多 ({len(frame)}) / too many features: at most {limits.max_features} per import")
    if len(frame) == 0:
        raise InvalidInput("文件中没有要素 / the file holds no features")
    warnings: list[str] = []
    geoms = frame.geometry.to_numpy()
    zm = shapely.has_z(geoms) | (shapely.has_m(geoms) if hasattr(shapely, "has_m") else False)
    if zm.any():
        warnings.append(f"{int(zm.sum())} 个要素含 Z/M 值，已舍弃 / Z/M values dropped from {int(zm.sum())} feature(s)")
        geoms = shapely.force_2d(geoms)
    errors, cells = [], []
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    for i, (row, geom) in enumerate(zip(records, geoms, strict=True), start=1):
        code = _value(row, "code", mapping)
        label = f"要素 #{i}" + (f" ({code})" if code else "")
        problem = _geometry_problem(geom, limits)
        if code is None:
            problem = "缺少网格编码 / no cell code (a 'code' column, or say which column with mapping)"
        if problem:
            errors.append(f"{label}: {problem}")
            continue
        hh, pop = _value(row, "households", mapping), _value(row, "population", mapping)
        kind = _value(row, "cell_type", mapping)
        try:
            cell = ImportedCell(
                i,
                str(code).strip().split(".")[0] if isinstance(code, float) else str(code).strip(),
                as_multipolygon(geom),
                None if _value(row, "name", mapping) is None else str(_value(row, "name", mapping)),
                None if hh is None else int(float(hh)),
                None if pop is None else int(float(pop)),
                None if kind is None else _CELL_TYPES.get(str(kind).strip(), "basic"),
                {str(k): (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()},
            )
        except ValueError:
            errors.append(f"{label}: 户数/人口不是整数 / households and population must be whole numbers")
            continue
        cells.append(cell)
    if errors:
        raise InvalidInput(
            f"{len(errors)} 个要素有问题，未导入任何要素 / {len(errors)} feature(s) rejected, nothing imported: "
            + "; ".join(errors[:20]),
            detail=errors,
        )
    return cells, warnings


def read_cells(
    data: bytes,
    filename: str,
    *,
    crs: str | None = None,
    mapping: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> ImportedLayer:
    """A file of cells, checked and converted to WGS84."""
    frame = read_layer(data, filename, crs=crs, limits=limits)
    warnings: list[str] = []
    frame, source = to_wgs84(frame, crs, warnings)
    cells, more = cells_from_frame(frame, mapping=mapping, limits=limits)
    return ImportedLayer(cells, source, str(frame.attrs.get("format", "")), warnings + more)


def write_cells(rows: list[dict[str, Any]], fmt: str, *, layer: str = "cells") -> bytes:
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
