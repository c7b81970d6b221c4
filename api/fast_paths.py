"""Hot routes answered before FastAPI's router (W3's OGC item pages, W9's GPS batches).

The router tries the app's ~200 routes in turn and FastAPI resolves every dependency and validates every
parameter: for a 10-feature page or a batch of 100 fixes that costs more Python than the request's own work
(the profiles are in docs/serving.md and docs/patrols.md). A `FastRoute` is a method, a path pattern and a
handler made of the same functions as the declared route (which stays, for OpenAPI, the route matrix and every
request the handler does not take: it answers None to hand the request on). The middleware sits inside the app's
own (security headers, request id, body limit), so they apply as to any answer; an exception is answered by the
app's own exception handler of its class, so error bodies are those of the declared route."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

ENABLED = True  # tests compare each fast route's answers with the declared route's (off)
FastHandler = Callable[[Request, re.Match[str]], Awaitable[Response | None]]


@dataclass(frozen=True)
class FastRoute:
    method: str
    path: re.Pattern[str]  # matched in full against the request's path
    handler: FastHandler  # None: not taken as it is, the declared route answers


def plain_bearer(request: Request) -> tuple[bool, str | None]:
    """(taken, token) of the Authorization header as a fast route takes it: none → (True, None), `Bearer <token>`
    → (True, token); anything else → (False, None), and the declared route reads it (HTTPBearer) and answers."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        return True, None
    scheme, _, token = authorization.partition(" ")
    return (True, token) if scheme.lower() == "bearer" and token else (False, None)


async def error_answer(request: Request, exc: Exception) -> Response:
    """The app's own answer to `exc` (its handler of the nearest class), as the router would give it."""
    for cls in type(exc).__mro__:
        handler = request.app.exception_handlers.get(cls)
        if handler is not None:
            answer: Response = await handler(request, exc)
            return answer
    raise exc


class FastPaths:
    def __init__(self, app: ASGIApp, routes: Sequence[FastRoute]) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if ENABLED and scope["type"] == "http" and not scope.get("root_path"):
            for route in self.routes:
                found = route.path.fullmatch(scope["path"]) if scope["method"] == route.method else None
                if found is None:
                    continue
                request = Request(scope, receive)
                try:
                    answer = await route.handler(request, found)
                except Exception as exc:  # noqa: BLE001 - answered by the app's handler of its class, else re-raised
                    answer = await error_answer(request, exc)
                if answer is not None:
                    await answer(scope, receive, send)
                    return
                break
        await self.app(scope, receive, send)
