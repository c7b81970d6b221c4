"""Plan use cases: create, import a file into a draft, list features, repair, export."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import utcnow
from gis.plans.draft import (
    CellInput,
    check_code,
    draft_cells,
    editable_plan,
    households_of,
    put_cells,
    remove_cell,
    revert_cell,
)
from gis.plans.geo import as_multipolygon, feature, feature_collection
from gis.plans.io import Limits, read_cells, write_cells
from gis.plans.models import BoundaryPlan, PlanCommit, PlanFeature
from gis.plans.validate import geometry_problems


def create_plan(
    session: Session, *, name: str, description: str | None = None, user_id: int | None = None
) -> BoundaryPlan:
    plan = BoundaryPlan(name=name, description=description, created_by_id=user_id)
    session.add(plan)
    session.flush()
    return plan


def plan_summary(session: Session, plan: BoundaryPlan) -> dict[str, Any]:
    counts = dict(
        session.execute(
            select(PlanFeature.action, func.count()).where(PlanFeature.plan_id == plan.id).group_by(PlanFeature.action)
        ).all()
    )
    commit = session.scalar(select(PlanCommit).where(PlanCommit.plan_id == plan.id))
    return {
        "id": plan.id,
        "name": plan.name,
        "description": plan.description,
        "status": plan.status,
        "created_by_id": plan.created_by_id,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
        "communities": sorted(plan.base),
        "counts": {a: int(counts.get(a, 0)) for a in ("add", "change", "remove")},
        "source": plan.source,
        "commit": None
        if commit is None
        else {"id": commit.id, "committed_at": commit.committed_at, "message": commit.message},
    }


def list_plans(session: Session, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    stmt = select(BoundaryPlan).order_by(BoundaryPlan.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(BoundaryPlan.status == status)
    return [plan_summary(session, p) for p in session.scalars(stmt)]


def import_file(
    session: Session,
    plan_id: int,
    data: bytes,
    filename: str,
    *,
    crs: str | None = None,
    mode: str = "replace",
    mapping: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """Put a file's cells into the draft. `replace`: the file is the whole new set of cells of each community it
    touches (live cells missing from it are removed); `merge`: only add or change the cells in the file."""
    if mode not in ("replace", "merge"):
        raise InvalidInput("mode 必须是 replace 或 merge / mode must be 'replace' or 'merge'")
    plan = editable_plan(session, plan_id)
    layer = read_cells(data, filename, crs=crs, mapping=mapping, limits=limits)
    seen: dict[str, int] = {}
    errors = []
    for c in layer.cells:
        try:
            check_code(c.code, what=f"要素 #{c.index}")
        except InvalidInput as exc:
            errors.append(exc.message)
            continue
        if c.code in seen:
            errors.append(f"要素 #{c.index} ({c.code}): 编码与要素 #{seen[c.code]} 重复 / duplicate code")
        seen[c.code] = c.index
    if errors:
        raise InvalidInput(
            f"{len(errors)} 个要素编码有问题，未导入 / {len(errors)} feature(s) with bad codes, nothing imported: "
            + "; ".join(errors[:20]),
            detail=errors,
        )
    for c in layer.cells:
        if not shapely.is_valid(c.geom):
            layer.warnings.append(
                f"要素 #{c.index} ({c.code}): {shapely.is_valid_reason(c.geom)} — 已导入草案，请校验并修复 / "
                "imported into the draft as is: validate and repair"
            )
    missing = [c for c in layer.cells if c.households is None]
    if missing:  # no households column: count them from the buildings inside each cell
        counted = households_of(session, sorted({c.code[:12] for c in missing})).per_cell([c.geom for c in missing])
        for c, n in zip(missing, counted, strict=True):
            c.households = n
    results = put_cells(
        session,
        plan,
        [CellInput(c.code, c.geom, c.name, c.households, c.population, c.cell_type, c.properties) for c in layer.cells],
    )
    removed: list[str] = []
    if mode == "replace":
        communities = sorted({c.code[:12] for c in layer.cells})
        for cell in draft_cells(session, plan, communities):
            if cell.code in seen or cell.status == "remove":
                continue
            if cell.status == "add":  # drawn in this plan earlier, not in the new file: forget it
                revert_cell(session, plan, cell.code)
            else:
                remove_cell(session, plan, cell.code)
                removed.append(cell.code)
    plan.source = {"filename": filename, "format": layer.format, "crs": layer.source_crs, "features": len(layer.cells)}
    plan.updated_at = utcnow()
    session.flush()
    return {
        "plan_id": plan.id,
        "format": layer.format,
        "source_crs": layer.source_crs,
        "features": len(layer.cells),
        "added": sorted(r.code for r in results if r is not None and r.action == "add"),
        "changed": sorted(r.code for r in results if r is not None and r.action == "change"),
        "unchanged": sorted(c.code for c, r in zip(layer.cells, results, strict=True) if r is None),
        "removed": removed,
        "warnings": layer.warnings,
    }


def plan_features(session: Session, plan: BoundaryPlan, *, scope: str = "plan") -> dict[str, Any]:
    """GeoJSON of the plan's own features (`plan`) or of the whole draft of its communities (`draft`)."""
    cells = draft_cells(session, plan)
    if scope == "plan":
        cells = [c for c in cells if c.status != "live"]
    features = [
        feature(
            c.geom if c.geom is not None else c.live_geom,
            {
                "code": c.code,
                "name": c.name,
                "community_code": c.community_code,
                "cell_type": c.cell_type,
                "households": c.households,
                "status": c.status,
                "valid": None if c.geom is None else bool(shapely.is_valid(c.geom)),
            },
        )
        for c in cells
    ]
    return feature_collection(features, plan_id=plan.id, status=plan.status)


def repair(session: Session, plan_id: int, codes: list[str] | None = None) -> dict[str, Any]:
    """Apply make_valid to the plan's invalid cells (all, or those in `codes`); returns what was repaired."""
    plan = editable_plan(session, plan_id)
    fixed = []
    for c in draft_cells(session, plan):
        if c.status not in ("add", "change") or c.geom is None or (codes and c.code not in codes):
            continue
        problems, usable = geometry_problems(c.code, c.geom)
        if problems and usable is not None and problems[0].kind == "invalid_geometry":
            put_cells(session, plan, [CellInput(c.code, as_multipolygon(usable))])
            fixed.append({"code": c.code, "reason": problems[0].extra.get("reason")})
    return {"plan_id": plan.id, "repaired": fixed}


def export_plan(session: Session, plan: BoundaryPlan, fmt: str, *, scope: str = "draft") -> bytes:
    """The draft (or only the plan's changes) as GeoJSON, GeoPackage, zipped Shapefile or CSV with WKT."""
    cells = [c for c in draft_cells(session, plan) if c.geom is not None]
    if scope == "plan":
        cells = [c for c in cells if c.status != "live"]
    rows = [
        {
            "code": c.code,
            "name": c.name,
            "community": c.community_code,
            "cell_type": c.cell_type,
            "households": c.households,
            "population": c.population,
            "status": c.status,
            "geom": as_multipolygon(c.geom),
        }
        for c in cells
    ]
    if not rows:
        raise InvalidInput(f"方案 {plan.id} 没有可导出的网格 / plan {plan.id} has no cells to export")
    return write_cells(rows, fmt)
