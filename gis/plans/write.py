"""Write a layer's rows as a file: GeoJSON, GeoPackage, zipped Shapefile, CSV with WKT, or an Excel table."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from gis.errors import InvalidInput
from gis.plans.read import FORMATS
from gis.spreadsheet import spreadsheet_cell

MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def write_layer(rows: list[dict[str, Any]], fmt: str, *, layer: str = "cells") -> bytes:
    """Rows with a shapely `geom` (WGS84) and plain attributes as a file of the given format; `layer` names the
    layer (and the file inside a zipped Shapefile)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"不支持的导出格式 {fmt!r} / export format must be one of {', '.join(FORMATS)}")
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "geom"} for r in rows],
        geometry=[r["geom"] for r in rows],
        crs=4326,
    )
    if fmt in ("csv", "xlsx"):  # values from third-party files: never a formula when a spreadsheet opens them
        table = pd.DataFrame(frame.drop(columns="geometry")).map(spreadsheet_cell)
    if fmt == "csv":
        table["wkt"] = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=-1)
        return str(table.to_csv(index=False)).encode("utf-8")
    if fmt == "xlsx":  # attributes only (an Excel cell holds at most 32,767 characters: no WKT)
        buf = io.BytesIO()
        table.to_excel(buf, index=False, sheet_name=layer[:31])
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
