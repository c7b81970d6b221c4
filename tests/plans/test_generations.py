"""Versioned compounds and communities (T5): `locate?at=` answers with the compound and community in force at
that date, before and after a plan commit redraws them; without `at` the answer is today's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import shapely
import shapely.affinity
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.locate import locate
from gis.plans.commit import commit_plan
from gis.plans.draft import FeatureInput, next_codes
from gis.plans.edits import put_features, remove_feature
from gis.plans.models import BoundaryPlan
from tests.plans.conftest import COMMUNITY
from tests.plans.test_areas import LOOSE, _compound, _free_point, _geom, _neighbour_cell


def _where(client: TestClient, p: BaseGeometry, at: datetime | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"lon": p.x, "lat": p.y}
    if at is not None:
        params["at"] = at.isoformat()
    r = client.get("/v1/locate", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _committed_at(report: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(report["committed_at"])


def test_locate_at_answers_with_the_compound_then_in_force(
    session: Session, plan: BoundaryPlan, client: TestClient
) -> None:
    code, geom, cell = _compound(session)
    old_name = session.execute(text("SELECT name FROM compounds WHERE code = :c"), {"c": code}).scalar_one()
    cell_geom = _geom(session, "SELECT ST_AsBinary(geom) FROM grid_cells WHERE code = :c AND valid_to IS NULL", c=cell)
    grown = shapely.intersection(shapely.buffer(geom, 0.0002, join_style="mitre"), cell_geom)
    new_ground = _free_point(session, shapely.difference(grown, geom))
    old_ground = shapely.point_on_surface(geom)
    put_features(session, plan, "compound", [FeatureInput(code, grown, name="扩建后的小区")])
    report = commit_plan(session, plan.id, message="小区扩建", rules=LOOSE)
    t = _committed_at(report)
    before, after = t - timedelta(minutes=1), t + timedelta(seconds=1)

    assert _where(client, new_ground, before)["compound"] is None  # not part of the compound back then
    assert _where(client, new_ground, after)["compound"]["name"] == "扩建后的小区"
    assert _where(client, new_ground)["compound"]["code"] == code  # no date: today's answer
    then = _where(client, old_ground, before)["compound"]
    assert (then["code"], then["name"]) == (code, old_name)
    assert _where(client, old_ground, after)["compound"]["name"] == "扩建后的小区"
    # the 责任公示牌 is not versioned: it is today's board, on both dates
    assert then["contacts"] == _where(client, old_ground)["compound"]["contacts"]
    versions = session.execute(
        text("SELECT count(*), count(*) FILTER (WHERE valid_to IS NULL) FROM compound_versions WHERE code = :c"),
        {"c": code},
    ).one()
    assert tuple(versions) == (2, 1)


def test_locate_at_answers_with_the_community_then_in_force(
    session: Session, plan: BoundaryPlan, client: TestClient
) -> None:
    a, b = COMMUNITY, "370102010002"
    names = dict(
        session.execute(text("SELECT code, name FROM admin_areas WHERE code = ANY(:c)"), {"c": [a, b]}).tuples().all()
    )
    moved, moved_geom = _neighbour_cell(session, a, b)
    geom_a = _geom(session, "SELECT ST_AsBinary(geom) FROM admin_areas WHERE code = :c", c=a)
    geom_b = _geom(session, "SELECT ST_AsBinary(geom) FROM admin_areas WHERE code = :c", c=b)
    put_features(
        session,
        plan,
        "community",
        [
            FeatureInput(a, shapely.difference(geom_a, moved_geom)),
            FeatureInput(b, shapely.union(geom_b, moved_geom), name="新名社区"),
        ],
    )
    remove_feature(session, plan, "cell", moved)
    (new_code,) = next_codes(session, plan, b, 1)
    put_features(session, plan, "cell", [FeatureInput(new_code, moved_geom, name="划入的网格")])
    t = _committed_at(commit_plan(session, plan.id, message="网格划归相邻社区，社区更名", rules=LOOSE))
    spot = shapely.point_on_surface(moved_geom)

    then = _where(client, spot, t - timedelta(minutes=1))
    assert (then["community"]["code"], then["community"]["name"], then["cell"]["code"]) == (a, names[a], moved)
    now = _where(client, spot, t + timedelta(seconds=1))
    assert (now["community"]["code"], now["community"]["name"], now["cell"]["code"]) == (b, "新名社区", new_code)
    assert _where(client, spot)["community"]["name"] == "新名社区"
    # a point that stayed in b: its community's name is the one in force at each date
    inside_b = shapely.point_on_surface(shapely.difference(geom_b, shapely.buffer(moved_geom, 0.001)))
    assert _where(client, inside_b, t - timedelta(minutes=1))["community"]["name"] == names[b]
    assert _where(client, inside_b, t + timedelta(seconds=1))["community"]["name"] == "新名社区"


def test_a_removed_compound_is_still_answered_for_its_past(session: Session) -> None:
    code, geom, _ = _compound(session)
    p = shapely.point_on_surface(geom)
    session.execute(text("DELETE FROM buildings b USING compounds x WHERE b.compound_id = x.id AND x.code = :c"),
                    {"c": code})  # fmt: skip
    session.execute(text("DELETE FROM compounds WHERE code = :c"), {"c": code})
    now = session.execute(text("SELECT now()")).scalar_one()
    assert locate(session, p.x, p.y).compound is None
    past = locate(session, p.x, p.y, at=now - timedelta(days=1)).compound
    assert past is not None and past["code"] == code and past["contacts"] == []  # today's board is gone


@pytest.fixture()
def shifted_compound(session: Session) -> tuple[str, BaseGeometry, BaseGeometry, datetime]:
    """A demo compound moved east by a plain UPDATE (the triggers version it): code, old and new shape, a moment
    before the move."""
    code, geom, _ = _compound(session)
    t0 = session.execute(text("SELECT now()")).scalar_one()
    shifted = shapely.affinity.translate(geom, 0.00015, 0.0)
    session.execute(
        text("UPDATE compounds SET geom = ST_Multi(ST_GeomFromText(:g, 4326)) WHERE code = :c"),
        {"g": shifted.wkt, "c": code},
    )
    return code, geom, shifted, t0 - timedelta(seconds=1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fx=st.floats(0, 1), fy=st.floats(0, 1))
def test_dated_compound_matches_shapely_on_the_versions(
    session: Session, shifted_compound: tuple[str, BaseGeometry, BaseGeometry, datetime], fx: float, fy: float
) -> None:
    """Property: around a redrawn compound, the dated locate answers the version whose geometry covers the
    point at that date, as shapely says; without a date, today's."""
    code, geom, shifted, before = shifted_compound
    minx, miny, maxx, maxy = shapely.union(geom, shifted).bounds
    x, y = minx + fx * (maxx - minx), miny + fy * (maxy - miny)
    p = shapely.Point(x, y)
    others = session.execute(
        text("SELECT count(*) FROM compounds WHERE code <> :c AND ST_Covers(geom, ST_SetSRID(ST_Point(:x, :y), 4326))"),
        {"c": code, "x": x, "y": y},
    ).scalar_one()
    if others or not locate_ok(session, p):
        return
    then = locate(session, x, y, at=before).compound
    today = locate(session, x, y).compound
    assert (then is not None and then["code"] == code) == shapely.covers(geom, p)
    assert (today is not None and today["code"] == code) == shapely.covers(shifted, p)


def locate_ok(session: Session, p: BaseGeometry) -> bool:
    """Whether a live cell covers the point (else locate answers 404)."""
    return bool(
        session.execute(
            text(
                "SELECT 1 FROM grid_cells WHERE valid_to IS NULL "
                "AND ST_Covers(geom, ST_SetSRID(ST_Point(:x, :y), 4326))"
            ),
            {"x": p.x, "y": p.y},
        ).first()
    )


def test_map_layers_at_a_date_show_the_versions_then_in_force(
    session: Session, client: TestClient, make_user: Any
) -> None:
    code, _, _ = _compound(session)
    old = session.execute(text("SELECT name FROM compounds WHERE code = :c"), {"c": code}).scalar_one()
    old_community = session.execute(text("SELECT name FROM admin_areas WHERE code = :c"), {"c": COMMUNITY}).scalar()
    t0 = session.execute(text("SELECT now() - interval '1 second'")).scalar_one()
    session.execute(text("UPDATE compounds SET name = '更名小区' WHERE code = :c"), {"c": code})
    session.execute(text("UPDATE admin_areas SET name = '更名社区' WHERE code = :c"), {"c": COMMUNITY})
    session.commit()
    _, manager = make_user("manager", jurisdiction=[COMMUNITY])

    def names(layer: str, at: datetime | None = None) -> dict[str, str]:
        params = {"at": at.isoformat()} if at else {}
        r = client.get(f"/v1/{layer}", params={**params, "limit": 1000}, headers=manager)
        assert r.status_code == 200, r.text
        return {f["properties"]["code"]: f["properties"]["name"] for f in r.json()["features"]}

    assert names("communities") == {COMMUNITY: "更名社区"}  # a manager still sees only their community
    assert names("communities", t0) == {COMMUNITY: old_community}
    assert names("compounds")[code] == "更名小区"
    assert names("compounds", t0)[code] == old
    assert len(names("compounds", t0)) == len(names("compounds"))


def test_the_dated_compound_lookup_probes_the_spatial_index(session: Session) -> None:
    """The by-location rule over compound versions keeps the index-friendly shape (a GiST probe, not a scan)."""
    from gis.locate import _WHERE_AT_SQL

    session.execute(text("SET LOCAL enable_seqscan = off"))  # a small table may be scanned; the index must be usable
    plan = "\n".join(
        r[0]
        for r in session.execute(
            text("EXPLAIN " + _WHERE_AT_SQL.text), {"lon": 117.05, "lat": 36.67, "at": "2026-01-01T00:00:00+00:00"}
        )
    )
    assert "idx_compound_versions_geom" in plan and "idx_grid_cells_geom" in plan
