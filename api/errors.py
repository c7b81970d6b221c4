"""One table from domain error to HTTP status, and one JSON error body: {"error", "message", "detail"}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.errors import (
    Conflict,
    Forbidden,
    GridError,
    InvalidGeometry,
    InvalidInput,
    InvalidTransition,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)

STATUS: dict[type[GridError], int] = {
    NotFound: 404,
    InvalidTransition: 409,
    Conflict: 409,
    InvalidGeometry: 422,
    InvalidInput: 422,
    Unauthorized: 401,
    Forbidden: 403,
    TooManyAttempts: 429,
}


def status_for(exc: GridError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"error": code, "message": message, "detail": detail}


def _clean_validation(errors: list[Any]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        out.append({"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(GridError)
    async def grid_error(_: Request, exc: GridError) -> ORJSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return ORJSONResponse(
            error_body(exc.code, exc.message, exc.detail), status_code=status_for(exc), headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> ORJSONResponse:
        details = _clean_validation(list(exc.errors()))
        where = "; ".join(f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in details)
        return ORJSONResponse(
            error_body("invalid_request", f"请求参数有误 / invalid request: {where}", details),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> ORJSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
        return ORJSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )
