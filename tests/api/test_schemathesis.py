"""Property-based fuzzing of the whole API from its OpenAPI schema (schemathesis), in `make test`: an admin pass
and an anonymous pass over every operation, a few examples each, against the app built on the test database (the
writes are rolled back with the test). Checks: no 5xx, answers match the documented schema, and every status code
answered is documented.

The authenticated pass leaves out the routes that would end it early (logout revokes its token; a password change
would invalidate it); the anonymous pass covers them. The HTML pages (Folium maps, the plan editor) are left out:
they are slow to build and tested in tests/maps.

The operations are walked here rather than through schemathesis' lazy pytest fixture, which does not work with
pytest 9 (it sets `Function._nodeid`); each operation is one hypothesis run, and every failing operation is listed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from gis.settings import Settings

Maker = Callable[..., tuple[Any, dict[str, str]]]
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
PAGES = r"^/(maps|plans/\{plan_id\}/edit)"  # HTML pages: slow to build, checked in tests/maps
ENDS_THE_RUN = r"^/v1/(auth/(logout|password)|users/\{username\}/(disable|password))$"
FUZZ = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure here is reproducible, not flaky
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture()
def fuzzed_app(settings: Settings, sessions: sessionmaker[Session]) -> FastAPI:
    app = create_app(settings)
    app.state.sessions = sessions
    return app


def _fuzz(schema: Any, headers: dict[str, str] | None) -> list[str]:
    """Run every operation of `schema`; one line per failing operation."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collected, to list every failing operation at once
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    return failures


def test_api_as_admin(fuzzed_app: FastAPI, make_user: Maker) -> None:
    _, admin = make_user("admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    failures = _fuzz(schema.exclude(path_regex=PAGES).exclude(path_regex=ENDS_THE_RUN), admin)
    assert not failures, "\n\n".join(failures)


def test_api_anonymously(fuzzed_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    failures = _fuzz(schema.exclude(path_regex=PAGES), None)
    assert not failures, "\n\n".join(failures)
