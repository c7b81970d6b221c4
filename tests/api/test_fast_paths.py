"""The routes answered before FastAPI's router (`api.fast_paths`: OGC items, locate; the GPS batches in
tests/patrol/test_ingest.py) answer exactly as the declared routes: the same status, headers and body byte for
byte, for the requests they take and for the ones they hand on to the route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api import fast_paths
from api.routers import locate, ogc, tiles
from tests.api.test_ogc_tiles import tile_of

Maker = Callable[..., tuple[Any, dict[str, str]]]
VARYING = {"content-security-policy", "x-request-id"}  # a fresh nonce and id on every answer


def _answer(response: Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in VARYING)
    return response.status_code, headers, response.content


@pytest.mark.parametrize(
    ("url", "who", "fast"),
    [
        ("/ogc/collections/cells/items?limit=10", "admin", True),
        ("/ogc/collections/cells/items?limit=5&offset=5", "admin", True),
        ("/ogc/collections/cells/items?limit=3&bbox=117.0,36.6,117.1,36.7", "admin", True),
        ("/ogc/collections/cells/items?limit=3&datetime=2030-01-01T00:00:00Z", "admin", True),
        ("/ogc/collections/cells/items?limit=3&cell_type=basic", "admin", True),
        ("/ogc/collections/cells/items?limit=4&filter=households%20%3E%20500", "admin", True),
        ("/ogc/collections/cells/items?filter=nope%20%3D%201", "admin", True),  # 400 from the statement's build
        ("/ogc/collections/cells/items", None, True),  # 401 by the app's handler
        ("/ogc/collections/cells/items", "bad", True),
        ("/ogc/collections/tickets/items?limit=1000", "manager", True),
        ("/ogc/collections/compounds/items?limit=20", "department", True),  # contacts left out, no audit
        ("/ogc/collections/compounds/items?limit=20", "manager", True),  # contacts read: audited
        ("/ogc/collections/resources/items?limit=7&offset=7", None, True),
        ("/ogc/collections/resources/items?datetime=2020-01-01", None, True),  # 422: no datetime on resources
        # handed on to the route
        ("/ogc/collections/resources/items?limit=0", None, False),
        ("/ogc/collections/resources/items?limit=1000000", None, False),
        ("/ogc/collections/resources/items?limit=+5", None, False),
        ("/ogc/collections/resources/items?limit=5&limit=6", None, False),
        ("/ogc/collections/resources/items?f=html&limit=2", None, False),
        ("/ogc/collections/resources/items?bbox=1,2,3", None, False),
        ("/ogc/collections/resources/items?filter=x%20%3D", None, False),
        ("/ogc/collections/resources/items?filter-lang=sql", None, False),
        ("/ogc/collections/nope/items", None, None),  # not a collection: not looked at
        ("/ogc/collections/resources/items", "basic", False),
    ],
)
def test_fast_path_answers_as_the_route(
    client: TestClient, make_user: Maker, monkeypatch: pytest.MonkeyPatch, url: str, who: str | None, fast: bool | None
) -> None:
    headers: dict[str, str] = {}
    if who == "bad":
        headers = {"Authorization": "Bearer not-a-token"}
    elif who == "basic":
        headers = {"Authorization": "Basic dXNlcjpwYXNz"}
    elif who is not None:
        headers = make_user(who, jurisdiction=["370102010001"] if who == "manager" else None)[1]
    taken = _spy(monkeypatch, ogc)
    quick = client.get(url, headers=headers)
    assert taken == ([] if fast is None else [fast])
    monkeypatch.setattr(fast_paths, "ENABLED", False)
    slow = client.get(url, headers=headers)
    assert taken == ([] if fast is None else [fast])  # the route alone
    assert _answer(quick) == _answer(slow)
    assert quick.status_code < 500


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[bool]:
    """Records whether each request was taken by the module's fast route (its `_fast_args` gave arguments)."""
    taken: list[bool] = []
    real = module._fast_args

    def spy(*given: Any) -> Any:
        args = real(*given)
        taken.append(args is not None)
        return args

    monkeypatch.setattr(module, "_fast_args", spy)
    return taken


@pytest.mark.parametrize(
    ("query", "fast", "status"),
    [
        ("lon=117.05&lat=36.67", True, 200),  # inside the demo 街道
        ("lon=117.05&lat=36.67&per_type=3", True, 200),
        ("lon=117.0562&lat=36.6714&crs=gcj02", True, 200),
        ("lon=10&lat=10", True, 404),  # outside every cell: by the app's handler
        ("lon=117.05&lat=36.67&at=2020-01-01", False, 404),  # handed on to the route (before the demo existed)
        ("lon=117.05&lat=36.67&per_type=11", False, 422),
        ("lon=200&lat=36.67", False, 422),
        ("lon=1e2&lat=36.67", False, 404),
        ("lon=117.05&lat=36.67&lat=36.66", False, 200),
        ("lon=117.05&lat=36.67&crs=EPSG:4490", False, 422),
        ("lon=abc&lat=36.67", False, 422),
        ("lat=36.67", False, 422),
    ],
)
def test_locate_fast_route_answers_as_the_route(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, query: str, fast: bool, status: int
) -> None:
    taken = _spy(monkeypatch, locate)
    quick = client.get(f"/v1/locate?{query}")
    assert (taken, quick.status_code) == ([fast], status), quick.text[:200]
    monkeypatch.setattr(fast_paths, "ENABLED", False)
    slow = client.get(f"/v1/locate?{query}")
    assert taken == [fast]  # the route alone
    assert _answer(quick) == _answer(slow)
    assert quick.status_code < 500


X, Y = tile_of(117.05, 36.67, 14)  # a tile of the demo 街道


@pytest.mark.parametrize(
    ("path", "who", "fast", "status"),
    [
        (f"/tiles/cells/14/{X}/{Y}.pbf", None, True, 200),  # public fields
        (f"/tiles/cells/14/{X}/{Y}.pbf", "admin", True, 200),
        (f"/tiles/tickets/14/{X}/{Y}.pbf", "admin", True, 200),
        (f"/tiles/tickets/14/{X}/{Y}.pbf", "manager", True, 200),
        (f"/tiles/tickets/14/{X}/{Y}.pbf", None, True, 401),  # by the app's handler
        (f"/tiles/tickets/14/{X}/{Y}.pbf", "bad", True, 401),
        ("/tiles/cells/5/1/1.pbf", None, True, 422),  # below the layer's zoom
        ("/tiles/cells/3/9/1.pbf", None, True, 422),  # no such tile
        (f"/tiles/tickets/14/{X}/{Y}.pbf?state=dispatched", "admin", False, 200),  # filters: the route
        (f"/tiles/tickets/14/{X}/{Y}.pbf?state=nope", "admin", False, 422),
        (f"/tiles/cells/14/{X}/{Y}.pbf", "basic", False, 200),
        ("/tiles/nope/14/1/1.pbf", None, False, 404),
        ("/tiles/patrol_fixes/14/1/1.pbf", "admin", False, 422),  # its own route (a date is needed)
    ],
)
def test_tile_fast_route_answers_as_the_route(
    client: TestClient, make_user: Maker, monkeypatch: pytest.MonkeyPatch, path: str, who: str | None, fast: bool,
    status: int,
) -> None:  # fmt: skip
    headers: dict[str, str] = {}
    if who == "bad":
        headers = {"Authorization": "Bearer not-a-token"}
    elif who == "basic":
        headers = {"Authorization": "Basic dXNlcjpwYXNz"}
    elif who is not None:
        headers = make_user(who, jurisdiction=["370102010001"] if who == "manager" else None)[1]
    taken = _spy(monkeypatch, tiles)
    quick = client.get(path, headers=headers)
    assert (taken, quick.status_code) == ([fast], status)
    monkeypatch.setattr(fast_paths, "ENABLED", False)
    slow = client.get(path, headers=headers)
    assert _answer(quick) == _answer(slow)
