"""The plans themselves: create one, summarise it (counts of its changes, its commit), list them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from gis import access
from gis.errors import NotFound
from gis.models import User
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


def plan_filter(session: Session, user: User) -> ColumnElement[bool]:
    """The plans `user` may read: all for planners and admins, those touching their communities for a
    manager (M9: a draft for another community is not theirs), none for anyone else."""
    if user.role not in access.PLAN_READERS:
        return false()
    communities = access.community_codes(session, user)
    if communities is None:
        return true()
    if not communities:
        return false()
    touches: ColumnElement[bool] = BoundaryPlan.base.has_any(array(communities))
    return touches


def readable_plan(session: Session, user: User, plan_id: int) -> BoundaryPlan:
    """The plan if `user` may read it; NotFound otherwise (another community's draft is "not yours")."""
    plan = session.scalar(select(BoundaryPlan).where(BoundaryPlan.id == plan_id, plan_filter(session, user)))
    if plan is None:
        raise NotFound(f"规划方案不存在 / plan {plan_id} not found")
    return plan


def list_plans(
    session: Session, *, user: User | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Plans, newest first; with `user`, only those they may read."""
    stmt = select(BoundaryPlan).order_by(BoundaryPlan.id.desc()).limit(limit)
    if user is not None:
        stmt = stmt.where(plan_filter(session, user))
    if status:
        stmt = stmt.where(BoundaryPlan.status == status)
    return [plan_summary(session, p) for p in session.scalars(stmt)]
