"""Synthetic tracks with known answers: the 定岗 rule, GPS jitter at the gate, coverage, a later redraw."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from shapely.geometry import box
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gis.models import GridCell
from gis.patrol import assignments, derive
from gis.patrol.models import PatrolAssignment
from gis.patrol.patrols import Fix, add_fixes, start_patrol
from tests.conftest import ewkt
from tests.patrol.conftest import (
    COMPOUND,
    GATE,
    OUTSIDE,
    Maker,
    PatrolArea,
    batches,
    line_walk,
    local,
    ring_walk,
    standing,
)

DAY = date(2024, 5, 6)


def _walk(session: Session, user, key: str, fixes: list[Fix]) -> int:  # type: ignore[no-untyped-def]
    p = start_patrol(session, user, client_key=key, at=fixes[0].t)
    for n, chunk in enumerate(batches(fixes)):
        add_fixes(session, user, p.id, batch_key=f"{key}-{n}", fixes=chunk)
    return p.id


def test_two_hours_five_minutes_inside_meets_the_rule(session: Session, parea: PatrolArea) -> None:
    _walk(session, parea.worker, "met", ring_walk(local(2024, 5, 6, 9), 125))
    minutes = derive.site_minutes(session, DAY, user_ids=[parea.worker.id])
    assert 124 <= minutes[(parea.worker.id, COMPOUND)] <= 125.1
    rows = derive.rule_report(session, parea.manager, day=DAY, community=parea.community)
    mine = next(r for r in rows if r["worker_id"] == parea.worker.id)
    assert mine["met"] is True and mine["required_minutes"] == 120


def test_leaving_after_one_hour_fifty_does_not_meet_it(session: Session, parea: PatrolArea) -> None:
    inside = ring_walk(local(2024, 5, 6, 9), 110)
    # gone: the next fixes (two minutes later) are outside the compound
    later = [Fix(inside[-1].t + timedelta(seconds=120 + 10 * k), *OUTSIDE, accuracy_m=5) for k in range(120)]
    _walk(session, parea.worker, "short", inside + later)
    rows = derive.rule_report(session, parea.manager, day=DAY, community=parea.community)
    mine = next(r for r in rows if r["worker_id"] == parea.worker.id)
    assert 108 <= mine["minutes"] < 112
    assert mine["met"] is False
    other = next(r for r in rows if r["worker_id"] == parea.other.id)
    assert other["minutes"] == 0 and other["met"] is False


def test_a_phone_jittering_at_the_gate_accrues_no_time_inside(session: Session, parea: PatrolArea) -> None:
    _walk(session, parea.worker, "gate", standing(local(2024, 5, 6, 9), 180, GATE, jitter_m=10))
    assert derive.site_minutes(session, DAY, user_ids=[parea.worker.id]).get((parea.worker.id, COMPOUND), 0) == 0


def test_flagged_fixes_give_no_time_inside(session: Session, parea: PatrolArea) -> None:
    bad = [Fix(f.t, f.lon, f.lat, accuracy_m=120.0) for f in ring_walk(local(2024, 5, 6, 9), 60)]
    _walk(session, parea.worker, "inaccurate", bad)
    assert derive.site_minutes(session, DAY, user_ids=[parea.worker.id]) == {}


def _redraw(session: Session, parea: PatrolArea, at: datetime) -> None:
    """Move the shared edge of the two cells from lon 100.01 to lon 100.005 at `at`."""
    cells = {c.code: c for c in session.scalars(select(GridCell).where(GridCell.code.in_([parea.left, parea.right])))}
    session.execute(update(GridCell).where(GridCell.id.in_([c.id for c in cells.values()])).values(valid_to=at))
    new = {parea.left: box(100.0, 30.0, 100.005, 30.01), parea.right: box(100.005, 30.0, 100.02, 30.01)}
    for code, geom in new.items():
        old = cells[code]
        session.add(GridCell(code=code, name=old.name, community_id=old.community_id, valid_from=at, geom=ewkt(geom)))
    session.flush()


def test_coverage_on_a_known_geometry_and_a_later_redraw_keeps_history(session: Session, parea: PatrolArea) -> None:
    # a straight walk along lat 30.005 across the whole left cell and into the right one
    _walk(session, parea.worker, "across", line_walk(local(2024, 5, 6, 9), (100.0, 30.005), (100.015, 30.005)))
    before = {r["cell_code"]: r["share"] for r in derive.coverage(session, parea.manager, day=DAY,
                                                                   community=parea.community)}  # fmt: skip
    # a 60 m wide band (30 m each side) across a cell 0.01° ≈ 1108.5 m tall
    assert abs(before[parea.left] - 60 / 1108.5) < 0.003
    assert abs(before[parea.right] - 0.5 * 60 / 1108.5) < 0.003
    _redraw(session, parea, local(2024, 5, 8, 0))
    after = {r["cell_code"]: r["share"] for r in derive.coverage(session, parea.manager, day=DAY,
                                                                  community=parea.community)}  # fmt: skip
    assert after == before
    later = derive.coverage(session, parea.manager, day=date(2024, 5, 9), community=parea.community)
    assert all(r["share"] == 0 for r in later)


def test_unvisited_lists_compounds_without_visits(session: Session, parea: PatrolArea) -> None:
    rows = derive.unvisited(session, parea.manager, days=7, community=parea.community, now=local(2024, 5, 7, 8))
    assert [r["compound_code"] for r in rows] == [COMPOUND]
    _walk(session, parea.worker, "visit", ring_walk(local(2024, 5, 6, 9), 30))
    derive.store_site_days(session, DAY)
    rows = derive.unvisited(session, parea.manager, days=7, community=parea.community, now=local(2024, 5, 7, 8))
    assert rows == []


def test_a_past_day_is_judged_against_the_assignments_in_force_that_day(
    session: Session, parea: PatrolArea, make_user: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manager replaces a worker after DAY: DAY still judges the replaced worker (who walked 2 h 5 min), the
    newcomer only from the day they were assigned; the history row is closed, not deleted."""
    _walk(session, parea.other, "hist", ring_walk(local(2024, 5, 6, 9), 125))
    newcomer, _ = make_user("grid_worker", jurisdiction=[parea.left])
    monkeypatch.setattr(assignments, "utcnow", lambda: local(2024, 5, 8, 10))  # the manager acts on May 8
    assignments.set_assignments(session, parea.manager, COMPOUND, [parea.worker.id, newcomer.id])
    session.commit()

    def judged(day: date) -> dict[int, bool]:
        rows = derive.rule_report(session, parea.manager, day=day, community=parea.community)
        return {r["worker_id"]: r["met"] for r in rows if r["compound_code"] == COMPOUND}

    assert judged(DAY) == {parea.worker.id: False, parea.other.id: True}
    assert judged(date(2024, 5, 8)) == {parea.worker.id: False, newcomer.id: False}
    rows = session.execute(
        select(PatrolAssignment.user_id, PatrolAssignment.valid_to).where(PatrolAssignment.compound_code == COMPOUND)
    ).all()
    assert sorted((u, t is None) for u, t in rows) == sorted(
        [(parea.worker.id, True), (parea.other.id, False), (newcomer.id, True)]
    )
    # the current assignment list shows only the open rows
    listed = assignments.list_assignments(session, parea.manager, community=parea.community)
    assert {w["id"] for c in listed if c["compound_code"] == COMPOUND for w in c["workers"]} == {
        parea.worker.id, newcomer.id}  # fmt: skip
