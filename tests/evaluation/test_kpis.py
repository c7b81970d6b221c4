"""KPIs over the hand-built tickets of conftest.py: every figure as computed by hand, and the ticket list
behind each figure holds exactly the tickets it counts."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from gis.evaluation import kpis
from gis.evaluation.units import Period, resolve_unit
from gis.tickets.sla import working_seconds_between
from tests.evaluation.conftest import World, at

JAN = Period(date(2026, 1, 1), date(2026, 1, 31))
FEB = Period(date(2026, 2, 1), date(2026, 2, 28))


def test_working_hours_in_sql_match_the_sla_calendar(session: Session, world: World) -> None:
    """Across a weekend, from a holiday into a 调休 working Sunday, and over a month boundary."""
    cell = resolve_unit(session, "cell", world.left)
    _, rows = kpis.tickets_behind(session, JAN, "solved", unit=cell, user=None)
    hours = {r["id"]: r["handling_hours"] for r in rows}
    assert hours == {world.ids["T1"]: 16.0, world.ids["T2"]: 12.0, world.ids["T3"]: 4.0, world.ids["T4"]: 10.0}
    assert working_seconds_between(at("2026-01-03 12:00"), at("2026-01-04 12:00")) == 12 * 3600


def test_every_figure_of_a_cell_month(session: Session, world: World) -> None:
    fig = kpis.compute(session, JAN, unit=resolve_unit(session, "cell", world.left), user=None)[0]
    assert fig["received"] == 5
    assert (fig["responded"], fig["responded_in_sla"], fig["response_rate"]) == (3, 2, 0.4)
    assert (fig["solved"], fig["solve_rate"]) == (4, 0.8)
    assert (fig["on_time"], fig["on_time_rate"]) == (2, 0.5)
    assert (fig["median_hours"], fig["p90_hours"]) == (11.0, 14.8)
    assert (fig["reopened"], fig["escalated"]) == (1, 1)
    assert (fig["followed_up"], fig["follow_up_rate"]) == (1, 0.25)
    assert (fig["rated"], fig["satisfied"], fig["satisfaction_rate"], fig["mean_stars"]) == (3, 2, 0.6667, 4.0)
    assert (fig["hotline"], fig["hotline_last_year"], fig["hotline_change"]) == (2, 1, 1.0)
    assert (fig["suggestions"], fig["suggestions_rectified"], fig["rectify_rate"]) == (2, 1, 0.5)


def test_a_breakdown_by_month_compares_each_month_with_the_same_month_last_year(session: Session, world: World) -> None:
    cell = resolve_unit(session, "cell", world.left)
    months = {r["key"]: r for r in kpis.compute(session, JAN, unit=cell, user=None, group_by="month")}
    assert (months["2026-01"]["hotline"], months["2026-01"]["hotline_last_year"]) == (2, 1)
    assert months["2026-01"]["hotline_change"] == 1.0


def test_a_ticket_crossing_the_month_boundary_counts_in_the_month_it_was_received(
    session: Session, world: World
) -> None:
    cell = resolve_unit(session, "cell", world.left)
    feb = kpis.compute(session, FEB, unit=cell, user=None)[0]
    assert (feb["received"], feb["solved"], feb["median_hours"]) == (0, 0, None)


def test_a_redrawn_cell_keeps_the_tickets_anchored_before_the_redraw(session: Session, world: World) -> None:
    right = kpis.compute(session, JAN, unit=resolve_unit(session, "cell", world.right), user=None)[0]
    assert right["received"] == 1
    by_cell = {r["key"]: r["received"] for r in kpis.compute(
        session, JAN, unit=resolve_unit(session, "street", world.street), user=None, group_by="cell"
    )}  # fmt: skip
    assert by_cell == {world.left: 5, world.right: 1}


@pytest.mark.parametrize("kpi", [*kpis.COUNTS, *kpis.RATES, "hotline_last_year"])
def test_the_list_behind_each_figure_holds_exactly_what_it_counts(session: Session, world: World, kpi: str) -> None:
    unit = resolve_unit(session, "community", world.community)
    fig = kpis.compute(session, JAN, unit=unit, user=None)[0]
    matched, rows = kpis.tickets_behind(session, JAN, kpi, unit=unit, user=None)
    expected = fig[kpis.RATES[kpi][0]] if kpi in kpis.RATES else fig[kpi]
    assert matched == len(rows) == expected


def test_units_by_organisation_and_by_tier(session: Session, world: World) -> None:
    p1 = kpis.compute(session, JAN, unit=resolve_unit(session, "property", "KPI-P1"), user=None)[0]
    assert (p1["received"], p1["solved"], p1["escalated"]) == (1, 1, 1)
    tiers = kpis.by_tier(session, JAN, unit=resolve_unit(session, "cell", world.left), user=None)
    assert [(t["key"], t["on_time"], t["tier_label"][:4]) for t in tiers] == [("normal", 2, "普通事项")]
