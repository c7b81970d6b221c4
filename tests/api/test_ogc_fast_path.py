"""The OGC items fast path (`api.routers.ogc.items_fast`, through `api.fast_paths.FastPaths`) answers exactly as the `items` route: the same
status, headers and body byte for byte, for the requests it takes and for the ones it hands on to the route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.routers import ogc

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
    taken: list[bool] = []
    real = ogc._fast_args

    def spy(request: Any) -> Any:
        args = real(request)
        taken.append(args is not None)
        return args

    monkeypatch.setattr(ogc, "_fast_args", spy)
    quick = client.get(url, headers=headers)
    assert taken == ([] if fast is None else [fast])
    monkeypatch.setattr(ogc, "FAST_PATH", False)
    slow = client.get(url, headers=headers)
    assert taken == ([] if fast is None else [fast])  # the route alone
    assert _answer(quick) == _answer(slow)
    assert quick.status_code < 500
