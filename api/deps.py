"""Small typed dependencies: settings, DB session, current user, point and paging parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from gis import auth
from gis.crs import InputCRS, to_wgs84
from gis.db import session_scope
from gis.errors import InvalidInput, Unauthorized
from gis.models import User
from gis.settings import Settings


async def get_settings_dep(request: Request) -> Settings:  # async: no I/O, no thread hop
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with session_scope(request.app.state.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False)


def current_user(
    session: SessionDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized(
            "需要登录 / authentication required: send 'Authorization: Bearer <token>' "
            "(get one from POST /v1/auth/login)"
        )
    return auth.user_for_token(session, creds.credentials)


def optional_user(
    session: SessionDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User | None:
    if creds is None:
        return None
    return auth.user_for_token(session, creds.credentials)


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


@dataclass(frozen=True)
class WGS84Point:
    lon: float
    lat: float
    source_crs: str


async def point_query(  # async: pure computation, no thread hop
    lon: Annotated[float, Query(description="longitude (x)", ge=-180, le=180)],
    lat: Annotated[float, Query(description="latitude (y)", ge=-90, le=90)],
    crs: Annotated[
        InputCRS, Query(description="CRS of lon/lat: wgs84, gcj02, bd09, cgcs2000")
    ] = InputCRS.wgs84,
) -> WGS84Point:
    x, y = to_wgs84(lon, lat, crs)
    return WGS84Point(x, y, crs.value)


PointQuery = Annotated[WGS84Point, Depends(point_query)]


async def bbox_query(
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        parts = tuple(float(p) for p in bbox.split(","))
    except ValueError as exc:
        raise InvalidInput(f"bbox must be four numbers 'minlon,minlat,maxlon,maxlat', got {bbox!r}") from exc
    if len(parts) != 4:
        raise InvalidInput(f"bbox must be four numbers 'minlon,minlat,maxlon,maxlat', got {bbox!r}")
    x1, y1, x2, y2 = parts
    if not (-180 <= x1 < x2 <= 180 and -90 <= y1 < y2 <= 90):
        raise InvalidInput(
            "bbox must satisfy -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90"
        )
    return (x1, y1, x2, y2)


BBoxQuery = Annotated[tuple[float, float, float, float] | None, Depends(bbox_query)]
