"""Domain errors: each carries a stable code and a message a user can act on (mapped to HTTP in api/)."""

from __future__ import annotations

from typing import Any


class GridError(Exception):
    code = "grid_error"

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(GridError):
    code = "not_found"


class OutsideServiceArea(NotFound):
    code = "outside_service_area"


class Conflict(GridError):
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class InvalidInput(GridError):
    code = "invalid_input"


class BadFilter(InvalidInput):
    """A CQL2 `filter` that cannot run (HTTP 400, as OGC API – Features Part 3 says)."""

    code = "invalid_filter"


class InvalidGeometry(InvalidInput):
    code = "invalid_geometry"


class Unauthorized(GridError):
    code = "unauthorized"


class Forbidden(GridError):
    code = "forbidden"


class TooManyAttempts(GridError):
    """Throttled: the client should wait `retry_after_s` seconds (HTTP 429 with Retry-After)."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_s: int, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after_s = retry_after_s
