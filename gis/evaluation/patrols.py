"""Patrol KPIs for a unit and period, from what the nightly patrol run stores and the check-ins:

- 定岗 rule met: of (assigned worker × compound × working day) in the period, the share with at least the
  rule's minutes on site (patrol_site_days, written nightly from the GPS fixes). Assignments are the current
  ones (the register keeps no history yet).
- coverage: the share of the unit's compounds with a check-in or time on site in the period.
- must-visit (四必到): a household visited every N days needs ⌊days ÷ N⌋ visits in the period; missed =
  the visits short of that, summed over the unit's active households.
Departments have no patrols (None).

Each figure has its rows (`patrol_rows`, GET /v1/kpis/patrols): worker × compound × working day for the 定岗
figures, compounds for coverage, one row per required (or missed) visit of a household for 四必到 — as many rows
as the figure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, cast, false, func, or_, select, true
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.evaluation.calendar import ensure_calendar
from gis.evaluation.models import WorkCalendarDay
from gis.evaluation.units import Period, Unit
from gis.models import AdminArea, Compound, User
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


def _assignments(unit: Unit) -> Any:
    """(user_id, compound_code) of the assigned workers of the unit's compounds."""
    stmt = select(PatrolAssignment.user_id, PatrolAssignment.compound_code).where(
        PatrolAssignment.compound_code.in_(_compounds(unit).scalar_subquery())
    )
    if unit.kind == "worker":
        stmt = stmt.where(PatrolAssignment.user_id == unit.user_id)
    return stmt.subquery("a")


def _visited(period: Period, unit: Unit) -> Any:
    """Codes of the unit's compounds with a check-in or minutes on site in the period (a union: no repeats)."""
    compounds = _compounds(unit).scalar_subquery()
    visited = select(PatrolVisit.compound_code).where(
        PatrolVisit.t >= period.start, PatrolVisit.t < period.end, PatrolVisit.compound_code.in_(compounds)
    )
    on_site = select(PatrolSiteDay.compound_code).where(
        PatrolSiteDay.day.between(period.first, period.last),
        PatrolSiteDay.minutes > 0,
        PatrolSiteDay.compound_code.in_(compounds),
    )
    return visited.union(on_site).subquery("v")


def _households(period: Period, unit: Unit) -> Any:
    """四必到: the unit's active households (of its compounds, or for cells of the cell) with the visits needed
    (⌊days ÷ N⌋) and done in the period."""
    compounds = _compounds(unit).scalar_subquery()
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
    return (
        select(MustVisitHousehold, need.label("need"), done.label("done"))
        .where(MustVisitHousehold.active, in_unit)
        .subquery("h")
    )


def patrol_kpis(session: Session, period: Period, unit: Unit) -> dict[str, Any] | None:
    """The patrol figures of the unit (None for departments)."""
    if unit.kind == "department":
        return None
    ensure_calendar(session, period.last)
    required = load_config().rule.required_minutes
    a = _assignments(unit)
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
    n_visited = session.scalar(select(func.count()).select_from(_visited(period, unit))) or 0
    h = _households(period, unit)
    mv = session.execute(
        select(func.coalesce(func.sum(h.c.need), 0), func.coalesce(func.sum(func.greatest(h.c.need - h.c.done, 0)), 0))
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


# figure → the figure whose rows it lists (a rate: its numerator); rule_missed = expected − met
ROW_KPIS = {
    "rule_expected": "rule_expected",
    "rule_met": "rule_met",
    "rule_met_rate": "rule_met",
    "rule_missed": "rule_missed",
    "compounds": "compounds",
    "compounds_visited": "compounds_visited",
    "coverage": "compounds_visited",
    "must_visit_required": "must_visit_required",
    "must_visit_missed": "must_visit_missed",
}


ROW_LABELS = {**LABELS, "rule_missed": "定岗未达标(人·小区·工作日)"}


def patrol_rows(session: Session, period: Period, unit: Unit, kpi: str, *, limit: int = 100,
                offset: int = 0) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """(count, page of rows) a patrol figure counts: exactly as many as the figure (for the unit the caller
    may read). 定岗: worker × compound × working day with the minutes on site; coverage: compounds; 四必到: one
    row per required (or missed) visit of a household, numbered."""
    what = ROW_KPIS.get(kpi)
    if what is None:
        raise InvalidInput(f"kpi {kpi!r} has no patrol rows; use one of: {', '.join(ROW_KPIS)}")
    if unit.kind == "department":
        return 0, []
    ensure_calendar(session, period.last)
    if what.startswith("rule"):
        return _rule_rows(session, period, unit, what, limit, offset)
    if what.startswith("compounds"):
        return _compound_rows(session, period, unit, what, limit, offset)
    return _household_rows(session, period, unit, what, limit, offset)


def _page(session: Session, stmt: Any, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return int(total), [dict(r) for r in session.execute(stmt.limit(limit).offset(offset)).mappings()]


def _rule_rows(session: Session, period: Period, unit: Unit, what: str, limit: int,
               offset: int) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    required = load_config().rule.required_minutes
    a = _assignments(unit)
    days = (
        select(WorkCalendarDay.day)
        .where(WorkCalendarDay.day.between(period.first, period.last), WorkCalendarDay.working)
        .subquery("d")
    )
    sd = PatrolSiteDay
    minutes = func.coalesce(sd.minutes, 0)
    stmt = (
        select(
            days.c.day,
            a.c.user_id.label("worker_id"),
            User.username.label("worker"),
            User.full_name.label("worker_name"),
            a.c.compound_code,
            Compound.name.label("compound_name"),
            func.round(minutes).label("minutes"),
            (minutes >= required).label("met"),
        )
        .select_from(a)
        .join(days, true())
        .join(User, User.id == a.c.user_id)
        .outerjoin(Compound, Compound.code == a.c.compound_code)
        .outerjoin(sd, and_(sd.user_id == a.c.user_id, sd.compound_code == a.c.compound_code, sd.day == days.c.day))
        .order_by(days.c.day, a.c.compound_code, a.c.user_id)
    )
    if what == "rule_met":
        stmt = stmt.where(sd.minutes >= required)
    elif what == "rule_missed":
        stmt = stmt.where(or_(sd.minutes.is_(None), sd.minutes < required))
    total, rows = _page(session, stmt, limit, offset)
    for r in rows:
        r["day"] = r["day"].isoformat()
        r["minutes"] = int(r["minutes"])
        r["required_minutes"] = required
    return total, rows


def _compound_rows(session: Session, period: Period, unit: Unit, what: str, limit: int,
                   offset: int) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    c = _compounds(unit).subquery("c")
    code = list(c.c)[0]
    v = _visited(period, unit)
    visited = list(v.c)[0]
    stmt = (
        select(
            code.label("compound_code"), Compound.name.label("compound_name"), (visited.is_not(None)).label("visited")
        )
        .select_from(c)
        .outerjoin(Compound, Compound.code == code)
        .outerjoin(v, visited == code)
        .order_by(code)
    )
    if what == "compounds_visited":
        stmt = stmt.where(visited.is_not(None))
    return _page(session, stmt, limit, offset)


def _household_rows(session: Session, period: Period, unit: Unit, what: str, limit: int,
                    offset: int) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    h = _households(period, unit)
    visit_no = func.generate_series(1, cast(h.c.need, Integer)).table_valued("n").render_derived()
    stmt = (
        select(
            h.c.id.label("household_id"),
            h.c.cell_code,
            h.c.compound_code,
            h.c.building,
            h.c.unit,
            h.c.kind,
            h.c.every_days,
            visit_no.c.n.label("visit_no"),
            h.c.need.label("visits_needed"),
            h.c.done.label("visits_done"),
            (visit_no.c.n <= h.c.done).label("visited"),
        )
        .select_from(h)
        .join(visit_no, true())
        .order_by(h.c.compound_code, h.c.id, visit_no.c.n)
    )
    if what == "must_visit_missed":
        stmt = stmt.where(visit_no.c.n > h.c.done)
    total, rows = _page(session, stmt, limit, offset)
    for r in rows:
        r["visits_needed"] = int(r["visits_needed"])
        r["visit_no"] = int(r["visit_no"])
    return total, rows
