"""Imports and exports that a GIS tool's files or a careless client cannot turn into a 500, a memory blow-up, a
stuck worker or a spreadsheet formula (security review M12, L10, L13, L19; issue 11's attribute types)."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import utcnow
from gis.plans.columns import read_features
from gis.plans.imports import sweep_stale_imports
from gis.plans.models import BoundaryPlan, PlanImport
from gis.plans.read import Limits, read_layer
from gis.plans.write import write_layer
from tests.plans.conftest import LiveCells

Maker = Callable[..., tuple[Any, dict[str, str]]]
MB = 1_000_000


def _plan(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.post("/v1/plans", json={"name": "加固测试"}, headers=headers).json()["id"])


def _gpkg_with_every_attribute_type(cells: LiveCells, tmp_path: Path) -> bytes:
    """What QGIS/ArcGIS write: dates, datetimes (naive and with offset), booleans, 64-bit integers, NULLs, NaN and
    a BLOB column."""
    codes = sorted(cells.geoms)
    n = len(codes)
    frame = gpd.GeoDataFrame(
        {
            "code": codes,
            "households": [250] * n,
            "surveyed": [date(2024, 1, 2)] + [None] * (n - 1),
            "updated": pd.to_datetime(["2024-01-02 03:04:05"] + [None] * (n - 1)),
            "updated_tz": pd.to_datetime(["2024-01-02 03:04:05+08:00"] * n),
            "checked": [True, False] * (n // 2) + [True] * (n % 2),
            "object_id": np.array([2**40 + i for i in range(n)], dtype="int64"),
            "area_ratio": [np.nan] + [0.5] * (n - 1),
        },
        geometry=[cells.geoms[c] for c in codes],
        crs=4326,
    )
    path = tmp_path / "cells.gpkg"
    pyogrio.write_dataframe(frame, path, layer="cells")
    with sqlite3.connect(path) as db:
        # a default, not an UPDATE: the GeoPackage's triggers need SpatiaLite functions
        db.execute("ALTER TABLE cells ADD COLUMN photo BLOB DEFAULT x'00ff10'")
    return path.read_bytes()


def test_a_geopackage_with_every_attribute_type_imports(
    client: TestClient, make_user: Maker, cells: LiveCells, tmp_path: Path
) -> None:
    _, planner = make_user("planner")
    pid = _plan(client, planner)
    r = client.post(
        f"/v1/plans/{pid}/import",
        files={"file": ("cells.gpkg", _gpkg_with_every_attribute_type(cells, tmp_path))},
        data={"mode": "merge"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    assert any("photo" in w for w in r.json()["warnings"])  # the binary column is left out, and said so
    features = client.get(f"/v1/plans/{pid}/features", params={"scope": "draft"}, headers=planner).json()
    assert len(features["features"]) == len(cells.geoms)


def _zip_member(name: str, size: int) -> bytes:
    """A zip whose member `name` expands to `size` zero bytes (a few hundred KB compressed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open(name, "w", force_zip64=True) as member:
            chunk = b"\0" * MB
            for _ in range(size // MB):
                member.write(chunk)
        if name.endswith(".shp"):
            zf.writestr("a.shx", b"\0" * 100)
            zf.writestr("a.dbf", b"\0" * 100)
    return buf.getvalue()


def test_a_zip_bomb_is_refused_before_extraction(client: TestClient, make_user: Maker) -> None:
    _, planner = make_user("planner")
    pid = _plan(client, planner)
    bomb = _zip_member("a.shp", 260 * MB)
    assert len(bomb) < 2 * MB
    r = client.post(
        f"/v1/plans/{pid}/import", files={"file": ("a.zip", bomb)}, data={"crs": "EPSG:4326"}, headers=planner
    )
    assert r.status_code in (413, 422) and "expand" in r.json()["message"], r.text


def test_an_xlsx_bomb_is_refused_before_parsing() -> None:
    bomb = _zip_member("xl/sharedStrings.xml", 260 * MB)
    with pytest.raises(Exception) as caught:
        read_layer(bomb, "households.xlsx", limits=Limits(max_bytes=50 * MB))
    assert "expand" in str(caught.value)


def test_a_geopackage_layer_that_is_a_view_is_refused_not_run(cells: LiveCells, tmp_path: Path) -> None:
    code = sorted(cells.geoms)[0]
    path = tmp_path / "view.gpkg"
    path.write_bytes(write_layer([{"code": code, "geom": cells.geoms[code]}], "gpkg"))
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE VIEW endless AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
            "SELECT x AS fid, NULL AS geom, 'x' AS code FROM c"
        )
        db.execute("UPDATE gpkg_contents SET table_name = 'endless' WHERE table_name = 'cells'")
        db.execute("UPDATE gpkg_geometry_columns SET table_name = 'endless' WHERE table_name = 'cells'")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            read_layer(path.read_bytes(), "view.gpkg")
        except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "reading the GeoPackage did not return"
    assert "view" in str(outcome.get("error"))


def _ring(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in (*points, points[0])]]}


def test_geometry_out_of_range_or_not_finite_is_422(client: TestClient, make_user: Maker, cells: LiveCells) -> None:
    _, planner = make_user("planner")
    pid = _plan(client, planner)
    out_of_range = _ring((117.0, 36.6), (500.0, 500.0), (117.0, 36.7))
    r = client.put(
        f"/v1/plans/{pid}/areas/compound/{cells.community}X901",
        json={"geometry": out_of_range, "name": "越界", "community_code": cells.community},
        headers=planner,
    )
    assert r.status_code == 422 and "range" in r.json()["message"], r.text
    code = sorted(cells.geoms)[0]
    ring = json.dumps(_ring((117.0, 36.6), (117.01, 36.6), (117.0, 36.61))).replace("117.01", "NaN", 1)
    body = f'{{"code": "{code}", "geometry": {ring}}}'
    r = client.post(f"/v1/plans/{pid}/reshape", content=body, headers={**planner, "Content-Type": "application/json"})
    assert r.status_code == 422 and "finite" in r.json()["message"], r.text


def test_an_imported_file_with_infinite_coordinates_is_refused(cells: LiveCells) -> None:
    code = sorted(cells.geoms)[0]
    ring = "[[117.0, 36.6], [Infinity, 36.6], [117.0, 36.61], [117.0, 36.6]]"
    text = (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "' + code + '"}, '
        '"geometry": {"type": "Polygon", "coordinates": [' + ring + "]}}]}"
    )
    with pytest.raises(InvalidInput, match="finite|range"):
        read_features(text.encode(), "cells.geojson")


def test_a_stale_background_import_is_failed_and_its_bytes_cleared(session: Session, plan: BoundaryPlan) -> None:
    stale = PlanImport(plan_id=plan.id, filename="old.gpkg", options={}, data=b"x" * 1000)
    fresh = PlanImport(plan_id=plan.id, filename="new.gpkg", options={}, data=b"y" * 10)
    session.add_all([stale, fresh])
    session.flush()
    stale.created_at = utcnow() - timedelta(hours=1)
    session.flush()
    assert sweep_stale_imports(session) == 1
    session.refresh(stale)
    session.refresh(fresh)
    assert stale.status == "failed" and stale.data is None and stale.error and stale.finished_at
    assert stale.error["error"] == "interrupted"
    assert fresh.status == "queued" and fresh.data is not None


def test_plan_exports_never_hold_formulas(client: TestClient, make_user: Maker, cells: LiveCells) -> None:
    _, planner = make_user("planner")
    pid = _plan(client, planner)
    code = sorted(cells.geoms)[0]
    table = f"code,name\n{code},=1+1\n".encode()
    r = client.post(f"/v1/plans/{pid}/import", files={"file": ("names.csv", table)}, headers=planner)
    assert r.status_code == 200, r.text
    params = {"scope": "plan"}
    xlsx = client.get(f"/v1/plans/{pid}/export", params={**params, "format": "xlsx"}, headers=planner)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["'=1+1"]
    csv = client.get(f"/v1/plans/{pid}/export", params={**params, "format": "csv"}, headers=planner).text
    assert f"{code},'=1+1" in csv and f"{code},=1+1" not in csv
