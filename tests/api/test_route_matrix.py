"""Every route × every role, against an expected outcome: a new route without an entry here fails.

Outcomes: OK (2xx), F (2xx, the answer filtered to the caller's jurisdiction: what is filtered is tested in
tests/api/test_access.py and tests/tickets/test_access_rules.py), GATE (past the role and jurisdiction
checks: the deliberately incomplete body then gets a 4xx other than 401/403/404, never a 5xx), or a status
(401 no token, 403 wrong role, 404 absent or not yours). One real request per route × role, through the
TestClient, as real users over the demo data; each case is rolled back.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from api.app import create_app
from gis.auth import create_user, login
from gis.models import ApiToken, Building, Compound, Organization, User
from gis.plans.catalog import create_plan
from gis.plans.draft import ensure_base
from gis.plans.models import BoundaryPlan
from gis.settings import Settings
from gis.tickets.models import Ticket
from tests.api import matrix
from tests.api.matrix import (
    ABSENT,
    ACCEPT,
    ADMIN,
    BAD,
    BBOX,
    COMMUNITY,
    EMPTY_FILE,
    GATE,
    IN_ALL_SCOPES,
    NOT_PROPERTY,
    OK,
    PLAN_READ,
    PLAN_READ_GATE,
    PLAN_WRITE,
    PLAN_WRITE_GATE,
    PUBLIC,
    PUBLIC_GATE,
    ROLES,
    SCOPED,
    TICKET,
    TICKET_GATE,
    TILE,
    TOKEN,
    Entry,
    F,
)

# "METHOD path template" -> (url with {placeholders}, request keywords, expected outcome per role)
MATRIX: dict[str, Entry] = {
    "GET /health": ("/health", {}, PUBLIC),
    "POST /v1/auth/login": ("/v1/auth/login", BAD, PUBLIC_GATE),
    "POST /v1/auth/token": ("/v1/auth/token", {"data": {}}, PUBLIC_GATE),
    "GET /v1/avatars/{name}.svg": ("/v1/avatars/张三.svg", {}, PUBLIC),
    "GET /v1/auth/me": ("/v1/auth/me", {}, TOKEN),
    "POST /v1/auth/logout": ("/v1/auth/logout", {}, TOKEN),
    "POST /v1/auth/password": ("/v1/auth/password", BAD, (GATE, GATE, GATE, GATE, GATE, GATE, GATE, 401)),
    # account routes (/v1/users…) are in tests/api/matrix/reference.py (admins and managers manage accounts)
    "GET /v1/audit/personal-data-reads": ("/v1/audit/personal-data-reads", {}, ADMIN),
    "GET /v1/locate": ("/v1/locate", {"params": {"lon": 117.05, "lat": 36.67}}, PUBLIC),
    "GET /v1/communities": ("/v1/communities", {}, SCOPED),
    "GET /v1/communities/{code}": ("/v1/communities/{community}", {}, NOT_PROPERTY),
    "GET /v1/cells": ("/v1/cells", {}, SCOPED),
    "GET /v1/cells/{code}": ("/v1/cells/{cell}", {}, NOT_PROPERTY),
    "GET /v1/compounds": ("/v1/compounds", {}, SCOPED),
    "GET /v1/compounds/{code}": ("/v1/compounds/{compound}", {}, IN_ALL_SCOPES),
    "GET /v1/buildings": ("/v1/buildings", {}, SCOPED),
    "GET /v1/buildings/{code}": ("/v1/buildings/{building}", {}, IN_ALL_SCOPES),
    "GET /v1/resources": ("/v1/resources", {}, PUBLIC),
    "GET /v1/resources/{code}": ("/v1/resources/{resource}", {}, PUBLIC),
    "GET /ogc": ("/ogc", {}, PUBLIC),
    "GET /ogc/conformance": ("/ogc/conformance", {}, PUBLIC),
    "GET /ogc/collections": ("/ogc/collections", {}, PUBLIC),
    "GET /ogc/collections/{collection_id}": ("/ogc/collections/buildings", {}, PUBLIC),
    "GET /ogc/collections/{collection_id}/items": ("/ogc/collections/buildings/items", {}, SCOPED),
    "GET /ogc/collections/{collection_id}/items/{feature_id}": (
        "/ogc/collections/buildings/items/{building}",
        {},
        IN_ALL_SCOPES,
    ),
    "GET /tiles": ("/tiles", {}, PUBLIC),
    "GET /tiles/{layer}/{z}/{x}/{y}.pbf": (TILE, {}, PUBLIC),  # public fields for all; more with a token
    "GET /v1/ticket-categories": ("/v1/ticket-categories", {}, PUBLIC),
    "POST /v1/tickets": ("/v1/tickets", BAD, PUBLIC_GATE),
    "GET /v1/tickets": ("/v1/tickets", {}, SCOPED),
    "GET /v1/tickets/overdue": ("/v1/tickets/overdue", {}, SCOPED),
    "GET /v1/tickets/export": ("/v1/tickets/export", {}, SCOPED),
    "POST /v1/tickets/batch": ("/v1/tickets/batch", BAD, (GATE, GATE, GATE, GATE, GATE, GATE, GATE, 401)),
    "POST /v1/tickets/import": ("/v1/tickets/import", EMPTY_FILE, (GATE, 403, GATE, 403, 403, 403, 403, 401)),
    "GET /v1/tickets/{ticket_id}": ("/v1/tickets/{ticket}", {}, TICKET),
    "GET /v1/tickets/{ticket_id}/history": ("/v1/tickets/{ticket}/history", {}, TICKET),
    "GET /v1/tickets/{ticket_id}/duplicates": ("/v1/tickets/{ticket}/duplicates", {}, TICKET),
    "POST /v1/tickets/{ticket_id}/actions": ("/v1/tickets/{ticket}/actions", ACCEPT, TICKET_GATE),
    "POST /v1/tickets/{ticket_id}/rating": ("/v1/tickets/{ticket}/rating", BAD, PUBLIC_GATE),
    "POST /v1/attachments": ("/v1/attachments", {}, PUBLIC_GATE),
    "GET /v1/attachments/{attachment_id}": ("/v1/attachments/2000000000", {}, ABSENT),
    "GET /v1/attachments/{attachment_id}/thumb": ("/v1/attachments/2000000000/thumb", {}, ABSENT),
    "GET /open311/v2/services.{fmt}": ("/open311/v2/services.json", {}, PUBLIC),
    "GET /open311/v2/services/{service_code}.{fmt}": ("/open311/v2/services/noise.json", {}, PUBLIC),
    "GET /open311/v2/requests.{fmt}": ("/open311/v2/requests.json", {}, PUBLIC),
    "POST /open311/v2/requests.{fmt}": ("/open311/v2/requests.json", {"data": {}}, (401,) * 8),
    "GET /open311/v2/requests/{service_request_id}.{fmt}": ("/open311/v2/requests/2000000000.json", {}, (404,) * 8),
    "GET /open311/v2/tokens/{token}.{fmt}": ("/open311/v2/tokens/no-such-token.json", {}, (404,) * 8),
    "GET /maps/compounds/{code}": ("/maps/compounds/{compound}", {}, PUBLIC),
    "GET /maps/communities/{code}": ("/maps/communities/{community}", {}, PUBLIC),
    "GET /maps/operations": ("/maps/operations", {}, PUBLIC),
    "GET /maps/tickets/{ticket_id}": ("/maps/tickets/{ticket}", {}, PUBLIC),  # a shell holding no data
    # without a token a shell holding no plan data (OK); with one, the plan as /v1/plans/{id}
    "GET /maps/plans/{plan_id}": ("/maps/plans/{plan}", {}, (OK, OK, OK, 403, 403, 403, 403, OK)),
    "GET /maps/data/cells.geojson": ("/maps/data/cells.geojson", {"params": BBOX}, SCOPED),
    "GET /maps/data/tickets.geojson": ("/maps/data/tickets.geojson", {"params": BBOX}, SCOPED),
    "GET /maps/data/ticket_heat.json": ("/maps/data/ticket_heat.json", {"params": BBOX}, SCOPED),
    "GET /maps/data/resources.geojson": ("/maps/data/resources.geojson", {"params": BBOX}, PUBLIC),
    "GET /maps/data/heat.json": ("/maps/data/heat.json", {"params": BBOX}, SCOPED),
    "POST /v1/plans": ("/v1/plans", BAD, PLAN_WRITE_GATE),
    "GET /v1/plans": ("/v1/plans", {}, (F, F, F, 403, 403, 403, 403, 401)),
    "GET /v1/plans/history": ("/v1/plans/history", {}, (F, F, F, 403, 403, 403, 403, 401)),
    "GET /v1/plans/{plan_id}": ("/v1/plans/{plan}", {}, PLAN_READ),
    "POST /v1/plans/{plan_id}/import": ("/v1/plans/{plan}/import", {}, PLAN_WRITE_GATE),
    "POST /v1/plans/{plan_id}/imports": ("/v1/plans/{plan}/imports", {}, PLAN_WRITE_GATE),
    "GET /v1/plans/{plan_id}/imports": ("/v1/plans/{plan}/imports", {}, PLAN_READ),
    "POST /v1/plans/{plan_id}/communities": ("/v1/plans/{plan}/communities", BAD, PLAN_WRITE_GATE),
    "GET /v1/plans/{plan_id}/next-codes": ("/v1/plans/{plan}/next-codes", {}, PLAN_READ_GATE),
    "GET /v1/plans/{plan_id}/imports/{job_id}": (
        "/v1/plans/{plan}/imports/2000000000",
        {},
        (404, 404, 404, 403, 403, 403, 403, 401),
    ),
    "GET /v1/plans/{plan_id}/features": ("/v1/plans/{plan}/features", {}, PLAN_READ),
    "PUT /v1/plans/{plan_id}/areas/{layer}/{code}": (
        "/v1/plans/{plan}/areas/compound/{compound}",
        BAD,
        PLAN_WRITE_GATE,
    ),
    "DELETE /v1/plans/{plan_id}/areas/{layer}/{code}": ("/v1/plans/{plan}/areas/compound/{compound}", {}, PLAN_WRITE),
    "POST /v1/plans/{plan_id}/areas/{layer}/{code}/revert": (
        "/v1/plans/{plan}/areas/compound/{compound}/revert",
        {},
        PLAN_WRITE,
    ),
    "DELETE /v1/plans/{plan_id}/features/{code}": ("/v1/plans/{plan}/features/{cell}", {}, PLAN_WRITE),
    "POST /v1/plans/{plan_id}/features/{code}/revert": ("/v1/plans/{plan}/features/{cell}/revert", {}, PLAN_WRITE),
    "POST /v1/plans/{plan_id}/validate": ("/v1/plans/{plan}/validate", {}, PLAN_READ),
    "POST /v1/plans/{plan_id}/repair": ("/v1/plans/{plan}/repair", BAD, PLAN_WRITE_GATE),
    "GET /v1/plans/{plan_id}/diff": ("/v1/plans/{plan}/diff", {}, PLAN_READ),
    "GET /v1/plans/{plan_id}/diff.geojson": ("/v1/plans/{plan}/diff.geojson", {}, PLAN_READ),
    "POST /v1/plans/{plan_id}/split": ("/v1/plans/{plan}/split", BAD, PLAN_WRITE_GATE),
    "POST /v1/plans/{plan_id}/merge": ("/v1/plans/{plan}/merge", BAD, PLAN_WRITE_GATE),
    "POST /v1/plans/{plan_id}/reshape": ("/v1/plans/{plan}/reshape", BAD, PLAN_WRITE_GATE),
    "POST /v1/plans/{plan_id}/generate": ("/v1/plans/{plan}/generate", BAD, PLAN_WRITE_GATE),
    "POST /v1/plans/{plan_id}/commit": ("/v1/plans/{plan}/commit", BAD, PLAN_WRITE_GATE),
    "GET /v1/plans/{plan_id}/export": ("/v1/plans/{plan}/export", {}, PLAN_READ),
    "GET /plans/{plan_id}/edit": ("/plans/{plan}/edit", {}, PUBLIC),  # a shell; its data needs a token
    # routes outside the OpenAPI schema
    "GET /assets/{path:path}": ("/assets/no-such-file.js", {}, (404,) * 8),
    "GET /openapi.json": ("/openapi.json", {}, PUBLIC),
    "GET /docs": ("/docs", {}, PUBLIC),
    "GET /docs/oauth2-redirect": ("/docs/oauth2-redirect", {}, PUBLIC),
    "GET /redoc": ("/redoc", {}, PUBLIC),
}

AREA_PLACES: list[Callable[[Session], dict[str, Any]]] = []
for _info in pkgutil.iter_modules(matrix.__path__):
    _area = importlib.import_module(f"{matrix.__name__}.{_info.name}")
    _clash = set(_area.ENTRIES) & set(MATRIX)
    assert not _clash, f"{_info.name} repeats entries: {sorted(_clash)}"
    MATRIX.update(_area.ENTRIES)
    if hasattr(_area, "places"):
        AREA_PLACES.append(_area.places)


def _app_routes() -> set[str]:
    """Every METHOD + path the app serves: the OpenAPI schema, plus the routes left out of it."""
    app = create_app(Settings.for_tests("postgresql+psycopg://unused@127.0.0.1:1/unused"))
    found = {f"{m.upper()} {path}" for path, ops in app.openapi()["paths"].items() for m in ops}

    def walk(routes: list[Any]) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)
            elif hasattr(route, "path") and hasattr(route, "methods"):
                if isinstance(route, APIRoute) and route.include_in_schema:
                    continue  # in the schema already (keyed there without the ":path" converter)
                found.update(f"{m} {route.path}" for m in route.methods if m != "HEAD")

    walk(app.routes)
    return found


def test_every_route_has_an_entry() -> None:
    routes = _app_routes()
    missing = sorted(routes - set(MATRIX))
    assert not missing, f"add these routes to MATRIX in {__file__}: {missing}"
    assert not sorted(set(MATRIX) - routes), "MATRIX lists routes the app no longer serves"


@pytest.fixture(scope="module")
def actors(engine: Engine) -> Iterator[dict[str, Any]]:
    """Users of every role (committed for the module, removed after it), a plan and the places they share."""
    with Session(engine) as s:
        ticket = s.scalar(
            select(Ticket)
            .where(Ticket.cell_code.startswith(COMMUNITY), Ticket.unit_id.is_not(None))
            .order_by(Ticket.id)
            .limit(1)
        )
        assert ticket is not None, "the demo has tickets"
        compound = s.scalar(
            select(Compound)
            .where(Compound.code.startswith(COMMUNITY), Compound.property_company_id.is_not(None))
            .order_by(Compound.code)
            .limit(1)
        )
        assert compound is not None and compound.cell_code is not None
        building = s.scalar(select(Building.code).where(Building.compound_id == compound.id).limit(1))
        org_of = {"department": ticket.unit_id, "property": compound.property_company_id}
        jurisdiction = {"manager": [COMMUNITY], "grid_worker": [compound.cell_code, ticket.cell_code]}
        users: list[User] = []
        headers: dict[str, dict[str, str]] = {"anonymous": {}}
        for role in ROLES[:-1]:
            user = create_user(
                s,
                username=f"matrix-{role}",
                password="matrix-password",
                full_name=f"矩阵{role}",
                role=role,
                organization_id=org_of.get(role),
                jurisdiction=jurisdiction.get(role),
            )
            users.append(user)
            token, _ = login(s, username=user.username, password="matrix-password")
            headers[role] = {"Authorization": f"Bearer {token}"}
        other = create_user(s, username="matrix-other", password="matrix-password", full_name="其他", role="resident")
        plan = create_plan(s, name="矩阵方案")
        ensure_base(s, plan, COMMUNITY)
        s.commit()
        assert s.get(Organization, ticket.unit_id) is not None
        places = {
            "ticket": ticket.id,
            "compound": compound.code,
            "building": building,
            "cell": compound.cell_code,
            "community": COMMUNITY,
            "resource": "R00001",
            "plan": plan.id,
            "other": other.username,
            "worker_id": users[ROLES.index("grid_worker")].id,
        }
        for area_places in AREA_PLACES:
            places.update(area_places(s))
        s.commit()
        ids = [u.id for u in users] + [other.id]
        plan_id = plan.id
    yield {"headers": headers, "places": places}
    with Session(engine) as s:
        s.execute(delete(BoundaryPlan).where(BoundaryPlan.id == plan_id))
        s.execute(delete(ApiToken).where(ApiToken.user_id.in_(ids)))
        s.execute(delete(User).where(User.id.in_(ids)))
        s.commit()


@pytest.fixture(scope="module")
def module_client() -> Iterator[TestClient]:
    from tests.conftest import test_database_url

    app = create_app(Settings.for_tests(test_database_url(), max_body_bytes=200_000))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def app_client(module_client: TestClient, sessions: Any) -> TestClient:
    """One app for the module; each case on its own rolled-back transaction."""
    module_client.app.state.sessions = sessions  # type: ignore[attr-defined]
    return module_client


def _passes(expected: Any, status: int) -> bool:
    if expected in (OK, F):
        return 200 <= status < 300
    if expected == GATE:
        return status < 500 and status not in (401, 403, 404)
    return bool(status == expected)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_route_answers_each_role_as_expected(route: str, app_client: TestClient, actors: dict[str, Any]) -> None:
    method = route.split(" ", 1)[0]
    template, kwargs, expected = MATRIX[route]
    url = template.format(**actors["places"])
    if "params" in kwargs:
        kwargs = {**kwargs, "params": {k: str(v).format(**actors["places"]) for k, v in kwargs["params"].items()}}
    wrong = []
    for role, want in zip(ROLES, expected, strict=True):
        r = app_client.request(method, url, headers=actors["headers"][role], **kwargs)
        if not _passes(want, r.status_code):
            wrong.append(f"{role}: expected {want}, got {r.status_code} {r.text[:120]}")
    assert not wrong, f"{route} ({url}):\n" + "\n".join(wrong)
