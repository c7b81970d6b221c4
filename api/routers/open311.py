"""Open311 GeoReport v2 at /open311/v2/: services, service definitions, requests (GET/POST), tokens,
in JSON or XML (by the path's extension). Errors use the GeoReport shape: [{"code", "description"}]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from api.deps import CsvQuery, SessionDep
from api.errors import status_for
from api.schemas.common import NAIVE_IS_BEIJING, LocalDatetime
from api.schemas.open311 import (
    Open311ErrorPublic,
    ServiceDefinitionPublic,
    ServicePublic,
    ServiceRequestCreatedPublic,
    ServiceRequestPublic,
    ServiceRequestTokenPublic,
)
from gis.errors import GridError, InvalidInput, NotFound
from gis.tickets import open311

# GeoReport errors are [{"code", "description"}]; 422s of the request's shape use the API's error body
router = APIRouter(
    prefix="/open311/v2",
    tags=["open311"],
    responses={status: {"model": list[Open311ErrorPublic]} for status in (400, 401, 404)},
)
XML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/xml": {}}, "description": "JSON or XML, by the path's extension"}
}

Fmt = Literal["json", "xml"]


def _render(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(open311.to_xml(root, value), status_code=status, media_type="application/xml")
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def _answer(fmt: str, root: str, fn: Callable[[], Any], ok: int = 200, session: Session | None = None) -> Response:
    try:
        return _render(fmt, root, fn(), ok)
    except GridError as exc:
        if session is not None:
            session.rollback()  # nothing half-written: the error answer must not commit partial work
        status = status_for(exc)
        status = 400 if status == 422 else status
        return _render(fmt, "errors", [{"code": status, "description": exc.message}], status)


def _ids(raw: str | None) -> list[int] | None:
    if not raw:
        return None
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError as exc:
        raise InvalidInput("service_request_id must be a comma-separated list of numbers") from exc


@router.get("/services.{fmt}", response_model=list[ServicePublic], responses=XML)
def services(fmt: Fmt) -> Response:
    """Service list: one service per ticket category."""
    return _answer(fmt, "services", open311.services)


@router.get("/services/{service_code}.{fmt}", response_model=ServiceDefinitionPublic, responses=XML)
def service_definition(service_code: str, fmt: Fmt) -> Response:
    return _answer(fmt, "service_definition", lambda: open311.service_definition(service_code))


@router.get("/requests.{fmt}", response_model=list[ServiceRequestPublic], responses=XML)
def get_requests(
    fmt: Fmt,
    session: SessionDep,
    service_request_id: str | None = None,
    service_code: Annotated[CsvQuery, Query(description="comma-separated service codes")] = (),
    start_date: Annotated[LocalDatetime | None, Query(description=NAIVE_IS_BEIJING)] = None,
    end_date: Annotated[LocalDatetime | None, Query(description=NAIVE_IS_BEIJING)] = None,
    status: Annotated[str | None, Query(description="open or closed")] = None,
    page: Annotated[int, Query(ge=1, description="page number (gridgov extension)")] = 1,
    page_size: Annotated[int, Query(ge=1, le=open311.MAX_PAGE_SIZE, description="rows per page")] = open311.PAGE_SIZE,
) -> Response:
    """Public requests (resident and Open311 reports of public categories; location rounded to ~100 m, phone
    numbers masked): by id list (≤ 50), or the last 90 days filtered by service, dates and status, paged."""
    return _answer(
        fmt,
        "service_requests",
        lambda: open311.get_requests(
            session,
            ids=_ids(service_request_id),
            service_codes=list(service_code),
            start=start_date,
            end=end_date,
            status=status,
            page=page,
            page_size=page_size,
        ),
    )


async def form_fields(request: Request) -> dict[str, Any]:
    """Form-encoded (the GeoReport way) or JSON body; attribute[code]=value collected into `attributes`."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            body = None
        return dict(body) if isinstance(body, dict) else {"_bad": True}
    form = await request.form()
    fields: dict[str, Any] = {"attributes": {}}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key.startswith("attribute[") and key.endswith("]"):
            fields["attributes"][key[len("attribute[") : -1]] = value
        else:
            fields[key] = value
    return fields


@router.post(
    "/requests.{fmt}",
    status_code=201,
    response_model=list[ServiceRequestCreatedPublic],
    responses={201: XML[200]},
)
def post_request(fmt: Fmt, session: SessionDep, fields: Annotated[dict[str, Any], Depends(form_fields)]) -> Response:
    """Create a service request (api_key required)."""

    def create() -> list[dict[str, Any]]:
        if fields.get("_bad"):
            raise InvalidInput("the body must be form-encoded fields (or a JSON object)")
        return open311.post_request(session, fields)

    return _answer(fmt, "service_requests", create, ok=201, session=session)


@router.get("/requests/{service_request_id}.{fmt}", response_model=list[ServiceRequestPublic], responses=XML)
def get_request(service_request_id: str, fmt: Fmt, session: SessionDep) -> Response:
    def one() -> list[dict[str, Any]]:
        ids = _ids(service_request_id)
        rows = open311.get_requests(session, ids=ids) if ids else []
        if not rows:
            raise NotFound(f"no service request {service_request_id!r}")
        return rows

    return _answer(fmt, "service_requests", one)


@router.get("/tokens/{token}.{fmt}", response_model=list[ServiceRequestTokenPublic], responses=XML)
def token(token: str, fmt: Fmt, session: SessionDep) -> Response:
    return _answer(fmt, "service_requests", lambda: open311.token_lookup(session, token))
