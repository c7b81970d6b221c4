"""Plan use cases: create, import a file into a draft, list features, repair, export."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import utcnow
from gis.plans.areas import ATTRIBUTES as AREA_ATTRIBUTES
from gis.plans.areas import (
    AreaInput,
    area_counts,
    check_area_code,
    check_layer,
    draft_areas,
    live_areas,
    put_areas,
    remove_area,
    revert_area,
)
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
from gis.plans.io import ImportedLayer, Limits, Progress, no_progress, read_features, write_cells
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
        "area_counts": area_counts(session, plan),
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


BATCH = 200  # features written per step (one progress report each)


def import_file(
    session: Session,
    plan_id: int,
    data: bytes,
    filename: str,
    *,
    layer: str = "cell",
    crs: str | None = None,
    mode: str = "replace",
    mapping: dict[str, str] | None = None,
    limits: Limits | None = None,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Put a file's cells, compounds or communities into the draft (never into live tables).

    `replace`: the file is the whole new set of its layer in each community it touches (live cells or
    compounds missing from it are removed; communities are never removed); `merge`: only the features in the
    file change. A CSV/Excel table without geometry updates the attributes (households, name …) of the
    features it lists, whatever the mode."""
    if mode not in ("replace", "merge"):
        raise InvalidInput("mode 必须是 replace 或 merge / mode must be 'replace' or 'merge'")
    plan = editable_plan(session, plan_id)
    imported = read_features(data, filename, layer=layer, crs=crs, mapping=mapping, limits=limits, progress=progress)
    if imported.attributes_only and mode == "replace":
        mode = "merge"
        imported.warnings.append(
            "属性表（无几何）只更新所列要素的属性 / a table without geometry only updates the attributes of the "
            "features it lists"
        )
    _check_features(imported)
    if layer == "cell":
        report = _import_cells(session, plan, imported, mode, progress)
    else:
        report = _import_areas(session, plan, imported, mode, progress)
    plan.source = {
        "filename": filename,
        "format": imported.format,
        "layer": layer,
        "crs": imported.source_crs,
        "features": len(imported.features),
    }
    plan.updated_at = utcnow()
    session.flush()
    progress("done", len(imported.features), len(imported.features))
    return {
        "plan_id": plan.id,
        "layer": layer,
        "format": imported.format,
        "source_crs": imported.source_crs,
        "features": len(imported.features),
        "attributes_only": imported.attributes_only,
        **report,
        "warnings": imported.warnings,
    }


def _check_features(imported: ImportedLayer) -> None:
    """Codes well formed and unique (else nothing is imported); invalid geometries kept, with a warning."""
    seen: dict[str, int] = {}
    errors = []
    for f in imported.features:
        try:
            if imported.layer == "cell":
                check_code(f.code, what=f"要素 #{f.index}")
            else:
                check_area_code(imported.layer, f.code, what=f"要素 #{f.index}")
        except InvalidInput as exc:
            errors.append(exc.message)
            continue
        if f.code in seen:
            errors.append(f"要素 #{f.index} ({f.code}): 编码与要素 #{seen[f.code]} 重复 / duplicate code")
        seen[f.code] = f.index
    if errors:
        raise InvalidInput(
            f"{len(errors)} 个要素编码有问题，未导入 / {len(errors)} feature(s) with bad codes, nothing imported: "
            + "; ".join(errors[:20]),
            detail=errors,
        )
    for f in imported.features:
        if f.geom is not None and not shapely.is_valid(f.geom):
            imported.warnings.append(
                f"要素 #{f.index} ({f.code}): {shapely.is_valid_reason(f.geom)} — 已导入草案，请校验并修复 / "
                "imported into the draft as is: validate and repair"
            )


def _batches(items: list[Any], stage: str, progress: Progress) -> Any:
    for start in range(0, len(items), BATCH):
        progress(stage, start, len(items))
        yield items[start : start + BATCH]
    progress(stage, len(items), len(items))


def _summary(codes: list[str], results: list[Any], removed: list[str]) -> dict[str, list[str]]:
    return {
        "added": sorted(r.code for r in results if r is not None and r.action == "add"),
        "changed": sorted(r.code for r in results if r is not None and r.action == "change"),
        "unchanged": sorted(code for code, r in zip(codes, results, strict=True) if r is None),
        "removed": sorted(removed),
    }


def _import_cells(
    session: Session, plan: BoundaryPlan, imported: ImportedLayer, mode: str, progress: Progress
) -> dict[str, list[str]]:
    features = imported.features
    if imported.attributes_only:  # keep each cell's drafted (or live) geometry
        drafted = {
            c.code: c.geom
            for c in draft_cells(session, plan, sorted({f.code[:12] for f in features}))
            if c.geom is not None
        }
        unknown = [f"要素 #{f.index} ({f.code})" for f in features if f.code not in drafted]
        if unknown:
            raise InvalidInput(
                f"{len(unknown)} 个网格不存在，属性表只能更新已有网格 / {len(unknown)} cell(s) not found "
                "(an attribute table only updates existing cells): " + ", ".join(unknown[:20]),
                detail=unknown,
            )
        for f in features:
            f.geom = drafted[f.code]
    missing = [f for f in features if f.households is None and not imported.attributes_only]
    if missing:  # no households column: count them from the buildings inside each cell
        progress("counting households", 0, len(missing))
        counted = households_of(session, sorted({f.code[:12] for f in missing})).per_cell([f.geom for f in missing])
        for f, n in zip(missing, counted, strict=True):
            f.households = n
        progress("counting households", len(missing), len(missing))
    results: list[Any] = []
    for batch in _batches(features, "writing", progress):
        results += put_cells(
            session,
            plan,
            [
                CellInput(f.code, f.geom, f.name, f.households, f.population, f.cell_type, f.properties)
                for f in batch
                if f.geom is not None
            ],
        )
    removed: list[str] = []
    if mode == "replace":
        seen = {f.code for f in features}
        for cell in draft_cells(session, plan, sorted({f.code[:12] for f in features})):
            if cell.code in seen or cell.status == "remove":
                continue
            if cell.status == "add":  # drawn in this plan earlier, not in the new file: forget it
                revert_cell(session, plan, cell.code)
            else:
                remove_cell(session, plan, cell.code)
                removed.append(cell.code)
    return _summary([f.code for f in features], results, removed)


def _import_areas(
    session: Session, plan: BoundaryPlan, imported: ImportedLayer, mode: str, progress: Progress
) -> dict[str, list[str]]:
    layer = imported.layer
    results: list[Any] = []
    for batch in _batches(imported.features, "writing", progress):
        results += put_areas(
            session,
            plan,
            layer,
            [
                AreaInput(
                    f.code,
                    f.geom,
                    f.name,
                    f.community_code,
                    {k: getattr(f, k) for k in AREA_ATTRIBUTES[layer]},
                )
                for f in batch
            ],
        )
    removed: list[str] = []
    seen = {f.code for f in imported.features}
    live = live_areas(session, layer, codes=sorted(seen))
    communities = sorted(
        {r.community_code for r in results if r is not None} | {r.community_code for r, _ in live.values()}
    )
    if mode == "replace" and communities:
        drafted = draft_areas(session, plan, layer, communities)
        left = [a for a in drafted if a.code not in seen and a.status != "remove"]
        if layer == "community":
            if left:
                imported.warnings.append(
                    f"{len(left)} 个社区不在文件中，保持不变 / communities are never removed by an import: "
                    + ", ".join(a.code for a in left)
                )
        else:
            for a in left:
                if a.status == "add":
                    revert_area(session, plan, layer, a.code)
                else:
                    remove_area(session, plan, layer, a.code)
                    removed.append(a.code)
    return _summary([f.code for f in imported.features], results, removed)


def plan_features(session: Session, plan: BoundaryPlan, *, scope: str = "plan", layer: str = "cell") -> dict[str, Any]:
    """GeoJSON of the plan's own features (`plan`) or of the whole draft of its communities (`draft`), for
    cells, compounds or communities."""
    if layer != "cell":
        areas = draft_areas(session, plan, check_layer(layer))
        if scope == "plan":
            areas = [a for a in areas if a.status != "live"]
        return feature_collection(
            [
                feature(
                    a.geom if a.geom is not None else a.live_geom,
                    {
                        "code": a.code,
                        "name": a.name,
                        "community_code": a.community_code,
                        "status": a.status,
                        "valid": None if a.geom is None else bool(shapely.is_valid(a.geom)),
                        **a.attributes,
                    },
                )
                for a in areas
            ],
            plan_id=plan.id,
            status=plan.status,
            layer=layer,
        )
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
    return feature_collection(features, plan_id=plan.id, status=plan.status, layer="cell")


def repair(session: Session, plan_id: int, codes: list[str] | None = None) -> dict[str, Any]:
    """Apply make_valid to the plan's invalid cells, compounds and communities (all, or those in `codes`);
    returns what was repaired."""
    plan = editable_plan(session, plan_id)
    fixed = []
    for c in draft_cells(session, plan):
        if c.status not in ("add", "change") or c.geom is None or (codes and c.code not in codes):
            continue
        problems, usable = geometry_problems(c.code, c.geom)
        if problems and usable is not None and problems[0].kind == "invalid_geometry":
            put_cells(session, plan, [CellInput(c.code, as_multipolygon(usable))])
            fixed.append({"layer": "cell", "code": c.code, "reason": problems[0].extra.get("reason")})
    for layer in AREA_ATTRIBUTES:  # drafted compounds and communities too
        for a in draft_areas(session, plan, layer):
            if a.status not in ("add", "change") or a.geom is None or (codes and a.code not in codes):
                continue
            problems, usable = geometry_problems(a.code, a.geom)
            if problems and usable is not None and problems[0].kind == "invalid_geometry":
                put_areas(session, plan, layer, [AreaInput(a.code, as_multipolygon(usable))])
                fixed.append({"layer": layer, "code": a.code, "reason": problems[0].extra.get("reason")})
    return {"plan_id": plan.id, "repaired": fixed}


def export_plan(session: Session, plan: BoundaryPlan, fmt: str, *, scope: str = "draft", layer: str = "cell") -> bytes:
    """The draft (or only the plan's changes) of one layer as GeoJSON, GeoPackage, zipped Shapefile, CSV with
    WKT, or an Excel table of attributes."""
    rows: list[dict[str, Any]]
    if layer == "cell":
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
    else:
        areas = [a for a in draft_areas(session, plan, check_layer(layer)) if a.geom is not None]
        if scope == "plan":
            areas = [a for a in areas if a.status != "live"]
        rows = [
            {
                "code": a.code,
                "name": a.name,
                "community": a.community_code,
                **{k: a.attributes.get(k) for k in AREA_ATTRIBUTES[layer]},
                "status": a.status,
                "geom": as_multipolygon(a.geom),
            }
            for a in areas
        ]
    if not rows:
        raise InvalidInput(f"方案 {plan.id} 没有可导出的{layer} / plan {plan.id} has no {layer}s to export")
    return write_cells(rows, fmt, layer=f"{layer}s")
