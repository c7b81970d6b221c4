"""One table from domain error to HTTP status, and one JSON error body: {"error", "message", "detail"}.

Nothing is a bare 500: an unexpected error is answered with the same body, `detail.request_id` naming the log
line that holds its type and where it happened (never its message, which may quote personal data), and a
database that is down or overloaded is a 503 the client may retry."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.logs import redact_path
from gis.errors import (
    BadFilter,
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
    BadFilter: 400,
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


log = logging.getLogger("gridgov.api")
REQUEST_ID_HEADER = "X-Request-ID"


def request_id(request: Request) -> str:
    """The id the request-id middleware gave this request (one is made up if it did not run)."""
    state = request.scope.setdefault("state", {})
    rid = state.get("request_id")
    if not isinstance(rid, str):
        rid = state["request_id"] = uuid.uuid4().hex
    return rid


def _where(exc: BaseException) -> str:
    """Type and innermost frames of an exception, without its message (it may quote personal data)."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    trail = " < ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(exc).__module__}.{type(exc).__qualname__} at {trail or '?'}"


def _logged_error(
    request: Request, exc: BaseException, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> ORJSONResponse:
    rid = request_id(request)
    level = logging.ERROR if status >= 500 else logging.WARNING
    log.log(
        level,
        "request %s %s %s failed with %s: %s",
        rid,
        request.method,
        redact_path(request.url.path),
        status,
        _where(exc),
    )
    return ORJSONResponse(
        error_body(code, message, {"request_id": rid}),
        status_code=status,
        headers={**(headers or {}), REQUEST_ID_HEADER: rid},
    )


_UNAVAILABLE = (
    503,
    "database_unavailable",
    "数据库暂不可用，未保存任何内容，请稍后重试 / the database is unavailable or busy and nothing was saved; "
    "retry in a few seconds",
    {"Retry-After": "5"},
)

# Database errors that reach the edge, most specific first: (status, code, message, headers). OperationalError
# covers a lost connection, a restart, a deadlock or a cancelled statement; TimeoutError a full pool.
DATABASE_ERRORS: dict[type[Exception], tuple[int, str, str, dict[str, str] | None]] = {
    sa_exc.OperationalError: _UNAVAILABLE,
    psycopg.OperationalError: _UNAVAILABLE,  # the ingest pool's own connections (api/ingest_db.py); PoolTimeout too
    # the hot reads run on the psycopg connection itself (gis.db.read_value): their statement timeout arrives unwrapped
    pg_errors.QueryCanceled: (
        503,
        "database_busy",
        "查询超时，请放大地图或缩小范围后重试 / the query took too long (statement timeout): zoom in, narrow the "
        "request or retry in a few seconds",
        {"Retry-After": "5"},
    ),
    sa_exc.TimeoutError: (
        503,
        "database_unavailable",
        "数据库繁忙，未保存任何内容，请稍后重试 / the database is busy and nothing was saved; retry in a few seconds",
        {"Retry-After": "5"},
    ),
    sa_exc.DataError: (
        422,
        "invalid_value",
        "请求中有无法保存的值 / a value in the request cannot be stored: remove NUL (\\u0000) and other control "
        "characters from text, and keep numbers and dates within range",
        None,
    ),
    sa_exc.IntegrityError: (
        409,
        "conflict",
        "与已有数据冲突（重复或引用不存在）/ the request conflicts with stored data (a duplicate, or a reference "
        "to something that does not exist): check ids and unique fields such as external_id",
        None,
    ),
}

DATABASE_ERRORS[psycopg.DataError] = DATABASE_ERRORS[sa_exc.DataError]  # the ingest pool's (a real out of range)


def _database_handler(
    status: int, code: str, message: str, headers: dict[str, str] | None
) -> Callable[[Request, Exception], Awaitable[ORJSONResponse]]:
    async def handle(request: Request, exc: Exception) -> ORJSONResponse:
        return _logged_error(request, exc, status, code, message, headers)

    return handle


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
        return ORJSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    for exc_class, (status, code, message, headers) in DATABASE_ERRORS.items():
        app.add_exception_handler(exc_class, _database_handler(status, code, message, headers))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> ORJSONResponse:
        # runs in ServerErrorMiddleware, outside every other middleware: the request id header is set here
        return _logged_error(
            request,
            exc,
            500,
            "internal_error",
            "服务器内部错误，请把 request_id 告诉管理员 / an unexpected error on the server: tell the administrator "
            "the request_id",
        )
