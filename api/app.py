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

from api import errors, logs
from api.routers import ROUTERS
from gis.db import engine_for, session_factory
from gis.settings import Settings, get_settings
from gis.tickets.config import TicketConfig, read_config, use_config


class BindTicketConfig:
    """Every request runs with this app's ticket configuration bound (gis.tickets.config.use_config): the
    domain reads it through load_config(), including in the worker threads of sync handlers."""

    def __init__(self, app: ASGIApp, config: TicketConfig) -> None:
        self.app, self.config = app, config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with use_config(self.config):
            await self.app(scope, receive, send)


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
        headers = dict(scope.get("headers", []))
        if upload and not headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            # refuse anonymous uploads before reading a byte of them (the route would say 401 only after
            # the multipart parser had spooled the whole file)
            resp = ORJSONResponse(
                errors.error_body("unauthorized", "需要登录 / authentication required: log in before uploading"),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await resp({"type": "http"}, _noop_receive, send)
            return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit():
            if int(length) > limit:
                await self._too_large(send, limit, upload)
                return
            await self.app(scope, receive, send)  # the server stops reading at the declared length
            return
        # No length (chunked): read up to the limit here, where an overflow is still our 413 (inside the
        # app, the body parser would turn it into a 400), then hand the body on.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await self._too_large(send, limit, upload)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

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
    app.state.ticket_config = read_config(settings.config_dir)
    errors.install(app)
    logs.install()
    for router in ROUTERS:
        app.include_router(router)
    limits = settings.limits
    app.add_middleware(BindTicketConfig, config=app.state.ticket_config)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, upload_bytes=limits.max_upload_bytes)
    return app


def app_factory() -> Any:
    """Entry point for `uvicorn --factory api.app:app_factory`."""
    return create_app()
