"""Application factory. Settings are read when the app is built, never at import time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.routers import ROUTERS
from gis.db import engine_for, session_factory
from gis.settings import Settings, get_settings


class BodyLimit:
    """Refuse request bodies over the configured size with 413 (checked on the stream, not only the header)."""

    # boundary files (a whole 街道 as GeoPackage) may be larger than any other request
    UPLOADS = re.compile(r"^/v1/plans/[0-9]+/imports?$")

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = max(upload_bytes or max_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = bool(self.UPLOADS.match(scope.get("path", "")))
        limit = self.upload_bytes if upload else self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._too_large(send, limit, upload)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(send, limit, upload)

    async def _too_large(self, send: Send, limit: int, upload: bool) -> None:
        hint = (
            "split the file by community, or import it on the server with `gridgov plans import`"
            if upload
            else "send less data or split the batch"
        )
        resp = ORJSONResponse(
            errors.error_body("payload_too_large", f"请求体过大 / request body exceeds {limit} bytes; {hint}"),
            status_code=413,
        )
        await resp({"type": "http"}, _noop_receive, send)


class _TooLarge(Exception):
    pass


async def _noop_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()

    app = FastAPIOffline(
        title="gridgov",
        description=(
            "网格化管理 API: grid cells, compounds, tickets, patrols and service resources on PostGIS. "
            "A date/time without a timezone, in a query parameter or a JSON body, is Beijing time (Asia/Shanghai)."
        ),
        version="0.1.0",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine_for(settings.sqlalchemy_url)
    app.state.sessions = session_factory(app.state.engine)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, upload_bytes=settings.max_upload_bytes)
    return app


def app_factory() -> Any:
    """Entry point for `uvicorn --factory api.app:app_factory`."""
    return create_app()
