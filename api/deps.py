"""Small typed dependencies: settings, DB session, current user, and one parser per query-parameter concept
(point, near, bbox, display bbox, comma lists, paging, dates).

A date/time without a timezone is Beijing time everywhere (`api.schemas.common.LocalDatetime`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal, NamedTuple

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from sqlalchemy.orm import Session

from api.schemas.common import NAIVE_IS_BEIJING, LocalDatetime
from gis import auth
from gis.crs import InputCRS, to_wgs84
from gis.db import ReadBind, read_bind, session_scope
from gis.errors import InvalidInput, Unauthorized
from gis.mapdata.tickets import TicketFilters
from gis.models import User
from gis.settings import Settings
from gis.tickets.config import TicketConfig


async def get_settings_dep(request: Request) -> Settings:  # async: no I/O, no thread hop
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_ticket_config(request: Request) -> TicketConfig:  # async: no I/O, no thread hop
    """The ticket categories and SLA tiers this app was started with (GRIDGOV_CONFIG_DIR)."""
    config: TicketConfig = request.app.state.ticket_config
    return config


TicketConfigDep = Annotated[TicketConfig, Depends(get_ticket_config)]


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with session_scope(request.app.state.sessions) as session:
        yield session


# scope="function": the commit runs when the handler returns, *before* the answer is sent, so a 2xx means the
# work is saved and a failed commit is an error to the client (the default scope commits after sending)
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

SessionOpener = Callable[[], AbstractContextManager[Session]]


async def session_opener(request: Request) -> SessionOpener:  # async: no I/O, no thread hop
    """The request's transaction, opened by the handler itself: `with open_session() as session:` commits on
    success and rolls back on error, exactly as `SessionDep` does.

    For hot paths (ticket intake) that run their blocking work in ONE worker-thread hop: with `SessionDep`
    and `OptionalUser` FastAPI would spend a hop each on opening the session, reading the user, the handler
    and closing the session."""
    return lambda: session_scope(request.app.state.sessions)


OpenSession = Annotated[SessionOpener, Depends(session_opener)]


async def get_read_bind(request: Request) -> ReadBind:  # async: no I/O, no thread hop
    """Where read-only hot paths read (`gis.db.read_bind`): one statement, no BEGIN/COMMIT, no ping."""
    return read_bind(request.app.state.sessions)


# For `async def` handlers that run their one read in one worker-thread hop (`run_in_threadpool`).
ReadBindDep = Annotated[ReadBind, Depends(get_read_bind)]

_bearer = HTTPBearer(auto_error=False)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(creds: HTTPAuthorizationCredentials | None) -> str:
    """The bearer token of the request, or 401."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized(
            "需要登录 / authentication required: send 'Authorization: Bearer <token>' "
            "(get one from POST /v1/auth/login)"
        )
    return creds.credentials


def current_user(session: SessionDep, creds: BearerCredentials) -> User:
    return auth.user_for_token(session, bearer_token(creds))


async def _bearer_token_dep(creds: BearerCredentials) -> str:  # async: no I/O, no thread hop
    return bearer_token(creds)


# The token itself, checked by the handler in its own query (hot paths); a request without one is a 401
# before its body is looked at, as with CurrentUser.
BearerToken = Annotated[str, Depends(_bearer_token_dep)]


def optional_user(session: SessionDep, creds: BearerCredentials) -> User | None:
    """The user of the bearer token, or None without one (a bad token is still a 401)."""
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


CRSQuery = Annotated[InputCRS, Query(description="CRS of the coordinates: wgs84, gcj02, bd09, cgcs2000")]


async def point_query(  # async: pure computation, no thread hop
    lon: Annotated[float, Query(description="longitude (x)", ge=-180, le=180)],
    lat: Annotated[float, Query(description="latitude (y)", ge=-90, le=90)],
    crs: CRSQuery = InputCRS.wgs84,
) -> WGS84Point:
    x, y = to_wgs84(lon, lat, crs)
    return WGS84Point(x, y, crs.value)


PointQuery = Annotated[WGS84Point, Depends(point_query)]


def _numbers(raw: str, name: str, counts: tuple[int, ...], usage: str) -> list[float]:
    try:
        values = [float(p) for p in raw.split(",")]
    except ValueError as exc:
        raise InvalidInput(f"{name} must be {usage}, got {raw!r}") from exc
    if len(values) not in counts:
        raise InvalidInput(f"{name} must be {usage}, got {raw!r}")
    return values


@dataclass(frozen=True)
class Near:
    """`near=lon,lat[,radius_m]` converted to WGS84; `radius_given` is False when the default was used."""

    lon: float
    lat: float
    radius_m: float
    radius_given: bool


NEAR_RADIUS_M = 1000.0


async def near_query(  # async: pure computation, no thread hop
    near: Annotated[str | None, Query(description="lon,lat[,radius_m] (radius default 1000 m, at most 50 km)")] = None,
    crs: Annotated[InputCRS, Query(description="CRS of `near`: wgs84, gcj02, bd09, cgcs2000")] = InputCRS.wgs84,
) -> Near | None:
    if near is None:
        return None
    values = _numbers(near, "near", (2, 3), "'lon,lat' or 'lon,lat,radius_m'")
    lon, lat = to_wgs84(values[0], values[1], crs)
    radius = values[2] if len(values) == 3 else NEAR_RADIUS_M
    if not 0 < radius <= 50_000:
        raise InvalidInput("near radius_m must be in (0, 50000]")
    return Near(lon, lat, radius, radius_given=len(values) == 3)


NearQuery = Annotated[Near | None, Depends(near_query)]

BBox = tuple[float, float, float, float]


def parse_bbox(raw: str) -> BBox:
    """'minlon,minlat,maxlon,maxlat' checked for order and range."""
    x1, y1, x2, y2 = _numbers(raw, "bbox", (4,), "four numbers 'minlon,minlat,maxlon,maxlat'")
    if not (-180 <= x1 < x2 <= 180 and -90 <= y1 < y2 <= 90):
        raise InvalidInput("bbox must satisfy -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90")
    return (x1, y1, x2, y2)


async def bbox_query(  # async: pure computation, no thread hop
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
) -> BBox | None:
    return None if bbox is None else parse_bbox(bbox)


BBoxQuery = Annotated[BBox | None, Depends(bbox_query)]


class DisplayBox(NamedTuple):
    """A map page's view: the bbox in WGS84 (for the query) and the CRS the page draws in (for the answer)."""

    bbox: BBox
    crs: Literal["wgs84", "gcj02"]


async def display_bbox(  # async: pure computation, no thread hop
    bbox: Annotated[str, Query(description="minlon,minlat,maxlon,maxlat in `crs`")],
    crs: Annotated[Literal["wgs84", "gcj02"], Query(description="coordinates of bbox and answer")] = "wgs84",
) -> DisplayBox:
    x1, y1, x2, y2 = parse_bbox(bbox)
    if crs == "gcj02":  # the page draws over a GCJ-02 basemap: query in WGS84, answer shifted back
        x1, y1 = to_wgs84(x1, y1, "gcj02")
        x2, y2 = to_wgs84(x2, y2, "gcj02")
    return DisplayBox((x1, y1, x2, y2), crs)


DisplayBBox = Annotated[DisplayBox, Depends(display_bbox)]


def split_csv(raw: object) -> tuple[str, ...]:
    """'a,b' (or a repeated parameter) as ('a', 'b'); blanks dropped."""
    values = raw if isinstance(raw, list | tuple) else [raw]
    return tuple(v.strip() for value in values if value for v in str(value).split(",") if v.strip())


# a comma-separated list, e.g. `code: Annotated[CsvQuery, Query(description="comma-separated codes")] = ()`
CsvQuery = Annotated[tuple[str, ...], BeforeValidator(split_csv)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def page_query(  # async: pure computation, no thread hop
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, description="page size (at most the server's max_page_size, 1000)")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page:
    if limit > settings.limits.max_page_size:
        raise InvalidInput(f"limit may be at most {settings.limits.max_page_size}; page with offset")
    return Page(limit, offset)


PageQuery = Annotated[Page, Depends(page_query)]


async def at_query(  # async: pure computation, no thread hop
    at: Annotated[
        LocalDatetime | None, Query(description=f"boundary version in force at this time ({NAIVE_IS_BEIJING})")
    ] = None,
) -> datetime | None:
    return at


AtQuery = Annotated[datetime | None, Depends(at_query)]


def ticket_filters(
    category: Annotated[CsvQuery, Query(description="comma-separated category codes")] = (),
    state: Annotated[CsvQuery, Query(description="comma-separated states, or open / overdue")] = (),
    opened_from: Annotated[date | None, Query(description="opened on or after this day (北京时间)")] = None,
    opened_to: Annotated[date | None, Query(description="opened on or before this day (北京时间)")] = None,
) -> TicketFilters:
    """The operations map's ticket filters (its ticket layers, the cell colours, the ticket tiles); 422 on an
    unknown category or state, or a date range the wrong way round or too long."""
    return TicketFilters(tuple(sorted(set(category))), tuple(sorted(set(state))), opened_from, opened_to).check()


TicketFiltersQuery = Annotated[TicketFilters, Depends(ticket_filters)]
