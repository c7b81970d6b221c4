"""Import/export round trips for every format, CRS handling, and bad input named feature by feature."""

from __future__ import annotations

import io
import json
import zipfile

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, box
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.plans.columns import read_features
from gis.plans.imports_sync import import_file
from gis.plans.models import BoundaryPlan
from gis.plans.read import FORMATS, Limits
from gis.plans.write import write_layer
from tests.plans.conftest import LiveCells


def _rows(cells: LiveCells) -> list[dict[str, object]]:
    return [
        {"code": code, "name": f"网格{code[-3:]}", "households": 200 + i, "geom": geom}
        for i, (code, geom) in enumerate(sorted(cells.geoms.items()))
    ]


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "xlsx"])  # xlsx: attributes only
def test_round_trip_each_format(fmt: str, cells: LiveCells) -> None:
    rows = _rows(cells)
    layer = read_features(write_layer(rows, fmt), f"cells{FORMATS[fmt]}")
    assert layer.format == fmt
    assert [c.code for c in layer.features] == [r["code"] for r in rows]
    for cell, row in zip(layer.features, rows, strict=True):
        assert cell.name == row["name"] and cell.households == row["households"]
        assert shapely.equals_exact(shapely.normalize(cell.geom), shapely.normalize(row["geom"]), 1e-9)


def test_gauss_kruger_geopackage_is_converted(cells: LiveCells) -> None:
    rows = _rows(cells)
    frame = gpd.GeoDataFrame(
        [{"网格编码": r["code"], "户数": r["households"]} for r in rows], geometry=[r["geom"] for r in rows], crs=4326
    ).to_crs(4549)  # CGCS2000 3-degree Gauss-Krüger CM 117E
    buf = io.BytesIO()
    frame.to_file(buf, driver="GPKG", layer="cells")
    layer = read_features(buf.getvalue(), "redrawn.gpkg")
    assert "4549" in layer.source_crs
    assert layer.features[0].code == rows[0]["code"] and layer.features[0].households == rows[0]["households"]
    assert shapely.hausdorff_distance(layer.features[0].geom, rows[0]["geom"]) < 1e-7


def test_gcj02_declared_is_shifted_back(cells: LiveCells) -> None:
    from gis.plans.chinacrs import wgs_to_gcj

    rows = _rows(cells)[:2]
    shifted = [{**r, "geom": shapely.transform(r["geom"], wgs_to_gcj)} for r in rows]
    layer = read_features(write_layer(shifted, "geojson"), "amap.geojson", crs="gcj02")
    assert layer.source_crs == "gcj02"
    assert shapely.hausdorff_distance(layer.features[0].geom, rows[0]["geom"]) < 1e-6  # < 0.1 m


def test_shapefile_without_prj_asks_for_crs(cells: LiveCells) -> None:
    data = write_layer(_rows(cells)[:3], "shp")
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name in src.namelist():
            if not name.endswith(".prj"):
                out.writestr(name, src.read(name))
    with pytest.raises(InvalidInput, match=r"\.prj"):
        read_features(buf.getvalue(), "cells.zip")
    layer = read_features(buf.getvalue(), "cells.zip", crs="EPSG:4326")
    assert len(layer.features) == 3


def _geojson(features: list[dict[str, object]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _feat(code: str, geom: dict[str, object] | None) -> dict[str, object]:
    return {"type": "Feature", "properties": {"code": code}, "geometry": geom}


def test_bad_input_names_the_feature(cells: LiveCells) -> None:
    code, geom = sorted(cells.geoms.items())[0]
    good = shapely.geometry.mapping(geom)
    with pytest.raises(InvalidInput, match="unsupported file type"):
        read_features(b"hello", "cells.docx")
    with pytest.raises(InvalidInput, match="corrupt"):
        read_features(b"not a geopackage", "cells.gpkg")
    with pytest.raises(InvalidInput, match="cannot read"):
        read_features(b"{not json", "cells.geojson")
    mixed = _geojson([_feat(code, good), _feat("370102010001998", shapely.geometry.mapping(Point(117.04, 36.66)))])
    with pytest.raises(InvalidInput, match=r"#2 \(370102010001998\).*Point") as err:
        read_features(mixed, "mixed.geojson")
    assert len(err.value.detail) == 1
    with pytest.raises(InvalidInput, match=r"#1 .*empty"):
        read_features(_geojson([_feat(code, None)]), "empty.geojson")
    big = box(117.0, 36.6, 117.01, 36.61).segmentize(0.00001)
    with pytest.raises(InvalidInput, match="too many vertices"):
        read_features(
            _geojson([_feat(code, shapely.geometry.mapping(big))]), "big.geojson", limits=Limits(max_vertices=1000)
        )
    z = shapely.force_3d(geom, 50.0)
    layer = read_features(_geojson([_feat(code, shapely.geometry.mapping(z))]), "z.geojson")
    assert not layer.features[0].geom.has_z and any("Z/M" in w for w in layer.warnings)


def test_import_lands_in_draft_only(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    rows = [{"code": c, "geom": g} for c, g in sorted(cells.geoms.items())]
    first, second = rows[0]["code"], rows[1]["code"]
    rows[0]["geom"] = shapely.buffer(rows[0]["geom"], -0.0001)  # redrawn
    del rows[1]  # removed in 'replace' mode
    rows.append({"code": cells.community + "900", "geom": box(117.0331, 36.6585, 117.0332, 36.6586)})
    report = import_file(session, plan.id, write_layer(rows, "gpkg"), "redrawn.gpkg")
    assert report["changed"] == [first] and report["removed"] == [second]
    assert report["added"] == [cells.community + "900"]
    assert len(report["unchanged"]) == len(cells.geoms) - 2
    from tests.plans.conftest import live_cells

    assert live_cells(session).geoms == cells.geoms  # nothing live changed


def test_import_rejects_code_of_another_community(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    other = "370102010002001"  # a live cell of the neighbouring community, claimed under its own prefix
    rows = [{"code": other, "geom": next(iter(cells.geoms.values()))}, {"code": "12345", "geom": box(0, 0, 1, 1)}]
    with pytest.raises(InvalidInput, match=r"#2.*15"):
        import_file(session, plan.id, write_layer(rows, "geojson"), "x.geojson")


def test_reprojection_noise_is_not_a_redraw(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    """A community exported to a Gauss-Krüger GeoPackage and read back differs by far less than 1 cm: only the
    cell really redrawn changes, and the others keep their live boundary exactly (edges still match)."""
    rows = [{"code": c, "geom": g} for c, g in sorted(cells.geoms.items())]
    redrawn = rows[0]["code"]
    rows[0]["geom"] = shapely.buffer(rows[0]["geom"], -0.00005)
    frame = gpd.GeoDataFrame([{"code": r["code"]} for r in rows], geometry=[r["geom"] for r in rows], crs=4326).to_crs(
        4549
    )
    buf = io.BytesIO()
    frame.to_file(buf, driver="GPKG", layer="cells")
    report = import_file(session, plan.id, buf.getvalue(), "gk.gpkg")
    assert report["changed"] == [redrawn] and len(report["unchanged"]) == len(rows) - 1
    assert report["source_crs"] == "EPSG:4549"


def test_same_shape_tolerates_noise_not_redraws() -> None:
    from gis.plans.geo import same_shape

    cell = box(117.0, 36.6, 117.01, 36.61)
    assert same_shape(cell, shapely.transform(cell, lambda xy: xy + 3e-8))  # ~3 mm of reprojection noise
    assert not same_shape(cell, shapely.transform(cell, lambda xy: xy + 3e-6))  # ~30 cm: a real move
    shrunk = shapely.difference(cell, box(117.0, 36.6, 117.005, 36.605))  # a corner given to a neighbour
    assert not same_shape(cell, shrunk)
