"""Patrol KPIs for a unit and period, from what the nightly patrol run stores and the check-ins:

- 定岗 rule met: of (assigned worker × compound × working day) in the period, the share with at least the
  rule's minutes on site (patrol_site_days, written nightly from the GPS fixes). Assignments are the current
  ones (the register keeps no history yet).
- coverage: the share of the unit's compounds with a check-in or time on site in the period.
- must-visit (四必到): a household visited every N days needs ⌊days ÷ N⌋ visits in the period; missed =
  the visits short of that, summed over the unit's active households.
Departments have no patrols (None).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from gis.evaluation.calendar import ensure_calendar
from gis.evaluation.models import WorkCalendarDay
from gis.evaluation.units import Period, Unit
from gis.models import AdminArea, Compound
from gis.patrol.config import load_config
from gis.patrol.models import HouseholdVisit, MustVisitHousehold, PatrolAssignment, PatrolSiteDay, PatrolVisit

LABELS = {
    "rule_expected": "定岗应在岗(人·小区·工作日)",
    "rule_met": "定岗达标(人·小区·工作日)",
    "rule_met_rate": "定岗达标率",
    "compounds": "小区数",
    "compounds_visited": "已巡查小区数",
    "coverage": "巡查覆盖率",
    "must_visit_required": "四必到应走访次数",
    "must_visit_missed": "四必到未走访次数",
}


def _compounds(unit: Unit) -> Any:
    base = select(Compound.code)
    if unit.kind == "compound":
        return base.where(Compound.code == unit.code)
    if unit.kind == "cell":
        return base.where(Compound.cell_code == unit.code)
    if unit.kind in ("community", "street"):
        communities = select(AdminArea.id).where(AdminArea.code.startswith(unit.code, autoescape=True))
        return base.where(Compound.community_id.in_(communities))
    if unit.kind == "property":
        return base.where(Compound.property_company_id == unit.organization_id)
    return select(PatrolAssignment.compound_code).where(PatrolAssignment.user_id == unit.user_id)


def patrol_kpis(session: Session, period: Period, unit: Unit) -> dict[str, Any] | None:
    """The patrol figures of the unit (None for departments)."""
    if unit.kind == "department":
        return None
    ensure_calendar(session, period.last)
    required = load_config().rule.required_minutes
    compounds = _compounds(unit).scalar_subquery()
    assignments = select(PatrolAssignment.user_id, PatrolAssignment.compound_code).where(
        PatrolAssignment.compound_code.in_(compounds)
    )
    if unit.kind == "worker":
        assignments = assignments.where(PatrolAssignment.user_id == unit.user_id)
    a = assignments.subquery("a")
    working_days = (
        select(func.count())
        .where(WorkCalendarDay.day.between(period.first, period.last), WorkCalendarDay.working)
        .scalar_subquery()
    )
    expected = session.scalar(select(func.count() * working_days).select_from(a)) or 0
    met = (
        session.scalar(
            select(func.count())
            .select_from(PatrolSiteDay)
            .join(a, and_(a.c.user_id == PatrolSiteDay.user_id, a.c.compound_code == PatrolSiteDay.compound_code))
            .join(WorkCalendarDay, WorkCalendarDay.day == PatrolSiteDay.day)
            .where(
                PatrolSiteDay.day.between(period.first, period.last),
                WorkCalendarDay.working,
                PatrolSiteDay.minutes >= required,
            )
        )
        or 0
    )
    n_compounds = session.scalar(select(func.count()).select_from(_compounds(unit).subquery())) or 0
    visited = select(PatrolVisit.compound_code).where(
        PatrolVisit.t >= period.start, PatrolVisit.t < period.end, PatrolVisit.compound_code.in_(compounds)
    )
    on_site = select(PatrolSiteDay.compound_code).where(
        PatrolSiteDay.day.between(period.first, period.last),
        PatrolSiteDay.minutes > 0,
        PatrolSiteDay.compound_code.in_(compounds),
    )
    n_visited = session.scalar(select(func.count()).select_from(visited.union(on_site).subquery())) or 0
    # 四必到: households of the unit's compounds (or, for cells, of the cell)
    done = (
        select(func.count())
        .where(
            HouseholdVisit.household_id == MustVisitHousehold.id,
            HouseholdVisit.at >= period.start,
            HouseholdVisit.at < period.end,
        )
        .scalar_subquery()
    )
    need = func.floor(period.days / func.greatest(MustVisitHousehold.every_days, 1))
    in_unit = or_(
        MustVisitHousehold.compound_code.in_(compounds),
        MustVisitHousehold.cell_code == unit.code if unit.kind == "cell" else false(),
    )
    mv = session.execute(
        select(func.coalesce(func.sum(need), 0), func.coalesce(func.sum(func.greatest(need - done, 0)), 0)).where(
            MustVisitHousehold.active, in_unit
        )
    ).one()
    return {
        "rule_expected": int(expected),
        "rule_met": int(met),
        "rule_met_rate": round(met / expected, 4) if expected else None,
        "compounds": int(n_compounds),
        "compounds_visited": int(n_visited),
        "coverage": round(n_visited / n_compounds, 4) if n_compounds else None,
        "must_visit_required": int(mv[0]),
        "must_visit_missed": int(mv[1]),
    }
