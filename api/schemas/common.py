"""Shared response shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    error: str
    message: str
    detail: Any = None


class FeatureCollectionOut(BaseModel):
    """GeoJSON FeatureCollection with paging (OGC API – Features style numberMatched/numberReturned)."""

    type: str = "FeatureCollection"
    features: list[dict[str, Any]]
    numberMatched: int  # noqa: N815 - OGC API field name
    numberReturned: int  # noqa: N815
    links: list[dict[str, Any]] = []
