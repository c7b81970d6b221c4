"""The demo 街道 generator: deterministic, realistic proportions, an exact coverage of cells."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import shapely

from data.demo import DemoData, generate_demo
from gis.resources import RESOURCE_TYPES


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(scale=1, seed=42)


def test_same_seed_same_data_other_seed_other_data(demo: DemoData) -> None:
    again = generate_demo(scale=1, seed=42)
    assert [c["geom"].wkb for c in again.cells] == [c["geom"].wkb for c in demo.cells]
    assert [c["name"] for c in again.compounds] == [c["name"] for c in demo.compounds]
    other = generate_demo(scale=1, seed=43)
    assert [c["name"] for c in other.compounds] != [c["name"] for c in demo.compounds]


def test_sizes_and_proportions_look_like_a_real_subdistrict(demo: DemoData) -> None:
    communities = [a for a in demo.areas if a["level"] == "community"]
    assert len(communities) == 8
    assert 300 <= len(demo.cells) <= 360
    assert 450 <= len(demo.compounds) <= 560
    kinds = Counter(c["kind"] for c in demo.compounds)
    assert 4 <= kinds["closed"] / kinds["open"] <= 6.5
    assert all(c["property_company"] for c in demo.compounds if c["kind"] == "closed")


def test_cell_codes_are_15_digits_under_their_community(demo: DemoData) -> None:
    codes = [c["code"] for c in demo.cells]
    assert len(set(codes)) == len(codes)
    for c in demo.cells:
        assert len(c["code"]) == 15 and c["code"].isdigit()
        assert c["code"].startswith(c["community"])


def test_cells_tile_each_community_exactly(demo: DemoData) -> None:
    by_community = defaultdict(list)
    for c in demo.cells:
        by_community[c["community"]].append(c["geom"])
    polygons = {a["code"]: a["geom"] for a in demo.areas if a["level"] == "community"}
    for code, cells in by_community.items():
        assert shapely.coverage_is_valid(cells), code
        assert shapely.union_all(cells).symmetric_difference(polygons[code]).area < 1e-12, code
    everything = [c["geom"] for c in demo.cells]
    assert shapely.coverage_is_valid(everything)


def test_compounds_and_buildings_nest(demo: DemoData) -> None:
    cells = {c["code"]: c["geom"] for c in demo.cells}
    tree = shapely.STRtree(list(cells.values()))
    codes = list(cells)
    compounds = {c["code"]: c for c in demo.compounds}
    users = {u["username"]: u for u in demo.users}
    workers = defaultdict(set)
    for s in demo.staff:
        if s["duty"] == "worker":
            workers[s["cell_code"]].add((users[s["username"]]["full_name"], users[s["username"]]["phone"]))
    for c in demo.compounds:
        holders = [codes[i] for i in tree.query(c["geom"], predicate="within")]
        assert holders == [c["cell_code"]], c["code"]
        assert {k["duty"] for k in c["contacts"]} == {"secretary", "liaison_worker", "property_steward", "police"}
        liaison = next(k for k in c["contacts"] if k["duty"] == "liaison_worker")
        assert (liaison["name"], liaison["phone"]) in workers[c["cell_code"]], "the 包联社区工作者 works this cell"
    for b in demo.buildings:
        assert b["geom"].within(compounds[b["compound"]]["geom"]), b["code"]
    total = sum(b["households"] for b in demo.buildings)
    assert total == sum(c["households"] for c in demo.cells)


def test_every_resource_type_is_present_with_hours(demo: DemoData) -> None:
    types = Counter(r["type"] for r in demo.resources)
    assert set(types) == set(RESOURCE_TYPES)
    assert types["party_service_center"] == 8
    for r in demo.resources:
        assert r["hours"] and r["opening_hours"] and r["cell_code"]


def test_streets_form_a_connected_graph(demo: DemoData) -> None:
    nodes = {s["source"] for s in demo.streets} | {s["target"] for s in demo.streets}
    parent = {n: n for n in nodes}

    def find(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for s in demo.streets:
        parent[find(s["source"])] = find(s["target"])
        assert 50 < s["length_m"] < 300
    assert len({find(n) for n in nodes}) == 1


def test_scale_two_doubles_the_communities() -> None:
    big = generate_demo(scale=2, seed=42)
    assert sum(a["level"] == "community" for a in big.areas) == 16
    assert len(big.cells) == 2 * 336
