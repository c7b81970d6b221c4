"""Patrol KPIs of a unit and period: the 定岗 rule per (worker × compound × working day), coverage, 四必到 missed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
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


def test_each_patrol_figure_links_to_exactly_its_rows(client: TestClient, session: Session, world: World,
                                                      make_user: Callable[..., Any]) -> None:  # fmt: skip
    """/v1/kpis's patrol_links: every patrol figure (a rate: its numerator) lists as many rows as it counts, for
    the units the caller may read; rule_missed = expected − met."""
    worker, _ = make_user("grid_worker", jurisdiction=[world.left])
    other, _ = make_user("grid_worker", jurisdiction=[world.left])
    session.add_all([PatrolAssignment(compound_code=world.compound, user_id=u.id) for u in (worker, other)])
    session.add_all([
        PatrolSiteDay(day=date(2026, 1, 5), user_id=worker.id, compound_code=world.compound, minutes=130),
        PatrolSiteDay(day=date(2026, 1, 6), user_id=worker.id, compound_code=world.compound, minutes=60),
        PatrolSiteDay(day=date(2026, 1, 7), user_id=other.id, compound_code=world.compound, minutes=125),
        PatrolSiteDay(day=date(2026, 1, 3), user_id=other.id, compound_code=world.compound, minutes=200),  # holiday
    ])  # fmt: skip
    session.add(MustVisitHousehold(cell_code=world.left, compound_code=world.compound, building="1", unit="1",
                                   kind="elderly_alone", every_days=10))  # fmt: skip
    session.commit()
    _, admin = make_user("admin")
    params = {"unit": "compound", "code": world.compound, "from": "2026-01-01", "to": "2026-01-31"}
    body = client.get("/v1/kpis", params=params, headers=admin).json()
    fig, links = body["patrol"], body["patrol_links"]
    assert set(links) == set(fig)  # every figure has its rows
    numerators = {"rule_met_rate": "rule_met", "coverage": "compounds_visited"}
    for name, link in links.items():
        page = client.get(f"{link}&limit=1000", headers=admin)
        assert page.status_code == 200, (name, page.text)
        got = page.json()
        assert got["numberMatched"] == len(got["items"]) == fig[numerators.get(name, name)], name
    assert fig["rule_met"] == 2 and fig["must_visit_missed"] == 3  # ⌊31 ÷ 10⌋ visits, none made

    met = client.get(links["rule_met"], headers=admin).json()["items"]
    assert [(r["day"], r["worker_id"], r["minutes"], r["met"]) for r in met] == [
        ("2026-01-05", worker.id, 130, True), ("2026-01-07", other.id, 125, True)
    ]  # fmt: skip
    missed = client.get(links["rule_met"].replace("kpi=rule_met", "kpi=rule_missed") + "&limit=1000",
                        headers=admin).json()  # fmt: skip
    assert missed["numberMatched"] == fig["rule_expected"] - fig["rule_met"]
    short = next(r for r in missed["items"] if r["day"] == "2026-01-06" and r["worker_id"] == worker.id)
    assert short["minutes"] == 60 and short["met"] is False and short["compound_name"]
    visits = client.get(links["must_visit_missed"], headers=admin).json()["items"]
    assert [v["visit_no"] for v in visits] == [1, 2, 3] and not any(v["visited"] for v in visits)

    _, outsider = make_user("manager", jurisdiction=["990000000002"])
    assert client.get(links["rule_met"], headers=outsider).status_code == 403
    bad = client.get("/v1/kpis/patrols", params={**params, "kpi": "solved"}, headers=admin)
    assert bad.status_code == 422 and "rule_met" in bad.json()["message"]
