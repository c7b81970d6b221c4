"""Compounds (小区) and communities (社区) in plans: import, validation, commit and what follows them
(open tickets' compound, a cell moved to another community taking its tickets along), attribute tables."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidGeometry, InvalidInput
from gis.plans.commit import commit_plan
from gis.plans.diff import plan_diff
from gis.plans.diffmap import plan_diff_map
from gis.plans.draft import FeatureInput, next_codes
from gis.plans.edits import put_features, remove_feature
from gis.plans.imports_sync import import_file
from gis.plans.models import BoundaryPlan, PlanArea
from gis.plans.validate import Rules, validate_plan
from gis.plans.write import write_layer
from tests.plans.conftest import COMMUNITY, LiveCells

LOOSE = Rules(households_min=None, households_max=None)


def _geom(session: Session, sql: str, **params: Any) -> BaseGeometry:
    return shapely.from_wkb(bytes(session.execute(text(sql), params).scalar_one()))


def _compound(session: Session) -> tuple[str, BaseGeometry, str]:
    """A demo compound of COMMUNITY with buildings: code, geometry, cell."""
    code, cell = session.execute(
        text(
            "SELECT x.code, x.cell_code FROM compounds x JOIN admin_areas a ON a.id = x.community_id "
            "WHERE a.code = :c AND EXISTS (SELECT 1 FROM buildings b WHERE b.compound_id = x.id) "
            "ORDER BY x.code LIMIT 1"
        ),
        {"c": COMMUNITY},
    ).one()
    return code, _geom(session, "SELECT ST_AsBinary(geom) FROM compounds WHERE code = :c", c=code), cell


def _free_point(session: Session, area: BaseGeometry) -> BaseGeometry:
    """A point of `area` inside no live compound."""
    taken = shapely.union_all(
        [
            shapely.from_wkb(bytes(w))
            for (w,) in session.execute(
                text("SELECT ST_AsBinary(geom) FROM compounds WHERE geom && ST_GeomFromText(:g, 4326)"),
                {"g": area.wkt},
            ).all()
        ]
    )
    free = shapely.difference(area, taken)
    assert not free.is_empty
    return shapely.point_on_surface(free)


def _place_tickets(session: Session, point: BaseGeometry, states: list[str]) -> list[int]:
    ids = list(session.execute(text("SELECT id FROM tickets ORDER BY id LIMIT :n"), {"n": len(states)}).scalars())
    for i, state in zip(ids, states, strict=True):
        session.execute(
            text(
                "UPDATE tickets SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326), state = :s, compound_code = NULL "
                "WHERE id = :i"
            ),
            {"x": point.x, "y": point.y, "s": state, "i": i},
        )
    return ids


def test_compound_redraw_from_a_file_moves_open_tickets_into_it(session: Session, plan: BoundaryPlan) -> None:
    code, geom, cell = _compound(session)
    cell_geom = _geom(session, "SELECT ST_AsBinary(geom) FROM grid_cells WHERE code = :c AND valid_to IS NULL", c=cell)
    grown = shapely.intersection(shapely.buffer(geom, 0.0002, join_style="mitre"), cell_geom)
    spot = _free_point(session, shapely.difference(grown, geom))
    ids = _place_tickets(session, spot, ["in_progress", "closed"])

    data = write_layer([{"code": code, "name": "改造后的小区", "geom": grown}], "gpkg", layer="compounds")
    report = import_file(session, plan.id, data, "compounds.gpkg", layer="compound", mode="merge")
    assert report["layer"] == "compound" and report["changed"] == [code] and report["removed"] == []
    assert COMMUNITY in plan.base  # the community's cells are checked against the new compound

    found = validate_plan(session, plan, LOOSE)
    assert found["summary"]["ok"], found["summary"]
    live_geom = _geom(session, "SELECT ST_AsBinary(geom) FROM compounds WHERE code = :c", c=code)
    assert shapely.equals(live_geom, geom)  # nothing live before the commit

    diff = plan_diff(session, plan)
    (row,) = [a for a in diff["areas"] if a["code"] == code]
    assert row["change"] == "reshaped" and row["area_m2_change"] > 0 and row["layer"] == "compound"
    assert row["open_tickets_arriving"] >= 1 and diff["totals"]["compounds_changed"] == 1
    drawn = plan_diff_map(session, plan.id).areas["features"]  # the diff map shows old and new outline
    assert {(f["properties"]["code"], f["properties"]["side"]) for f in drawn} == {(code, "live"), (code, "draft")}

    committed = commit_plan(session, plan.id, message="小区扩建", rules=LOOSE)
    assert committed["compounds"]["change"] == [code]
    row = session.execute(
        text("SELECT name, ST_AsBinary(geom) AS g, cell_code FROM compounds WHERE code = :c"), {"c": code}
    ).one()
    assert row.name == "改造后的小区" and row.cell_code == cell
    assert shapely.hausdorff_distance(shapely.from_wkb(bytes(row.g)), grown) < 1e-9
    anchored = dict(
        session.execute(text("SELECT id, compound_code FROM tickets WHERE id = ANY(:ids)"), {"ids": ids}).all()
    )
    assert anchored == {ids[0]: code, ids[1]: None}  # the open ticket follows, the closed one keeps its record
    assert committed["moved"]["tickets.compound_code"]["count"] >= 1
    old = session.execute(
        text("SELECT ST_AsBinary(old_geom) FROM plan_areas WHERE plan_id = :p AND code = :c"), {"p": plan.id, "c": code}
    ).scalar_one()
    assert shapely.equals(shapely.from_wkb(bytes(old)), geom)  # the replaced boundary is kept with the plan


def test_new_compound_gets_its_community_and_cell(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    code = sorted(cells.geoms)[3]
    spot = _free_point(session, cells.geoms[code])
    small = box(spot.x - 0.00005, spot.y - 0.00005, spot.x + 0.00005, spot.y + 0.00005).intersection(cells.geoms[code])
    put_features(session, plan, "compound", [FeatureInput("NEW-0001", small, "新建小区", attributes={"kind": "open"})])
    drafted = session.query(PlanArea).filter_by(plan_id=plan.id, code="NEW-0001").one()
    assert drafted.community_code == COMMUNITY and drafted.action == "add"  # found from the geometry
    commit_plan(session, plan.id, message="新建小区", rules=LOOSE)
    row = session.execute(
        text(
            "SELECT x.kind, x.cell_code, a.code AS community FROM compounds x JOIN admin_areas a "
            "ON a.id = x.community_id WHERE x.code = 'NEW-0001'"
        )
    ).one()
    assert (row.kind, row.cell_code, row.community) == ("open", code, COMMUNITY)


def test_compound_with_buildings_cannot_be_removed_and_communities_never(session: Session, plan: BoundaryPlan) -> None:
    code, _, _ = _compound(session)
    remove_feature(session, plan, "compound", code)
    found = validate_plan(session, plan, LOOSE)
    errors = [f["properties"] for f in found["features"] if f["properties"]["kind"] == "compound_has_buildings"]
    assert errors and errors[0]["compound"] == code and errors[0]["severity"] == "error"
    with pytest.raises(InvalidGeometry):
        commit_plan(session, plan.id, message="撤销小区", rules=LOOSE)
    assert session.execute(text("SELECT count(*) FROM compounds WHERE code = :c"), {"c": code}).scalar() == 1
    with pytest.raises(InvalidInput, match="cannot be removed"):
        remove_feature(session, plan, "community", COMMUNITY)


def _neighbour_cell(session: Session, a: str, b: str) -> tuple[str, BaseGeometry]:
    """A live cell of community `a` sharing a long edge with community `b`."""
    code, wkb = session.execute(
        text(
            """
            SELECT c.code, ST_AsBinary(c.geom) FROM grid_cells c
            JOIN admin_areas ca ON ca.id = c.community_id, admin_areas nb
            WHERE ca.code = :a AND nb.code = :b AND c.valid_to IS NULL
            ORDER BY ST_Length(ST_Intersection(ST_Boundary(c.geom), ST_Boundary(nb.geom))) DESC, c.code LIMIT 1
            """
        ),
        {"a": a, "b": b},
    ).one()
    return code, shapely.from_wkb(bytes(wkb))


def test_cell_moved_to_another_community_takes_its_tickets(session: Session, plan: BoundaryPlan) -> None:
    a, b = COMMUNITY, "370102010002"
    moved, moved_geom = _neighbour_cell(session, a, b)
    geom_a = _geom(session, "SELECT ST_AsBinary(geom) FROM admin_areas WHERE code = :c", c=a)
    geom_b = _geom(session, "SELECT ST_AsBinary(geom) FROM admin_areas WHERE code = :c", c=b)
    ids = _place_tickets(session, shapely.point_on_surface(moved_geom), ["dispatched", "closed"])
    session.execute(
        text("UPDATE tickets SET cell_code = :c, community_code = :a WHERE id = ANY(:ids)"),
        {"c": moved, "a": a, "ids": ids},
    )
    put_features(
        session,
        plan,
        "community",
        [FeatureInput(a, shapely.difference(geom_a, moved_geom)), FeatureInput(b, shapely.union(geom_b, moved_geom))],
    )
    remove_feature(session, plan, "cell", moved)
    (new_code,) = next_codes(session, plan, b, 1)
    put_features(session, plan, "cell", [FeatureInput(new_code, moved_geom, name="划入的网格")])

    found = validate_plan(session, plan, LOOSE)
    assert found["summary"]["ok"], [f["properties"]["message"] for f in found["features"]]
    report = commit_plan(session, plan.id, message="网格划归相邻社区", rules=LOOSE)
    assert report["communities_redrawn"]["change"] == [a, b]
    assert report["removed"] == [moved] and report["added"] == [new_code]
    rows = {
        r.id: (r.cell_code, r.community_code)
        for r in session.execute(
            text("SELECT id, cell_code, community_code FROM tickets WHERE id = ANY(:ids)"), {"ids": ids}
        )
    }
    assert rows == {ids[0]: (new_code, b), ids[1]: (moved, a)}
    live_a = _geom(session, "SELECT ST_AsBinary(geom) FROM admin_areas WHERE code = :c", c=a)
    assert abs(live_a.area - shapely.difference(geom_a, moved_geom).area) < 1e-12


def test_community_overlap_and_uncovered_ground_are_errors_at_the_right_place(
    session: Session, plan: BoundaryPlan
) -> None:
    geom_a = _geom(session, "SELECT ST_AsBinary(geom) FROM admin_areas WHERE code = :c", c=COMMUNITY)
    put_features(session, plan, "community", [AREA := FeatureInput(COMMUNITY, shapely.buffer(geom_a, 0.0005))])
    found = validate_plan(session, plan, LOOSE)
    kinds = found["summary"]["by_kind"]
    assert not found["summary"]["ok"] and kinds.get("community_overlap") and kinds.get("gap")
    overlap = next(f for f in found["features"] if f["properties"]["kind"] == "community_overlap")
    assert overlap["properties"]["area_m2"] > 1000 and COMMUNITY in overlap["properties"]["communities"]
    ring = shapely.difference(AREA.geom, geom_a)
    assert shapely.distance(ring, shapely.geometry.Point(overlap["properties"]["location"])) < 1e-6


def test_compound_changed_since_it_entered_the_plan_conflicts(session: Session, plan: BoundaryPlan) -> None:
    code, geom, _ = _compound(session)
    put_features(session, plan, "compound", [FeatureInput(code, geom, name="新名字")])
    session.execute(text("UPDATE compounds SET name = name || '（已改）' WHERE code = :c"), {"c": code})
    with pytest.raises(Conflict, match=code):
        commit_plan(session, plan.id, message="stale", rules=LOOSE)


def test_attribute_tables_update_households_without_geometry(
    session: Session, plan: BoundaryPlan, cells: LiveCells
) -> None:
    first, second = sorted(cells.geoms)[:2]
    csv = f"网格编码,户数\n{first},321\n{second},250\n".encode()
    report = import_file(session, plan.id, csv, "households.csv")
    assert report["attributes_only"] and sorted(report["changed"]) == sorted([first, second])
    assert any("attributes" in w for w in report["warnings"])  # replace became merge: nothing removed
    assert report["removed"] == []
    row = session.execute(
        text("SELECT households, ST_AsBinary(geom) FROM plan_features WHERE plan_id = :p AND code = :c"),
        {"p": plan.id, "c": first},
    ).one()
    assert row[0] == 321 and shapely.equals(shapely.from_wkb(bytes(row[1])), cells.geoms[first])

    buf = io.BytesIO()
    pd.DataFrame({"小区编码": [_compound(session)[0]], "户数": [88]}).to_excel(buf, index=False)
    report = import_file(session, plan.id, buf.getvalue(), "compounds.xlsx", layer="compound")
    assert report["format"] == "xlsx" and report["changed"] == [_compound(session)[0]]

    with pytest.raises(InvalidInput, match="not found") as err:
        import_file(session, plan.id, f"网格编码,户数\n{COMMUNITY}999,10\n".encode(), "x.csv")
    assert f"{COMMUNITY}999" in err.value.message
    with pytest.raises(InvalidInput, match=r"#1.*households"):
        import_file(session, plan.id, f"网格编码,户数\n{first},很多\n".encode(), "x.csv")


def test_import_reports_progress_to_the_end(session: Session, plan: BoundaryPlan, cells: LiveCells) -> None:
    seen: list[tuple[str, int, int]] = []
    rows = [{"code": c, "geom": g} for c, g in sorted(cells.geoms.items())]
    import_file(session, plan.id, write_layer(rows, "geojson"), "c.geojson", progress=lambda *a: seen.append(tuple(a)))
    stages = [s for s, _, _ in seen]
    for stage in ("reading", "checking", "writing", "done"):
        assert stage in stages
    assert stages.index("reading") < stages.index("checking") < stages.index("writing") < stages.index("done")
    assert seen[-1] == ("done", len(rows), len(rows))
    writing = [(d, t) for s, d, t in seen if s == "writing"]
    assert writing[-1] == (len(rows), len(rows)) and all(d <= t for d, t in writing)


def test_invalid_compound_is_reported_and_repaired(session: Session, plan: BoundaryPlan) -> None:
    from gis.plans.ops import repair

    code, geom, _ = _compound(session)
    x0, y0, x1, y1 = geom.bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])  # self-intersecting
    put_features(session, plan, "compound", [FeatureInput(code, bowtie)])
    found = validate_plan(session, plan, LOOSE)
    invalid = [f["properties"] for f in found["features"] if f["properties"]["kind"] == "invalid_geometry"]
    assert invalid and code in invalid[0]["message"] and "Self-intersection" in invalid[0]["reason"]
    assert shapely.geometry.Point(invalid[0]["location"]).distance(shapely.centroid(bowtie)) < 1e-6
    fixed = repair(session, plan.id)
    assert [(f["layer"], f["code"]) for f in fixed["repaired"]] == [("compound", code)]
    again = validate_plan(session, plan, LOOSE)
    assert "invalid_geometry" not in again["summary"]["by_kind"]


def test_a_cut_small_compound_is_flagged_a_big_one_is_expected(session: Session, plan: BoundaryPlan) -> None:
    from gis.plans import ops

    flagged = {}
    for size in ("x.households <= 250", "x.households > 400"):
        code, cell, wkb = session.execute(
            text(
                "SELECT x.code, x.cell_code, ST_AsBinary(x.geom) FROM compounds x JOIN admin_areas a "
                f"ON a.id = x.community_id WHERE a.code = :c AND {size} ORDER BY x.code LIMIT 1"
            ),
            {"c": COMMUNITY},
        ).one()
        centre = shapely.centroid(shapely.from_wkb(bytes(wkb)))
        line = {"type": "LineString", "coordinates": [[centre.x, centre.y - 0.05], [centre.x, centre.y + 0.05]]}
        ops.split_by_line(session, plan.id, cell, line)  # an edge right through the compound
        flagged[size] = code
    found = validate_plan(session, plan, Rules(households_min=None, households_max=300))
    straddles = {
        f["properties"]["compound"]: f["properties"]
        for f in found["features"]
        if f["properties"]["kind"] == "compound_straddles"
    }
    small, big = flagged["x.households <= 250"], flagged["x.households > 400"]
    assert small in straddles and not straddles[small].get("expected")
    assert big in straddles and straddles[big]["expected"] and "expected" in straddles[big]["message"]
