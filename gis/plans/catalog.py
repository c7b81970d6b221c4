"""The plans themselves: create one, summarise it (counts of its changes, its commit), list them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.plans.areas import area_counts
from gis.plans.models import BoundaryPlan, PlanCommit, PlanFeature


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
