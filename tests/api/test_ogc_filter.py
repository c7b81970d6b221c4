"""CQL2 filters on the OGC API items (OGC API – Features Part 3), as a client sees them: every operator gives
the features that the unfiltered page, filtered in Python, gives; jurisdiction holds whatever the filter says;
hidden fields cannot be filtered on; injection attempts are plain values or 400s; every bad input is a 400 that
says what is wrong, where and how to fix it; queryables and conformance say what is supported."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, Polygon, box, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.models import GridCell

Maker = Callable[..., tuple[Any, dict[str, str]]]
Feature = dict[str, Any]


def _all(client: TestClient, name: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    page = client.get(f"/ogc/collections/{name}/items", params={"limit": 10000, **params}, headers=headers)
    assert page.status_code == 200, page.text
    body: dict[str, Any] = page.json()
    return body


def _ids(features: list[Feature]) -> set[str]:
    return {f["id"] for f in features}


def _check(client: TestClient, name: str, headers: dict[str, str], cql: str, keep: Callable[[Feature], bool]) -> int:
    everything = _all(client, name, headers)["features"]
    expected = {f["id"] for f in everything if keep(f)}
    page = _all(client, name, headers, filter=cql)
    assert _ids(page["features"]) == expected, cql
    assert page["numberMatched"] == page["numberReturned"] == len(expected), cql
    return len(expected)


@pytest.fixture()
def admin(make_user: Maker) -> dict[str, str]:
    return make_user("admin")[1]


def test_each_operator_on_cells(client: TestClient, session: Session, admin: dict[str, str]) -> None:
    cells = _all(client, "cells", admin)["features"]
    assert len(cells) == session.scalar(select(func.count()).where(GridCell.valid_to.is_(None)))
    p: Callable[[Feature], dict[str, Any]] = lambda f: f["properties"]  # noqa: E731
    mid = sorted(p(f)["households"] for f in cells)[len(cells) // 2]
    low, high = sorted(p(f)["households"] for f in cells)[len(cells) // 4], mid + 50
    some = sorted(f["id"] for f in cells)[:3]
    community = p(cells[0])["community_code"]
    letter = "山"  # in some cell names (燕翅山社区第1网格)
    counts = {
        f"households = {mid}": _check(
            client, "cells", admin, f"households = {mid}", lambda f: p(f)["households"] == mid
        ),
        "<>": _check(client, "cells", admin, f"households <> {mid}", lambda f: p(f)["households"] != mid),
        "<": _check(client, "cells", admin, f"households < {mid}", lambda f: p(f)["households"] < mid),
        "<=": _check(client, "cells", admin, f"households <= {mid}", lambda f: p(f)["households"] <= mid),
        ">": _check(client, "cells", admin, f"households > {mid}", lambda f: p(f)["households"] > mid),
        ">=": _check(client, "cells", admin, f"households >= {mid}", lambda f: p(f)["households"] >= mid),
        "text =": _check(client, "cells", admin, "cell_type = 'dedicated'", lambda f: p(f)["cell_type"] == "dedicated"),
        "LIKE": _check(client, "cells", admin, f"name LIKE '%{letter}%'", lambda f: letter in p(f)["name"]),
        "NOT LIKE": _check(client, "cells", admin, f"name NOT LIKE '%{letter}%'", lambda f: letter not in p(f)["name"]),
        "IN": _check(
            client, "cells", admin, f"code IN ('{some[0]}', '{some[1]}', '{some[2]}')", lambda f: f["id"] in some
        ),
        "NOT IN": _check(client, "cells", admin, f"NOT code IN ('{some[0]}')", lambda f: f["id"] != some[0]),
        "BETWEEN": _check(
            client, "cells", admin, f"households BETWEEN {low} AND {high}", lambda f: low <= p(f)["households"] <= high
        ),
        "NOT BETWEEN": _check(
            client,
            "cells",
            admin,
            f"households NOT BETWEEN {low} AND {high}",
            lambda f: not low <= p(f)["households"] <= high,
        ),
        "AND OR NOT ()": _check(
            client,
            "cells",
            admin,
            f"(cell_type = 'basic' OR households > {high}) AND NOT community_code = '{community}'",
            lambda f: (
                (p(f)["cell_type"] == "basic" or p(f)["households"] > high) and p(f)["community_code"] != community
            ),
        ),
        "CASEI": _check(
            client,
            "cells",
            admin,
            f"CASEI(code) = CASEI('{some[0].upper()}')",
            lambda f: f["id"].lower() == some[0].lower(),
        ),
    }
    # every operator selects something and leaves something out (the test data tells them apart)
    assert all(0 < n < len(cells) for n in counts.values()), [
        (k, n) for k, n in counts.items() if not 0 < n < len(cells)
    ]
    # property against property: more people than households everywhere
    assert _check(client, "cells", admin, "population > households", lambda f: p(f)["population"] > p(f)["households"])
    assert not _check(client, "cells", admin, "households >= population", lambda f: False)
    # the live cells all have an open end
    assert _check(client, "cells", admin, "valid_to IS NULL", lambda f: p(f)["valid_to"] is None) == len(cells)
    assert _check(client, "cells", admin, "valid_to IS NOT NULL", lambda f: p(f)["valid_to"] is not None) == 0


def test_spatial_filters_match_shapely(client: TestClient, admin: dict[str, str]) -> None:
    cells = _all(client, "cells", admin)["features"]
    inside = shape(cells[0]["geometry"]).representative_point()
    x1, y1, x2, y2 = shape(cells[0]["geometry"]).bounds
    square = box(x1, y1, (x1 + x2) / 2, (y1 + y2) / 2)
    triangle = Polygon([(x1, y1), (x2, y1), (x1, y2)])
    wkt = ", ".join(f"{x} {y}" for x, y in triangle.exterior.coords)
    n = _check(
        client,
        "cells",
        admin,
        f"S_INTERSECTS(geometry, POINT({inside.x} {inside.y}))",
        lambda f: shape(f["geometry"]).intersects(Point(inside.x, inside.y)),
    )
    assert n >= 1
    bbox = f"{square.bounds[0]},{square.bounds[1]},{square.bounds[2]},{square.bounds[3]}"
    by_filter = _all(client, "cells", admin, filter=f"S_INTERSECTS(geometry, BBOX({bbox}))")
    assert _ids(by_filter["features"]) == _ids(_all(client, "cells", admin, bbox=bbox)["features"])
    _check(
        client,
        "cells",
        admin,
        f"S_INTERSECTS(geometry, POLYGON(({wkt})))",
        lambda f: shape(f["geometry"]).intersects(triangle),
    )
    _check(
        client,
        "cells",
        admin,
        f"S_DISJOINT(geometry, POLYGON(({wkt})))",
        lambda f: shape(f["geometry"]).disjoint(triangle),
    )
    # filter-crs EPSG:4326 reads latitude first
    flipped = f"{square.bounds[1]},{square.bounds[0]},{square.bounds[3]},{square.bounds[2]}"
    crs = "http://www.opengis.net/def/crs/EPSG/0/4326"
    lat_first = _all(
        client, "cells", admin, **{"filter": f"S_INTERSECTS(geometry, BBOX({flipped}))", "filter-crs": crs}
    )
    assert _ids(lat_first["features"]) == _ids(by_filter["features"])


def test_ticket_dates_and_jurisdiction(client: TestClient, make_user: Maker, admin: dict[str, str]) -> None:
    tickets = _all(client, "tickets", admin)["features"]
    opened = sorted(datetime.fromisoformat(f["properties"]["opened_at"]) for f in tickets)
    mid = opened[len(opened) // 2]
    at = lambda f: datetime.fromisoformat(f["properties"]["opened_at"])  # noqa: E731
    stamp = mid.isoformat()
    _check(client, "tickets", admin, f"opened_at >= TIMESTAMP('{stamp}')", lambda f: at(f) >= mid)
    _check(client, "tickets", admin, f"T_AFTER(opened_at, TIMESTAMP('{stamp}'))", lambda f: at(f) > mid)
    _check(client, "tickets", admin, f"T_BEFORE(opened_at, TIMESTAMP('{stamp}'))", lambda f: at(f) < mid)
    _check(
        client,
        "tickets",
        admin,
        f"T_INTERSECTS(opened_at, INTERVAL('{opened[0].isoformat()}', '{stamp}'))",
        lambda f: opened[0] <= at(f) <= mid,
    )
    _check(
        client,
        "tickets",
        admin,
        "overdue = true AND state <> 'closed'",
        lambda f: f["properties"]["overdue"] and f["properties"]["state"] != "closed",
    )

    # a manager reaches only their community's tickets, whatever the filter says
    community = tickets[0]["properties"]["community_code"]
    _, manager = make_user("manager", jurisdiction=[community])
    theirs = _ids(_all(client, "tickets", manager)["features"])
    assert 0 < len(theirs) < len(tickets)
    for cql in (
        "1 = 1",
        "community_code <> 'x' OR 1 = 1",
        f"community_code <> '{community}' OR state IS NOT NULL",
        "'1' = '1' OR community_code IS NULL",
        "NOT (community_code = 'x' AND 1 = 2)",
    ):
        page = _all(client, "tickets", manager, filter=cql)
        assert _ids(page["features"]) <= theirs, cql
    assert _all(client, "tickets", manager, filter=f"community_code <> '{community}'")["numberReturned"] == 0


def test_filter_with_paging_bbox_datetime_and_html(client: TestClient, admin: dict[str, str]) -> None:
    cql = "cell_type = 'basic'"
    expected = _ids(_all(client, "cells", admin, filter=cql)["features"])
    seen: set[str] = set()
    url: str | None = f"/ogc/collections/cells/items?limit=40&filter={cql}"
    while url:
        page = client.get(url, headers=admin).json()
        assert page["numberMatched"] == len(expected)
        seen |= _ids(page["features"])
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        assert url is None or "filter=cell_type" in url
    assert seen == expected
    bbox = "117.0,36.0,117.1,36.7"
    both = _all(client, "cells", admin, filter=cql, bbox=bbox)
    assert _ids(both["features"]) == expected & _ids(_all(client, "cells", admin, bbox=bbox)["features"])
    dated = _all(client, "cells", admin, filter=cql, datetime="2030-01-01T00:00:00Z")
    assert _ids(dated["features"]) == expected
    html = client.get("/ogc/collections/cells/items", params={"filter": cql, "f": "html", "limit": 5}, headers=admin)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    assert f"/ {len(expected)}" in html.text and "dedicated" not in html.text
    bad_html = client.get("/ogc/collections/cells/items", params={"filter": "x =", "f": "html"}, headers=admin)
    assert bad_html.status_code == 400


def test_hidden_fields_cannot_be_filtered(client: TestClient, make_user: Maker, admin: dict[str, str]) -> None:
    _, department = make_user("department")
    cql = "party_group_leader IS NOT NULL"
    assert client.get("/ogc/collections/buildings/items", params={"filter": cql}, headers=admin).status_code == 200
    refused = client.get("/ogc/collections/buildings/items", params={"filter": cql}, headers=department)
    assert refused.status_code == 400 and "party_group_leader" in refused.json()["message"]
    queryables = client.get("/ogc/collections/buildings/queryables", headers=department).json()["properties"]
    assert "party_group_leader" not in queryables and "households" in queryables
    assert (
        "party_group_leader" in client.get("/ogc/collections/buildings/queryables", headers=admin).json()["properties"]
    )


def test_injection_attempts_are_values_or_refused(client: TestClient, session: Session, admin: dict[str, str]) -> None:
    before = session.scalar(select(func.count()).select_from(GridCell))
    for cql in ("name = 'x''; DROP TABLE grid_cells; --'", "name LIKE '%'')--'"):
        page = client.get("/ogc/collections/cells/items", params={"filter": cql}, headers=admin)
        assert page.status_code == 200 and page.json()["numberReturned"] == 0, cql
    everything = _all(client, "cells", admin)["numberReturned"]
    assert _all(client, "cells", admin, filter="name = 'x' OR '1' = '1'")["numberReturned"] == everything
    for cql in (
        '"id; drop table" = 1',
        "households = 1; DROP TABLE grid_cells",
        "name = '\\'; select 1; --'",
        "geom IS NULL",
        "pg_sleep(5) = 1",
    ):
        refused = client.get("/ogc/collections/cells/items", params={"filter": cql}, headers=admin)
        assert refused.status_code == 400, cql
        assert refused.json()["error"] == "invalid_filter"
    assert session.scalar(select(func.count()).select_from(GridCell)) == before


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"filter": "households >= "}, "column 15"),  # syntax: where
        ({"filter": "households >> 3"}, "syntax"),
        ({"filter": "nonsense = 1"}, "no queryable property 'nonsense'"),
        ({"filter": "households = 'many'"}, "different types"),
        ({"filter": "name > 3"}, "different types"),
        ({"filter": "opened_at > TIMESTAMP('2026-01-01T00:00:00Z')"}, "no queryable property 'opened_at'"),
        ({"filter": "households + 1 = 2"}, "unsupported operator '+'"),
        ({"filter": "A_CONTAINS(code, ('a'))"}, "unsupported operator"),
        ({"filter": "households LIKE 3"}, "LIKE compares text"),
        ({"filter": "S_INTERSECTS(households, POINT(117 36))"}, "two geometries"),
        ({"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))"}, "invalid geometry"),
        ({"filter": "S_INTERSECTS(geometry, POINT(500 36))"}, "out of range"),
        ({"filter": "valid_from > TIMESTAMP('2026-13-45T00:00:00Z')"}, "timestamp"),
        ({"filter": "households = 1 AND " * 300 + "households = 1"}, "too long"),
        ({"filter": "(" * 30 + "households = 1" + ")" * 30}, "nested too deep"),
        ({"filter": "NOT " * 900 + "households = 1"}, "nested too deep"),
        ({"filter": "-" * 3000 + "1 = households"}, "nested too deep"),
        ({"filter": "code IN (" + ",".join(["'a'"] * 400) + ")"}, "too complex"),
        ({"filter": "households = 1", "filter-lang": "sql"}, "filter-lang"),
        ({"filter": "households = 1", "filter-crs": "EPSG:3857"}, "filter-crs"),
        ({"filter-lang": "ecql"}, "filter-lang"),
        ({"filter": "   "}, "empty"),
        ({"filter": "name = 'a\x00b'"}, "NUL"),
        ({"filter": "households = NULL"}, "IS NULL"),
        ({"filter": "households"}, "condition is expected"),
    ],
)
def test_bad_filters_are_400_with_what_where_and_how(
    client: TestClient, admin: dict[str, str], params: dict[str, str], says: str
) -> None:
    answer = client.get("/ogc/collections/cells/items", params=params, headers=admin)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "invalid_filter"
    assert says in body["message"], body["message"]
    assert "过滤条件有误" in body["message"] and "how to fix" in body["message"]


def test_cql2_json_and_every_collection(client: TestClient, admin: dict[str, str]) -> None:
    as_json = '{"op": "=", "args": [{"property": "cell_type"}, "dedicated"]}'
    page = _all(client, "cells", admin, **{"filter": as_json, "filter-lang": "cql2-json"})
    assert (
        page["numberReturned"] == _all(client, "cells", admin, filter="cell_type = 'dedicated'")["numberReturned"] > 0
    )
    for name in client.get("/ogc/collections").json()["collections"]:
        schema = client.get(f"/ogc/collections/{name['id']}/queryables", headers=admin)
        assert schema.status_code == 200 and schema.headers["content-type"] == "application/schema+json"
        props = schema.json()["properties"]
        assert props["geometry"]["format"].startswith("geometry-")
        field = next(k for k, v in props.items() if v.get("type") == "string" and k != "geometry")
        assert _all(client, name["id"], admin, filter=f"{field} IS NOT NULL OR {field} IS NULL")["numberReturned"] > 0
    resources = _all(client, "resources", {}, filter="type = 'party_service_center'")
    assert resources["numberReturned"] > 0


def test_conformance_and_queryables_say_what_is_supported(client: TestClient) -> None:
    conforms = client.get("/ogc/conformance").json()["conformsTo"]
    for cls in (
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/basic-cql2",
    ):
        assert any(c.endswith(cls) for c in conforms), cls
    one = client.get("/ogc/collections/cells").json()
    link = next(x for x in one["links"] if x["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables")
    schema = client.get(link["href"]).json()
    assert schema["properties"]["households"] == {"title": "households", "type": "integer"}
    assert schema["properties"]["valid_from"]["format"] == "date-time"
    assert schema["properties"]["geometry"]["format"] == "geometry-multipolygon"
    assert client.get("/ogc/collections/nope/queryables").status_code == 404
