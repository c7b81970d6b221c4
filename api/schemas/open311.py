"""Open311 GeoReport v2 answers (JSON; the same fields as XML elements). Documentation only: the router
renders these itself, in JSON or XML."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ServicePublic(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class AttributeValuePublic(BaseModel):
    key: str
    name: str


class ServiceAttributePublic(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValuePublic]


class ServiceDefinitionPublic(BaseModel):
    service_code: str
    attributes: list[ServiceAttributePublic]


class ServiceRequestPublic(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str | None
    service_notice: str
    requested_datetime: str | None = Field(description="ISO 8601, Beijing time")
    updated_datetime: str | None
    expected_datetime: str | None
    address: str
    address_id: str
    zipcode: str
    lat: float
    long: float
    media_url: str


class ServiceRequestCreatedPublic(BaseModel):
    service_request_id: str
    token: str
    service_notice: str
    account_id: str | None


class ServiceRequestTokenPublic(BaseModel):
    service_request_id: str
    token: str


class Open311ErrorPublic(BaseModel):
    code: int
    description: str
