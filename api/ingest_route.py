"""W9's hot path: `POST /v1/patrols/{id}/fixes` answered before FastAPI's router (api/fast_paths.py; the router's
matching was ~17 % of the server's CPU per batch in the profile) by `handle_fixes`, which the route declared in
api/routers/patrols.py (OpenAPI, route matrix) calls too."""

from __future__ import annotations

import re

import orjson
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request
from starlette.responses import Response

from api.deps import bearer_token
from api.fast_paths import FastRoute
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


async def fixes_fast(request: Request, found: re.Match[str]) -> Response:
    """The fast route (api/fast_paths.py): every batch is taken, as the declared route would take it."""
    return await handle_fixes(request, int(found[1]), request.headers.get("authorization"))


FAST_ROUTE = FastRoute("POST", PATH, fixes_fast)
