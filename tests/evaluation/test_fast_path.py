"""The dashboard's fast path (figures=basic: the ticket-table figures only, months grouped by date_trunc, read
index-only) answers exactly what the full computation answers, on the hand-built tickets of conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.evaluation import areas, kpis
from gis.evaluation.units import Period, resolve_unit
from tests.evaluation.conftest import World

# two years: the month trend, and last year's hotline per month overlapping the period itself
TWO_YEARS = Period(date(2025, 1, 1), date(2026, 12, 31))
JAN = Period(date(2026, 1, 1), date(2026, 1, 31))
Maker = Callable[..., tuple[Any, dict[str, str]]]


def _basic_only(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: r[k] for k in ("key", *kpis.BASIC) if k in r} for r in rows]


@pytest.mark.parametrize("by", [None, *kpis.GROUPS])
@pytest.mark.parametrize("period", [TWO_YEARS, JAN], ids=["two-years", "january"])
def test_basic_figures_equal_the_full_computation(
    session: Session, world: World, by: str | None, period: Period
) -> None:
    street = resolve_unit(session, "street", world.street)
    full = kpis.compute(session, period, unit=street, user=None, group_by=by)
    fast = kpis.compute(session, period, unit=street, user=None, group_by=by, basic=True)
    assert full and full[0]["received"] > 0
    assert _basic_only(fast) == _basic_only(full)
    assert all(r[k] is None for r in fast for k in kpis.NOT_BASIC)


def test_month_keys_are_the_months_the_ticket_lists_use(session: Session, world: World) -> None:
    """The trend's YYYY-MM keys (grouped by date_trunc) select, in the drill-down (to_char), as many tickets as
    each month counts."""
    street = resolve_unit(session, "street", world.street)
    rows = kpis.compute(session, TWO_YEARS, unit=street, user=None, group_by="month", basic=True)
    assert [r["key"] for r in rows] == sorted(r["key"] for r in rows) and len(rows) >= 2
    for r in rows:
        n, _ = kpis.tickets_behind(session, TWO_YEARS, "received", unit=street, user=None, group=("month", r["key"]))
        assert n == r["received"], r["key"]


@pytest.mark.parametrize("kpi", ["received", "solve_rate", "on_time_rate", "ever_overdue", "hotline"])
def test_the_basic_map_has_the_same_values(session: Session, world: World, kpi: str) -> None:
    street = resolve_unit(session, "street", world.street)
    full = areas.kpi_map(session, JAN, unit=street, user=None, level="cell", kpi=kpi)
    fast = areas.kpi_map(session, JAN, unit=street, user=None, level="cell", kpi=kpi, basic=True)
    assert [(f["id"], f["properties"]["value"]) for f in fast["features"]] == [
        (f["id"], f["properties"]["value"]) for f in full["features"]
    ]
    assert any(f["properties"]["value"] is not None for f in full["features"])


def test_the_basic_map_refuses_a_figure_it_does_not_hold(session: Session, world: World) -> None:
    from gis.errors import InvalidInput

    with pytest.raises(InvalidInput, match="figures=all"):
        areas.kpi_map(
            session, JAN, unit=resolve_unit(session, "street", world.street), user=None, level="cell",
            kpi="satisfaction_rate", basic=True,
        )  # fmt: skip


def test_the_page_s_basic_requests_over_http(client: TestClient, world: World, make_user: Maker) -> None:
    """What the dashboard asks: the categories and the map with figures=basic, the same values as with every
    figure; a figure the basic map does not hold is a clear 422 that says how to ask for it."""
    _, admin = make_user("admin")
    q = {"unit": "street", "code": world.street, "from": "2026-01-01", "to": "2026-01-31"}
    full = client.get("/v1/kpis/breakdown", params={**q, "by": "category"}, headers=admin).json()["rows"]
    fast = client.get("/v1/kpis/breakdown", params={**q, "by": "category", "figures": "basic"}, headers=admin)
    assert [(r["key"], r["figures"]["received"]) for r in fast.json()["rows"]] == [
        (r["key"], r["figures"]["received"]) for r in full
    ]
    values = []
    for figures in ("all", "basic"):
        r = client.get("/v1/kpis/map", params={**q, "kpi": "solve_rate", "figures": figures}, headers=admin)
        assert r.status_code == 200
        values.append([(f["id"], f["properties"]["value"]) for f in r.json()["features"]])
    assert values[0] == values[1]
    bad = client.get("/v1/kpis/map", params={**q, "kpi": "mean_stars", "figures": "basic"}, headers=admin)
    assert bad.status_code == 422 and "figures=all" in bad.text
