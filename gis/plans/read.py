"""Read a file of cells, compounds or communities as a GeoDataFrame: detect the format (GeoJSON, GeoPackage,
zipped Shapefile with .prj, CSV with WKT, or a CSV/Excel table of attributes) and convert it to WGS84.

The file's CRS is read (GeoJSON is WGS84 by definition); a declared `crs` is needed when the file has none
(a Shapefile without .prj, a CSV) and for GCJ-02 / BD-09, which no file can declare. gis.plans.columns
maps its columns to a layer's features.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
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
    max_expanded_bytes: int = 200_000_000  # what a zip (Shapefile) or .xlsx may expand to, all members together

    def expansion_cap(self) -> int:
        """Decompressed bytes allowed: at most 10 × the upload limit, and never over max_expanded_bytes."""
        return min(10 * self.max_bytes, self.max_expanded_bytes)


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


def _open_zip(data: bytes, limits: Limits, what: str) -> zipfile.ZipFile:
    """A zip (Shapefile or .xlsx) whose members' declared sizes fit the expansion cap, checked before anything is
    decompressed (a member never yields more than its declared size: zipfile stops there)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{what} 已损坏 / the {what} is corrupt") from exc
    expanded = sum(m.file_size for m in archive.infolist())
    if expanded > limits.expansion_cap():
        raise InvalidInput(
            f"{what} 解压后过大 / the {what} would expand to {expanded} bytes, more than {limits.expansion_cap()}: "
            "split it by community"
        )
    return archive


def _read_zip(data: bytes, tmp: Path, limits: Limits) -> tuple[Path, bool]:
    archive = _open_zip(data, limits, "zip")
    members = [m for m in archive.infolist() if not m.is_dir()]
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
    for m in names.values():  # extract only the dataset's own files, under flat safe names, streamed
        with archive.open(m) as src, (tmp / ("layer" + Path(m.filename).suffix.lower())).open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return tmp / "layer.shp", stem.lower() + ".prj" in names


def _check_geopackage(path: Path) -> None:
    """Refuse a GeoPackage whose layers are SQL views: GDAL would run the view's query, which a file can make
    endless (WITH RECURSIVE). Tables are read by GDAL in time bounded by the file's size."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidInput(f"GeoPackage 无法打开 / cannot open the GeoPackage: {exc}") from exc
    try:
        db.set_progress_handler(lambda: 1, 1_000_000)  # aborts this check itself if it runs away
        views = [
            name
            for (name,) in db.execute(
                "SELECT c.table_name FROM gpkg_contents c JOIN sqlite_master m ON m.name = c.table_name "
                "WHERE m.type = 'view'"
            )
        ]
    except sqlite3.Error as exc:
        raise InvalidInput(f"GeoPackage 已损坏 / the GeoPackage is corrupt or not a GeoPackage: {exc}") from exc
    finally:
        db.close()
    if views:
        raise InvalidInput(
            f"GeoPackage 图层 {views} 是视图（view），不是数据表 / layer(s) {views} are SQL views, not tables: "
            "export the data as a plain layer (e.g. QGIS: Export → Save Features As…)"
        )


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


def _read_xlsx(data: bytes, limits: Limits) -> gpd.GeoDataFrame:
    _open_zip(data, limits, "Excel 文件 (.xlsx)").close()  # openpyxl reads sharedStrings.xml whole
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
            frame = _read_csv(data) if fmt == "csv" else _read_xlsx(data, limits)
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
                if fmt == "gpkg":
                    _check_geopackage(path)
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
    coords = shapely.get_coordinates(frame.geometry.to_numpy())
    if not np.isfinite(coords).all():
        raise InvalidInput(
            "坐标含 NaN 或无穷大 / some coordinates are not finite numbers (NaN or Infinity): fix the file"
        )
    if len(coords) and ((np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any()):
        raise InvalidInput(f"坐标超出经纬度范围 / coordinates out of range after conversion from {source}: check crs=")
    return frame, source
