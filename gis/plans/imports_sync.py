"""Import a file into a plan's draft, in the caller's transaction (gis.plans.imports runs it as a background job).

Cells, compounds and communities come in through the same steps: read and check the file (gis.plans.columns),
check codes, put the features into the draft in batches with progress, and in `replace` mode drop what the
file no longer holds. Nothing is written to live tables.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import utcnow
from gis.plans.columns import ImportedLayer, read_features
from gis.plans.draft import FeatureInput, draft_features, editable_plan, households_of, live_features
from gis.plans.edits import put_features, remove_feature, revert_feature
from gis.plans.layers import SPECS, check_code
from gis.plans.models import BoundaryPlan
from gis.plans.read import Limits, Progress, no_progress

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
    if imported.layer == "cell":
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
            check_code(imported.layer, f.code, what=f"要素 #{f.index}")
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
    communities = sorted({f.code[:12] for f in features})
    if imported.attributes_only:  # keep each cell's drafted (or live) geometry
        drafted = {c.code: c.geom for c in draft_features(session, plan, "cell", communities) if c.geom is not None}
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
    results = _put(session, plan, imported, progress)
    removed = _replace(session, plan, imported, communities) if mode == "replace" else []
    return _summary([f.code for f in features], results, removed)


def _import_areas(
    session: Session, plan: BoundaryPlan, imported: ImportedLayer, mode: str, progress: Progress
) -> dict[str, list[str]]:
    results = _put(session, plan, imported, progress)
    seen = sorted({f.code for f in imported.features})
    live = live_features(session, imported.layer, codes=seen)
    communities = sorted(
        {r.community_code for r in results if r is not None} | {r.community_code for r, _ in live.values()}
    )
    removed = _replace(session, plan, imported, communities) if mode == "replace" and communities else []
    return _summary([f.code for f in imported.features], results, removed)


def _put(session: Session, plan: BoundaryPlan, imported: ImportedLayer, progress: Progress) -> list[Any]:
    """The file's features into the draft, in batches (compounds and communities without geometry: attributes only)."""
    spec = SPECS[imported.layer]
    results: list[Any] = []
    for batch in _batches(imported.features, "writing", progress):
        results += put_features(
            session,
            plan,
            imported.layer,
            [
                FeatureInput(
                    f.code,
                    f.geom,
                    f.name,
                    {k: getattr(f, k) for k in spec.attributes},
                    f.community_code,
                    f.properties,
                )
                for f in batch
            ],
        )
    return results


def _replace(session: Session, plan: BoundaryPlan, imported: ImportedLayer, communities: list[str]) -> list[str]:
    """`replace` mode: what the draft holds in these communities and the file does not leaves the draft (drawn
    in this plan: forgotten; live: removed). Communities are never removed, only listed in a warning."""
    seen = {f.code for f in imported.features}
    left = [
        f
        for f in draft_features(session, plan, imported.layer, communities)
        if f.code not in seen and f.status != "remove"
    ]
    if SPECS[imported.layer].removal_refused is not None:
        if left:
            imported.warnings.append(
                f"{len(left)} 个社区不在文件中，保持不变 / communities are never removed by an import: "
                + ", ".join(a.code for a in left)
            )
        return []
    removed: list[str] = []
    for f in left:
        if f.status == "add":  # drawn in this plan earlier, not in the new file: forget it
            revert_feature(session, plan, imported.layer, f.code)
        else:
            remove_feature(session, plan, imported.layer, f.code)
            removed.append(f.code)
    return removed
