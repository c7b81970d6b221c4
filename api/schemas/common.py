"""Shared shapes: the error body and its OpenAPI responses, GeoJSON, and the one policy for dates without
a timezone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, with_config
from typing_extensions import TypedDict

SHANGHAI = ZoneInfo("Asia/Shanghai")
NAIVE_IS_BEIJING = "ISO 8601; a date/time without a timezone is Beijing time (Asia/Shanghai, +08:00)"


def assume_beijing(value: datetime) -> datetime:
    """The API's one policy for a date/time without a timezone: the product's users are in China, so it is
    local time in Asia/Shanghai. The domain (gis) only ever receives timezone-aware datetimes."""
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)


# every datetime the API reads (query parameters and JSON bodies) has this type
LocalDatetime = Annotated[datetime, AfterValidator(assume_beijing)]


class ErrorPublic(BaseModel):
    """The one error body of the API (see api/errors.py)."""

    error: str
    message: str
    detail: Any = None


_ERROR_DESCRIPTIONS = {
    401: "authentication required, or the token is invalid or expired",
    403: "your role or jurisdiction does not allow it",
    404: "not found",
    409: "conflicts with the current state",
    413: "request body too large",
    422: "invalid input (detail says which)",
    429: "too many attempts: wait Retry-After seconds",
}


def error_responses(*statuses: int, descriptions: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the error statuses a route (or router) may answer, all with `ErrorPublic`."""
    notes = {**_ERROR_DESCRIPTIONS, **(descriptions or {})}
    return {status: {"model": ErrorPublic, "description": notes[status]} for status in statuses}


@with_config(ConfigDict(extra="allow"))
class Feature(TypedDict):
    """A GeoJSON Feature (WGS84). A TypedDict, not a model: pages of thousands validate without copies."""

    type: Literal["Feature"]
    id: NotRequired[str | int]
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeaturePublic(BaseModel):
    """One GeoJSON Feature (WGS84)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollectionPublic(BaseModel):
    """A GeoJSON FeatureCollection (WGS84 unless the endpoint says otherwise); foreign members kept."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


class LinkPublic(BaseModel):
    rel: str
    href: str
    type: str | None = None


class FeaturePagePublic(FeatureCollectionPublic):
    """GeoJSON FeatureCollection with paging (OGC API – Features style numberMatched/numberReturned)."""

    numberMatched: int  # noqa: N815 - OGC API field name
    numberReturned: int  # noqa: N815
    links: list[LinkPublic] = []
