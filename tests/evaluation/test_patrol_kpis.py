"""Patrol KPIs of a unit and period: the 定岗 rule per (worker × compound × working day), coverage, 四必到 missed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gis.evaluation.patrols import patrol_kpis
from gis.evaluation.units import Period, resolve_unit
from gis.patrol.models import MustVisitHousehold, PatrolAssignment, PatrolSiteDay
from gis.tickets.sla import is_working_day
from tests.evaluation.conftest import World

JAN = Period.month("2026-01")


def test_rule_coverage_and_must_visit(session: Session, world: World, make_user: Callable[..., Any]) -> None:
    worker, _ = make_user("grid_worker", jurisdiction=[world.left])
    session.add(PatrolAssignment(compound_code=world.compound, user_id=worker.id))
    session.add_all([
        PatrolSiteDay(day=date(2026, 1, 5), user_id=worker.id, compound_code=world.compound, minutes=130),  # met
        PatrolSiteDay(day=date(2026, 1, 6), user_id=worker.id, compound_code=world.compound, minutes=60),  # short
        PatrolSiteDay(day=date(2026, 1, 3), user_id=worker.id, compound_code=world.compound, minutes=200),  # holiday
    ])  # fmt: skip
    session.add(MustVisitHousehold(cell_code=world.left, compound_code=world.compound, building="1", unit="1",
                                   kind="elderly_alone", every_days=7))  # fmt: skip
    session.commit()
    working = sum(is_working_day(date(2026, 1, 1) + timedelta(days=k)) for k in range(31))
    fig = patrol_kpis(session, JAN, resolve_unit(session, "compound", world.compound))
    assert fig is not None
    assert (fig["rule_expected"], fig["rule_met"]) == (working, 1)
    assert (fig["compounds"], fig["compounds_visited"], fig["coverage"]) == (1, 1, 1.0)
    assert (fig["must_visit_required"], fig["must_visit_missed"]) == (4, 4)  # ⌊31 ÷ 7⌋ visits, none made
    assert patrol_kpis(session, JAN, resolve_unit(session, "department", "KPI-D1")) is None
