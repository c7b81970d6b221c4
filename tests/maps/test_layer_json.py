"""The operations map's data endpoints answer from one statement each whose JSON PostgreSQL makes
(gis.mapdata.layers): the same features, properties, classes and `truncated` flag as the dict-building layer
functions projected in Python (maps.basemaps.project_features), for an admin, the manager of one community and
a grid worker, on a WGS84 and a GCJ-02 basemap, with filters; bad bbox / zoom / crs are a JSON 4xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.crs import to_wgs84
from gis.features import layer_access
from gis.mapdata import TicketFilters, cell_metric_features, resource_points, ticket_heat, ticket_points, ticket_scope
from gis.models import AdminArea, GridCell, User
from gis.tickets.models import Ticket
from maps.basemaps import project_features, projection_for
from tests.maps.test_ticket_layers import bbox_param, busiest_cell

Maker = Callable[..., tuple[User, dict[str, str]]]
ZOOM = 16.0


def _metres_per_pixel(zoom: float) -> float:
    return 40_075_016.0 / 256.0 / 2**zoom


def close(a: Any, b: Any, path: str = "", tol: float = 2e-7) -> None:
    """Equal JSON, numbers within `tol` (7-decimal GeoJSON shifted in SQL or in Python)."""
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
        if isinstance(a, dict) and isinstance(b, dict):
            assert a.keys() == b.keys(), (path, a.keys() ^ b.keys())
            for k in a:
                close(a[k], b[k], f"{path}/{k}", tol)
        elif isinstance(a, list) and isinstance(b, list):
            assert len(a) == len(b), (path, len(a), len(b))
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                close(x, y, f"{path}[{i}]", tol)
        else:
            assert a == b, (path, a, b)
        return
    assert abs(a - b) <= tol, (path, a, b)


def _users(session: Session, make_user: Maker) -> dict[str, tuple[User, dict[str, str]]]:
    cell = busiest_cell(session)
    community = session.scalar(
        select(AdminArea.code).join(GridCell, GridCell.community_id == AdminArea.id).where(GridCell.code == cell)
    )
    return {
        "admin": make_user("admin"),
        "manager": make_user("manager", jurisdiction=[community]),
        "grid_worker": make_user("grid_worker", jurisdiction=[cell]),
    }


def _wgs84_bbox(bbox: str, crs: str) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in bbox.split(","))
    if crs == "gcj02":
        x1, y1 = to_wgs84(x1, y1, "gcj02")
        x2, y2 = to_wgs84(x2, y2, "gcj02")
    return (x1, y1, x2, y2)


def _as_json(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


@pytest.mark.parametrize("crs", ["wgs84", "gcj02"])
@pytest.mark.parametrize("role", ["admin", "manager", "grid_worker"])
def test_layers_answer_as_the_python_layers_did(
    client: TestClient, session: Session, make_user: Maker, role: str, crs: str
) -> None:
    user, headers = _users(session, make_user)[role]
    bbox = bbox_param(session)
    box = _wgs84_bbox(bbox, crs)
    project = projection_for(crs)
    for filters in ({}, {"state": "open"}, {"category": "garbage,noise", "state": "overdue,closed"}):
        scope = ticket_scope(session, user, TicketFilters(**_filter_args(filters)))
        params = {"bbox": bbox, "crs": crs, "zoom": ZOOM, **filters}

        r = client.get("/maps/data/tickets.geojson", params=params, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        expected = project_features(ticket_points(session, bbox=box, scope=scope), project)
        close(r.json(), _as_json(expected))

        r = client.get("/maps/data/ticket_heat.json", params=params, headers=headers)
        grid = ticket_heat(session, bbox=box, scope=scope, grid_m=_metres_per_pixel(ZOOM) * 8)
        heat = [[*reversed(project(p[1], p[0])), p[2]] for p in grid]
        close(sorted(r.json()), sorted(heat), tol=1e-6)

        for metric in ("households", "open_tickets", "overdue_tickets"):
            r = client.get("/maps/data/cells.geojson", params={**params, "metric": metric}, headers=headers)
            assert r.status_code == 200, r.text
            fc = cell_metric_features(
                session,
                bbox=box,
                metric=metric,
                scope=layer_access(session, "cells", user).where,
                tickets=scope,
                simplify_m=_metres_per_pixel(ZOOM) / 2,
            )
            close(r.json(), _as_json(project_features(fc, project)))

    r = client.get("/maps/data/resources.geojson", params={"bbox": bbox, "crs": crs}, headers=headers)
    close(r.json(), _as_json(project_features(resource_points(session, bbox=box, types=[]), project)))
    r = client.get("/maps/data/resources.geojson", params={"bbox": bbox, "crs": crs, "type": "elderly_care,repair"})
    only = r.json()["features"]
    assert only and {f["properties"]["type"] for f in only} <= {"elderly_care", "repair"}
    some = resource_points(session, bbox=box, types=["elderly_care", "repair"])
    close(r.json(), _as_json(project_features(some, project)))


def _filter_args(params: dict[str, str]) -> dict[str, Any]:
    return {
        "categories": tuple(sorted(params.get("category", "").split(","))) if "category" in params else (),
        "states": tuple(sorted(params.get("state", "").split(","))) if "state" in params else (),
    }


def test_a_grid_worker_sees_their_cell_only(client: TestClient, session: Session, make_user: Maker) -> None:
    _, headers = _users(session, make_user)["grid_worker"]
    cell = busiest_cell(session)
    params = {"bbox": bbox_param(session), "crs": "gcj02"}
    tickets = client.get("/maps/data/tickets.geojson", params=params, headers=headers).json()
    in_cell = session.scalar(select(func.count()).where(Ticket.cell_code == cell))
    assert len(tickets["features"]) == in_cell and tickets["truncated"] is False
    cells = client.get("/maps/data/cells.geojson", params={**params, "metric": "open_tickets"}, headers=headers)
    assert [f["properties"]["code"] for f in cells.json()["features"]] == [cell]
    _, stranger = make_user("grid_worker", jurisdiction=["000000000000001"])
    for url in ("tickets.geojson", "cells.geojson"):
        empty = client.get(f"/maps/data/{url}", params=params, headers=stranger).json()
        assert empty["features"] == [] and empty["truncated"] is False
    assert client.get("/maps/data/ticket_heat.json", params=params, headers=stranger).json() == []


def test_caps_set_truncated(session: Session, make_user: Maker) -> None:
    """The caps are those of the Python layers: one row more than the cap is `truncated`."""
    from gis.mapdata.layers import cell_metric_json, resource_points_json, ticket_points_json

    user, _ = make_user("admin")
    box = _wgs84_bbox(bbox_param(session), "wgs84")
    scope = ticket_scope(session, user, TicketFilters())
    n_tickets = len(ticket_points(session, bbox=box, scope=scope)["features"])
    few = orjson.loads(ticket_points_json(session, bbox=box, scope=scope, limit=n_tickets - 1))
    assert few["truncated"] is True and len(few["features"]) == n_tickets - 1
    exact = orjson.loads(ticket_points_json(session, bbox=box, scope=scope, limit=n_tickets))
    assert exact["truncated"] is False and len(exact["features"]) == n_tickets
    cells = orjson.loads(cell_metric_json(session, bbox=box, metric="households", scope=None, limit=3))
    assert cells["truncated"] is True and len(cells["features"]) == 3
    res = orjson.loads(resource_points_json(session, bbox=box, types=[], limit=2))
    assert res["truncated"] is True and len(res["features"]) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "117.1,36.7,117.0,36.6"},
        {"bbox": "a,b,c,d"},
        {"bbox": "116.9,36.6,117.2,36.8", "zoom": "30"},
        {"bbox": "116.9,36.6,117.2,36.8", "zoom": "-1"},
        {"bbox": "116.9,36.6,117.2,36.8", "crs": "bd09"},
        {"bbox": "116.9,36.6,117.2,36.8", "metric": "spaceships"},
        {"bbox": "116.9,36.6,117.2,36.8", "type": "spaceships"},
    ],
)
def test_bad_bbox_zoom_crs_are_json_422(client: TestClient, make_user: Maker, params: dict[str, str]) -> None:
    _, admin = make_user("admin")
    for url in ("cells.geojson", "tickets.geojson", "ticket_heat.json", "resources.geojson"):
        if ("metric" in params and url != "cells.geojson") or ("type" in params and url != "resources.geojson"):
            continue
        r = client.get(f"/maps/data/{url}", params=params, headers=admin)
        assert r.status_code == 422, (url, params, r.text)
        assert r.headers["content-type"].startswith("application/json")
