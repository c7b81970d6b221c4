"""W9's hot path served beside FastAPI's router: `POST /v1/patrols/{id}/fixes` is matched by one regular
expression before the router (which tries the app's ~200 routes in turn: ~17 % of the server's CPU per batch in
the profile) and handled without FastAPI's request/dependency machinery. The route stays declared in
api/routers/patrols.py (OpenAPI, route matrix) and does the same through `handle_fixes`. Installed innermost of
the app's own middlewares, so security headers, request id and body limit apply as for every route; an error is
answered by the app's own exception handlers (api/errors.py): the same JSON bodies."""

from __future__ import annotations

import re

import orjson
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from starlette._exception_handler import _lookup_exception_handler
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import bearer_token
from api.fix_body import read_batch
from api.ingest_db import ingest_store
from gis.models import utcnow
from gis.patrol import ingest

PATH = re.compile(r"/v1/patrols/([1-9][0-9]{0,9})/fixes")


async def handle_fixes(request: Request, patrol_id: int, authorization: str | None) -> Response:
    """A batch of fixes: 401 before the body is read, the body into columns, ONE statement."""
    scheme, credentials = get_authorization_scheme_param(authorization)  # as HTTPBearer(auto_error=False) reads it
    creds = HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)
    token = bearer_token(creds if authorization and scheme and credentials and scheme.lower() == "bearer" else None)
    batch_key, cols = read_batch(await request.body(), request.headers.get("content-type"))
    prep = ingest.prepare(batch_key, patrol_id, cols, now=utcnow())
    result = await ingest_store(request, prep, token)
    return Response(orjson.dumps(result), media_type="application/json")


class IngestFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or (m := PATH.fullmatch(scope["path"])) is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handle_fixes(request, int(m.group(1)), request.headers.get("authorization"))
        except Exception as exc:
            handler = _lookup_exception_handler(scope["app"].exception_handlers, exc)
            if handler is None:
                raise
            response = await handler(request, exc)  # type: ignore[arg-type,misc]
        await response(scope, receive, send)
