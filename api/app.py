"""Application factory. Settings are read when the app is built, never at import time."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors, logs
from api.fast_paths import FastPaths
from api.ingest_db import close_pool
from api.ingest_route import FAST_ROUTE as FIXES_FAST_ROUTE
from api.routers import ROUTERS, locate, ogc, tiles
from gis.db import engine_for, session_factory
from gis.notify import config as notify_config
from gis.settings import Settings, get_settings
from gis.tickets.config import TicketConfig, read_config, use_config
from maps.basemaps import basemap_from_settings
from maps.csp import SECURITY_HEADERS, new_nonce, page_nonce, policy, script_hashes


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

    # boundary files (a whole 街道 as GeoPackage) and reference sheets (every building of a 街道) may be larger
    # than any other request
    UPLOADS = re.compile(r"^/v1/plans/[0-9]+/imports?$|^/v1/reference/sheets/[a-z_]+/(preview|commit)$")

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


class RequestId:
    """Give each request an id: the client's X-Request-ID when it is a plain token, else a new one. It is kept in
    the request's state (error bodies and log lines quote it) and sent back on every answer."""

    SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # nothing that could forge a log line or a header

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        rid = given if self.SAFE.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        header = (errors.REQUEST_ID_HEADER.lower().encode(), rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        await self.app(scope, receive, send_with_id)


class SecurityHeaders:
    """Security headers on every answer (maps/csp.py): the Content-Security-Policy with a fresh nonce, which the
    pages rendered during the request put on their inline scripts, nosniff, the referrer policy and no framing
    by other sites. The pages FastAPI writes itself (/docs, no user data) are trusted by the hashes of theirs."""

    def __init__(self, app: ASGIApp, trusted_pages: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted_pages = frozenset(p for p in trusted_pages if p)

    @staticmethod
    def _image_hosts(scope: Scope) -> tuple[str, ...]:
        """The configured basemap's tile hosts (the app's settings as they are now: tests may swap them)."""
        settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
        return _basemap_hosts(settings.maps.basemap, settings.maps.basemap_key) if settings is not None else ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = new_nonce()
        image_hosts = self._image_hosts(scope)
        if scope.get("path") in self.trusted_pages:
            await self._trusted_page(scope, receive, send, image_hosts)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # a 304 keeps the policy stored with the body the client has (api.page_cache): none is sent
                csp = None if message.get("status") == 304 else policy(nonce=nonce, image_hosts=image_hosts)
                message["headers"] = self._headers(message.get("headers", []), csp)
            await send(message)

        with page_nonce(nonce):
            await self.app(scope, receive, with_headers)

    async def _trusted_page(self, scope: Scope, receive: Receive, send: Send, image_hosts: tuple[str, ...]) -> None:
        """Hold the answer back until its body is known, to allow exactly its inline scripts."""
        start: Message | None = None
        body: list[bytes] = []

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            html = b"".join(body)
            hashes = script_hashes(html.decode("utf-8", "replace"))
            start["headers"] = self._headers(start.get("headers", []), policy(hashes=hashes, image_hosts=image_hosts))
            await send(start)
            await send({"type": "http.response.body", "body": html, "more_body": False})

        await self.app(scope, receive, collect)

    @staticmethod
    def _headers(headers: Any, csp: str | None) -> list[tuple[bytes, bytes]]:
        added = {**SECURITY_HEADERS, **({"Content-Security-Policy": csp} if csp is not None else {})}
        names = {k.lower().encode() for k in added}
        kept = [(k, v) for k, v in headers if k.lower() not in names]
        return kept + [(k.lower().encode(), v.encode()) for k, v in added.items()]


@lru_cache(maxsize=8)
def _basemap_hosts(basemap: str, key: str) -> tuple[str, ...]:
    return basemap_from_settings(basemap, key).hosts


async def _noop_receive() -> Message:
    return {"type": "http.disconnect"}


# the API documentation pages FastAPIOffline writes (its defaults)
DOC_PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await close_pool(app.state)
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
    # a notification channel that cannot work stops the start here, not at its first message
    app.state.notify_config = notify_config.read_config(settings.config_dir)
    notify_config.check_config(app.state.notify_config)
    errors.install(app)
    logs.install()
    for router in ROUTERS:
        app.include_router(router)
    limits = settings.limits
    # innermost: locate (W1), the OGC item pages (W3), tiles (W4) and GPS batches (W9) without FastAPI's routing
    fast = (locate.FAST_ROUTE, ogc.FAST_ROUTE, tiles.FAST_ROUTE, FIXES_FAST_ROUTE)
    app.add_middleware(FastPaths, routes=fast)
    app.add_middleware(BindTicketConfig, config=app.state.ticket_config)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, upload_bytes=limits.max_upload_bytes)
    app.add_middleware(RequestId)  # BodyLimit's 401/413 carry the id too
    app.add_middleware(SecurityHeaders, trusted_pages=DOC_PAGES)  # outermost: also on BodyLimit's refusals
    return app


def app_factory() -> Any:
    """Entry point for `uvicorn --factory api.app:app_factory`."""
    return create_app()
