"""A new 街道 from nothing (`gridgov init --street`): the 街道 row, then its communities, cells and compounds
through a boundary plan (the same import, validation and commit as `gridgov plans import`), so the first
boundaries are versioned and recorded like every later redraw."""

from __future__ import annotations

import re
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput
from gis.models import AdminArea
from gis.plans.catalog import create_plan
from gis.plans.columns import read_features
from gis.plans.commit import commit_plan
from gis.plans.geo import as_multipolygon
from gis.plans.imports_sync import import_file
from gis.plans.read import frame_to_wgs84, read_layer
from gis.plans.validate import Rules, validate_plan
from gis.sheets.engine import audit

STREET_CODE = re.compile(r"^\d{9}$")
# the first boundaries are what the 街道 has: no households band yet (it is filled from the sheets later)
FIRST_RULES = Rules(households_min=None, households_max=None)
Upload = tuple[bytes, str]  # (file content, file name)


def street_boundary(communities: Upload, street: Upload | None = None, crs: str | None = None) -> BaseGeometry:
    """The 街道's boundary: its own file when given (all features united), else the union of its communities."""
    if street is not None:
        frame = read_layer(*street, crs=crs)
        frame, _ = frame_to_wgs84(frame, crs, [])
        geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    else:
        geoms = [f.geom for f in read_features(*communities, layer="community", crs=crs).features if f.geom is not None]
    if not geoms:
        raise InvalidInput("边界文件中没有面 / the boundary file holds no polygons")
    return shapely.union_all([shapely.make_valid(g) for g in geoms])


def create_street(session: Session, *, code: str, name: str, geom: BaseGeometry) -> AdminArea:
    """The 街道 (subdistrict) row; the same code again updates its name and boundary. Another 街道 in the
    database is refused: `init` is for a new database (the demo's 街道 stays the demo's)."""
    if not STREET_CODE.match(code):
        raise InvalidInput(f"街道编码必须是 9 位数字 / a 街道 code has 9 digits (区划代码 + 3): “{code}”")
    others = list(
        session.scalars(select(AdminArea.code).where(AdminArea.level == "subdistrict", AdminArea.code != code))
    )
    if others:
        raise Conflict(
            f"数据库中已有街道 {'、'.join(others)} / the database already holds another 街道: "
            "gridgov init --street is for a new, empty database (gridgov db upgrade on a fresh one)"
        )
    area = session.scalar(select(AdminArea).where(AdminArea.code == code))
    wkt = "SRID=4326;" + shapely.to_wkt(as_multipolygon(geom), rounding_precision=-1)
    before = {"name": area.name} if area is not None else None
    if area is None:
        area = AdminArea(code=code, level="subdistrict")
        session.add(area)
    area.name, area.geom = name, wkt
    session.flush()
    audit(session, None, "subdistrict", (code,), before, {"name": name})
    return area


def import_boundaries(
    session: Session, *, communities: Upload, cells: Upload, compounds: Upload | None = None, crs: str | None = None
) -> dict[str, Any]:
    """Communities, cells (and compounds) into one plan, validated and committed; a second run with the same
    files finds nothing to change and commits nothing."""
    plan = create_plan(session, name="初始边界 / first boundaries", description="gridgov init --street")
    reports = {"community": import_file(session, plan.id, *communities, layer="community", crs=crs, mode="merge")}
    reports["cell"] = import_file(session, plan.id, *cells, layer="cell", crs=crs, mode="replace")
    if compounds is not None:
        reports["compound"] = import_file(session, plan.id, *compounds, layer="compound", crs=crs, mode="replace")
    counts = {layer: {k: len(r.get(k) or []) for k in ("added", "changed", "removed")} for layer, r in reports.items()}
    if not any(n for c in counts.values() for n in c.values()):
        plan.status = "abandoned"
        return {"plan_id": plan.id, "committed": False, "counts": counts}
    validation = validate_plan(session, plan, FIRST_RULES)
    if not validation["summary"]["ok"]:
        problems = [
            f["properties"]["message"] for f in validation["features"] if f["properties"]["severity"] == "error"
        ]
        raise InvalidInput(
            f"边界有 {len(problems)} 个错误 / the boundaries have {len(problems)} error(s): fix the files, run again",
            detail=problems,
        )
    report = commit_plan(session, plan.id, message="gridgov init --street: 初始边界", rules=FIRST_RULES)
    return {"plan_id": plan.id, "committed": True, "counts": counts, "committed_at": report["committed_at"]}
