"""Commit a plan atomically: close the live versions, open the new ones, re-anchor what moved, record it.

Optimistic locking: the plan recorded the live versions of each community it started from; if another
commit has replaced them since, this commit is refused with 409. Commits on a community are serialised
by locking its admin_areas row, so two simultaneous commits cannot both pass the check.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from gis.anchoring import anchored_tables
from gis.errors import Conflict, InvalidGeometry, InvalidInput
from gis.generations import versions_at
from gis.notify import area_events
from gis.plans.areas import area_counts
from gis.plans.areas_commit import apply_communities, apply_compounds, check_area_base, reanchor_compounds
from gis.plans.draft import editable_plan, live_ids
from gis.plans.models import BoundaryPlan, PlanCommit, PlanFeature
from gis.plans.reanchor import run_moves
from gis.plans.validate import Rules, validate_plan

_CLOSE = text("UPDATE grid_cells SET valid_to = :now WHERE id = ANY(:ids) AND valid_to IS NULL")
_OPEN = text(
    """
    INSERT INTO grid_cells (code, name, community_id, cell_type, households, population, valid_from, geom)
    SELECT f.code, f.name, a.id, f.cell_type, f.households, f.population, :now, f.geom
    FROM plan_features f JOIN admin_areas a ON a.code = f.community_code AND a.level = 'community'
    WHERE f.plan_id = :plan_id AND f.action IN ('add', 'change')
    ORDER BY f.code
    RETURNING id, code
    """
)


def _check_base(session: Session, plan: BoundaryPlan) -> list[int]:
    """Lock the plan's communities and check their live versions are still the ones the plan started from."""
    rows = session.execute(
        text("SELECT id, code FROM admin_areas WHERE code = ANY(:codes) ORDER BY id FOR UPDATE"),
        {"codes": sorted(plan.base)},
    ).all()
    stale = [code for _, code in rows if live_ids(session, code) != sorted(plan.base[code])]
    if stale:
        last = session.execute(
            text(
                "SELECT c.plan_id, c.committed_at, c.message FROM plan_commits c "
                "WHERE c.communities ?| CAST(:codes AS text[]) ORDER BY c.committed_at DESC LIMIT 1"
            ),
            {"codes": stale},
        ).first()
        by = f" (plan {last.plan_id} at {last.committed_at:%Y-%m-%d %H:%M:%S}: {last.message})" if last else ""
        raise Conflict(
            f"社区 {', '.join(stale)} 的现行网格已被其他提交修改{by} / the live cells of {', '.join(stale)} changed "
            "since this plan was started; start a new plan from the current cells (or re-import) and commit again",
            detail={"communities": stale, "last_commit": dict(last._mapping) if last else None},
        )
    return [r.id for r in rows]


def commit_plan(
    session: Session, plan_id: int, *, message: str, user_id: int | None = None, rules: Rules | None = None
) -> dict[str, Any]:
    """Make the plan live in the current transaction and return the report of what changed and moved."""
    if not message.strip():
        raise InvalidInput("提交说明不能为空 / a commit needs a message saying why the cells change")
    plan = editable_plan(session, plan_id)
    feats = list(session.scalars(select(PlanFeature).where(PlanFeature.plan_id == plan.id).order_by(PlanFeature.code)))
    areas = area_counts(session, plan)
    if not feats and not any(sum(a.values()) for a in areas.values()):
        raise InvalidInput(f"方案 {plan_id} 没有任何改动 / plan {plan_id} changes nothing; there is nothing to commit")
    community_ids = _check_base(session, plan)
    check_area_base(session, plan)
    validation = validate_plan(session, plan, rules)
    if not validation["summary"]["ok"]:
        raise InvalidGeometry(
            f"方案有 {validation['summary']['errors']} 个错误，不能提交 / the plan has "
            f"{validation['summary']['errors']} error(s); fix them (see detail) and commit again",
            detail=validation,
        )
    now = datetime.now(UTC)
    with versions_at(session, now):
        communities = apply_communities(session, plan)
    closing = [f.base_version_id for f in feats if f.action in ("change", "remove") and f.base_version_id]
    closed = session.execute(_CLOSE, {"now": now, "ids": closing}).rowcount  # type: ignore[attr-defined]
    if closed != len(closing):
        raise Conflict("现行网格已被其他提交修改 / live cells changed during the commit; try again")
    opened = session.execute(_OPEN, {"now": now, "plan_id": plan.id}).all()
    with versions_at(session, now):
        compounds = apply_compounds(session, plan)
    codes = sorted({f.code for f in feats})
    moved = (
        run_moves(session, codes=codes, community_ids=community_ids, new_ids=[r.id for r in opened]) if feats else {}
    )
    tickets = next((t for t in anchored_tables() if t.table == "tickets"), None)
    moved["tickets.compound_code"] = reanchor_compounds(
        session, sorted({c for action in compounds.values() for c in action}), tickets.skip_values if tickets else ()
    )
    staff = session.execute(
        text("SELECT DISTINCT cell_code FROM cell_staff WHERE cell_code = ANY(:codes) ORDER BY 1"),
        {"codes": [f.code for f in feats if f.action == "remove"]},
    ).scalars()
    report = {
        "plan_id": plan.id,
        "committed_at": now.isoformat(),
        "message": message,
        "communities": sorted(plan.base),
        "added": [f.code for f in feats if f.action == "add"],
        "changed": [f.code for f in feats if f.action == "change"],
        "removed": [f.code for f in feats if f.action == "remove"],
        "compounds": compounds,
        "communities_redrawn": communities,
        "versions_closed": len(closing),
        "versions_opened": len(opened),
        "moved": moved,
        "staff_to_reassign": list(staff),  # 网格员 of removed cells keep the old code until reassigned
        "warnings": validation["summary"]["warnings"],
    }
    record = PlanCommit(
        plan_id=plan.id,
        committed_by_id=user_id,
        committed_at=now,
        message=message,
        communities=sorted(plan.base),
        report=report,
    )
    session.add(record)
    plan.status = "committed"
    plan.updated_at = now
    session.flush()
    report["commit_id"] = record.id
    area_events.plan_committed(session, plan.id, message, sorted(plan.base), now=now)  # same transaction
    return report


def history(
    session: Session,
    *,
    community_code: str | None = None,
    communities: list[str] | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Commits, newest first (optionally those touching one community, or any of `communities`: a manager's),
    with their plans and reports."""
    stmt = (
        select(PlanCommit, BoundaryPlan.name)
        .join(BoundaryPlan, BoundaryPlan.id == PlanCommit.plan_id)
        .order_by(PlanCommit.committed_at.desc(), PlanCommit.id.desc())
        .limit(limit)
    )
    if community_code:
        stmt = stmt.where(PlanCommit.communities.contains([community_code]))
    if communities is not None:
        stmt = stmt.where(PlanCommit.communities.op("?|")(array(communities)))
    return [
        {
            "commit_id": c.id,
            "plan_id": c.plan_id,
            "plan_name": name,
            "committed_at": c.committed_at,
            "committed_by_id": c.committed_by_id,
            "message": c.message,
            "communities": c.communities,
            "report": c.report,
        }
        for c, name in session.execute(stmt).all()
    ]
