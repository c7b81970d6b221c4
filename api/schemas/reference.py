"""Reference data (issue 13): accounts, organizations, cell staff, compound details and 责任公示牌, resources,
the party hierarchy and the audit trail of their changes.

Create bodies name every field; Update bodies are partial (only the fields sent are changed: `exclude_unset`).
Validation beyond shape (phones, codes, places, jurisdiction) is the domain's (gis/reference), so the console
and the sheet importer get the same messages as the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.users import AccountPublic

Phone = str | None


class AccountCreate(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)
    full_name: str = Field(min_length=1, max_length=60)
    role: str = Field(description="admin, planner, manager, grid_worker, department, property, resident")
    phone: Phone = Field(default=None, max_length=40)
    organization: str | None = Field(default=None, max_length=40, description="organization code")
    jurisdiction: list[str] = Field(default_factory=list, max_length=200, description="community/cell/compound codes")


class AccountUpdate(BaseModel):
    full_name: str | None = Field(default=None, max_length=60)
    phone: Phone = Field(default=None, max_length=40)
    role: str | None = None
    organization: str | None = Field(default=None, max_length=40)
    jurisdiction: list[str] | None = Field(default=None, max_length=200)


class AccountListPublic(AccountPublic):
    """An account in a list: no phone (reading one account's phone is logged, GET /v1/users/{username})."""

    organization: str | None = Field(description="organization code")


class AccountDetailPublic(AccountListPublic):
    phone: str | None


class OrganizationCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["department", "property_company", "social_org", "subdistrict_office"]
    unit_type: str | None = Field(default=None, max_length=40, description="departments: decides the categories")
    phone: Phone = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=200)
    service_area: list[str] = Field(default_factory=list, max_length=100, description="community codes")
    compounds: list[str] | None = Field(default=None, max_length=2000, description="property companies")


class OrganizationUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=120)
    unit_type: str | None = Field(default=None, max_length=40)
    phone: Phone = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=200)
    service_area: list[str] | None = Field(default=None, max_length=100)
    compounds: list[str] | None = Field(default=None, max_length=2000)


class OrganizationPublic(BaseModel):
    code: str
    name: str
    kind: str
    kind_label: str
    unit_type: str | None
    phone: str | None
    address: str | None
    service_area: list[str]
    is_active: bool
    categories: list[str] = Field(description="ticket categories routed to it")
    compounds: list[str] = Field(description="compounds it manages (property companies)")


class StaffAssign(BaseModel):
    duty: Literal["manager", "worker"]
    duty_phone: Phone = Field(default=None, max_length=40)
    employment: Literal["full_time", "part_time"] | None = None


class StaffPublic(BaseModel):
    cell_code: str
    username: str
    full_name: str
    duty: str
    duty_phone: str | None
    employment: str | None


class CommitteeMember(BaseModel):
    title: str = Field(max_length=20, description="主任 / 副主任 / 委员 …")
    name: str = Field(max_length=40)
    phone: Phone = Field(default=None, max_length=40)


class Committee(BaseModel):
    kind: Literal["owners_committee", "management_committee"]
    members: list[CommitteeMember] = Field(default_factory=list, max_length=30)


class CompoundUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=80)
    kind: Literal["closed", "open"] | None = None
    address: str | None = Field(default=None, max_length=200)
    households: int | None = Field(default=None, ge=0, le=1_000_000)
    built_year: int | None = Field(default=None, ge=0, le=2100)
    property_company: str | None = Field(default=None, max_length=40, description="organization code; null: none")
    party_branch: str | None = Field(default=None, max_length=120)
    wechat_group: str | None = Field(default=None, max_length=120)
    committee: Committee | None = None


class BuildingUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=40)
    households: int | None = Field(default=None, ge=0, le=100_000)
    floors: int | None = Field(default=None, ge=0, le=200)


class BuildingDetailPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    households: int
    floors: int | None
    cell_code: str | None
    party_group_leader: str | None
    party_member_households: list[str]


class ContactPublic(BaseModel):
    duty: str
    name: str | None
    phone: str | None
    photo_url: str | None


class CompoundDetailPublic(BaseModel):
    code: str
    name: str
    kind: str
    address: str | None
    community_code: str
    cell_code: str | None
    households: int
    built_year: int | None
    property_company: str | None
    party_branch: str | None
    wechat_group: str | None
    committee: dict[str, Any] | None
    contacts: list[ContactPublic]


class ContactSet(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    phone: Phone = Field(default=None, max_length=40)


class ContactsChangePublic(BaseModel):
    change_id: int
    at: datetime
    username: str | None
    before: list[dict[str, Any]] | None
    after: list[dict[str, Any]] | None


class ResourceCreate(BaseModel):
    code: str | None = Field(default=None, max_length=24, description="blank: generated")
    type: str = Field(max_length=40)
    name: str = Field(min_length=1, max_length=120)
    lon: float = Field(ge=-180, le=180, description="WGS84")
    lat: float = Field(ge=-90, le=90, description="WGS84")
    address: str | None = Field(default=None, max_length=200)
    phone: Phone = Field(default=None, max_length=40)
    opening_hours: str | None = Field(default=None, max_length=255, description="OpenStreetMap opening_hours")
    features: list[str] = Field(default_factory=list, max_length=20)
    organization: str | None = Field(default=None, max_length=40)


class ResourceUpdate(BaseModel):
    type: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=120)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    address: str | None = Field(default=None, max_length=200)
    phone: Phone = Field(default=None, max_length=40)
    opening_hours: str | None = Field(default=None, max_length=255)
    features: list[str] | None = Field(default=None, max_length=20)
    organization: str | None = Field(default=None, max_length=40)


class ResourcePublic(BaseModel):
    code: str
    type: str
    type_label: str
    name: str
    lon: float
    lat: float
    address: str | None
    phone: str | None
    opening_hours: str | None = Field(description="OpenStreetMap syntax")
    hours_text: str | None = Field(description="a Chinese reading of the hours")
    open_now: bool | None
    features: list[str]
    community_code: str | None
    cell_code: str | None


class HoursCheck(BaseModel):
    opening_hours: str = Field(max_length=300)
    at: datetime | None = None


class HoursPublic(BaseModel):
    opening_hours: str
    description: str
    open_now: bool | None
    weekly: list[dict[str, Any]]


class PartyUnitCreate(BaseModel):
    kind: Literal["community_org", "compound_branch", "building_group", "member_household"]
    name: str = Field(min_length=1, max_length=120)
    code: str | None = Field(default=None, max_length=40)
    parent: str | None = Field(default=None, max_length=40, description="code of the unit above")
    community: str | None = Field(default=None, max_length=20, description="社区党组织: its community")
    compound: str | None = Field(default=None, max_length=20, description="小区党支部: its compound")
    building: str | None = Field(default=None, max_length=24, description="楼栋党小组: its building")
    leader: str | None = Field(default=None, max_length=40)
    phone: Phone = Field(default=None, max_length=40)
    members: int | None = Field(default=None, ge=0, le=100_000)


class PartyUnitUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=120)
    leader: str | None = Field(default=None, max_length=40)
    phone: Phone = Field(default=None, max_length=40)
    members: int | None = Field(default=None, ge=0, le=100_000)


class PartyUnitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    kind: str
    name: str
    parent: str | None
    community_code: str
    compound_code: str | None
    building_code: str | None
    leader: str | None
    phone: str | None
    members: int | None
    is_active: bool


class ReferenceChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    username: str | None
    table_name: str
    object_key: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    community_code: str | None
    reverts_id: int | None


class ReferenceChangePagePublic(BaseModel):
    items: list[ReferenceChangePublic]
    numberMatched: int  # noqa: N815 - same paging names as the other lists
    numberReturned: int  # noqa: N815
