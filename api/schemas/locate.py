"""Response of GET /v1/locate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class PersonPublic(BaseModel):
    name: str
    phone: str | None = None
    photo_url: str | None = None


class AreaPublic(BaseModel):
    code: str | None
    name: str | None
    party_org: str | None = None
    secretary: str | None = None
    phone: str | None = None


class CellPublic(BaseModel):
    code: str
    name: str
    cell_type: str
    cell_type_label: str
    households: int
    valid_from: datetime
    manager: PersonPublic | None
    workers: list[PersonPublic]


class ContactPublic(BaseModel):
    duty: str
    title: str | None = None
    name: str
    phone: str | None = None
    photo_url: str | None = None


class CompoundPublic(BaseModel):
    code: str
    name: str
    kind: str
    kind_label: str
    address: str | None
    households: int
    party_branch: str | None
    property_company: dict[str, Any] | None
    wechat_group: str | None
    contacts: list[ContactPublic]


class ResourcePublic(BaseModel):
    code: str
    type: str
    type_label: str
    name: str
    address: str | None
    phone: str | None
    opening_hours: str | None
    open_now: bool | None
    features: list[str]
    photo_url: str | None
    lon: float
    lat: float
    distance_m: float


class LocationPublic(BaseModel):
    lon: float
    lat: float
    source_crs: str
    subdistrict: AreaPublic | None
    community: AreaPublic
    cell: CellPublic
    compound: CompoundPublic | None
    resources: list[ResourcePublic]
