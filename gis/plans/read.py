"""Read a file of cells, compounds or communities as a GeoDataFrame: detect the format (GeoJSON, GeoPackage,
zipped Shapefile with .prj, CSV with WKT, or a CSV/Excel table of attributes) and convert it to WGS84.

The file's CRS is read (GeoJSON is WGS84 by definition); a declared `crs` is needed when the file has none
(a Shapefile without .prj, a CSV) and for GCJ-02 / BD-09, which no file can declare. gis.plans.columns
maps its columns to a layer's features.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.errors import InvalidInput
from gis.plans.chinacrs import bd_to_wgs, gcj_to_wgs

FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip", "csv": ".csv", "xlsx": ".xlsx"}
Progress = Callable[[str, int, int], None]  # (stage, done, total); total 0 = unknown


def no_progress(_stage: str, _done: int, _total: int) -> None:
    return None


_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20_000_000
    max_features: int = 5_000
    max_vertices: int = 20_000  # per geometry (gis.settings.limits.max_geometry_vertices)


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


def frame_to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, warnings: list[str]) -> tuple[gpd.GeoDataFrame, str]:
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
