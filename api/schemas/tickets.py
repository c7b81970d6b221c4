"""Ticket request/response shapes (TicketCreate / TicketOut / TicketDetailOut …)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Action = Literal[
    "accept",
    "dispatch",
    "claim",
    "reject",
    "start",
    "escalate",
    "resolve",
    "verify",
    "close",
    "suspend",
    "resume",
    "reopen",
    "merge",
    "acknowledge",
    "report_part",
    "follow_up",
    "rate",
]


class TicketCreate(BaseModel):
    category: str = Field(description="category code, see GET /v1/ticket-categories", max_length=40)
    description: str = Field(min_length=1, max_length=4000)
    lon: float | None = Field(default=None, description="longitude in `crs`")
    lat: float | None = Field(default=None, description="latitude in `crs`")
    crs: str = Field(default="wgs84", description="wgs84, gcj02, bd09, cgcs2000 or EPSG:NNNN")
    address: str | None = Field(default=None, max_length=200)
    channel: str = Field(
        default="resident", description="resident, grid_worker, patrol, hotline_12345, property_400, staff"
    )
    urgency: Literal["normal", "urgent"] = "normal"
    tier: str | None = Field(
        default=None, description="SLA tier (staff only), e.g. normal, difficult, tough, major_risk"
    )
    reporter_name: str | None = Field(default=None, max_length=60)
    reporter_phone: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, max_length=60)
    opened_at: datetime | None = None
    photo_ids: list[int] = Field(default_factory=list, max_length=20)
    attributes: dict[str, Any] = Field(default_factory=dict)
    merge_into: int | None = Field(default=None, description="merge at once into this open ticket (duplicate)")
    client_key: str | None = Field(default=None, max_length=100, description="idempotency key (offline clients)")


class TicketOut(BaseModel):
    id: int
    category: str
    category_label: str
    description: str
    address: str | None
    lon: float
    lat: float
    channel: str
    urgency: str
    state: str
    state_label: str
    cell_code: str
    community_code: str | None
    compound_code: str | None
    unit_id: int | None
    unit_name: str | None
    unit_type: str
    sla_profile: str
    tier: str
    tier_label: str
    opened_at: datetime
    due_stage: str | None
    due_at: datetime | None
    resolve_due_at: datetime | None
    overdue_now: bool
    ever_overdue: bool
    resolved_at: datetime | None
    closed_at: datetime | None
    merged_into_id: int | None
    reopen_count: int


class TicketDetailOut(TicketOut):
    reporter_name: str | None = None
    reporter_phone: str | None = None
    token: str | None = None
    cell_manager: dict[str, Any] | None = None
    cell_workers: list[dict[str, Any]] = []
    allowed_actions: list[dict[str, str]] = []
    parts: list[dict[str, Any]] = []
    photos: list[dict[str, Any]] = []
    follow_ups: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []


class DuplicateOut(BaseModel):
    id: int
    state: str
    state_label: str
    description: str
    opened_at: datetime
    distance_m: float


class IntakeOut(BaseModel):
    id: int
    state: str
    token: str = Field(description="keep it: with your phone number it lets you follow and rate the ticket")
    cell_code: str
    compound_code: str | None
    unit_name: str | None
    route: str
    tier: str
    due_at: datetime | None
    resolve_due_at: datetime | None
    duplicates: list[DuplicateOut]
    replayed: bool = False


class TicketPageOut(BaseModel):
    items: list[TicketOut]
    numberMatched: int  # noqa: N815 - same paging names as the GeoJSON endpoints
    numberReturned: int  # noqa: N815


class ActionIn(BaseModel):
    action: Action
    note: str | None = Field(default=None, max_length=4000)
    payload: dict[str, Any] = Field(default_factory=dict)
    client_key: str | None = Field(default=None, max_length=100)


class ActionOut(BaseModel):
    ticket_id: int
    state: str
    action: str
    replayed: bool = False


class RatingIn(BaseModel):
    stars: int = Field(ge=1, le=5)
    solved: bool = True
    comment: str | None = Field(default=None, max_length=2000)
    token: str | None = Field(default=None, description="the ticket's token (reporters without an account)")
    phone: str | None = Field(default=None, description="the reporter's phone (with token)")


class EventOut(BaseModel):
    id: int
    at: datetime
    actor: str | None
    actor_id: int | None
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None
    public: bool
    payload: dict[str, Any]


class BatchItem(BaseModel):
    client_key: str = Field(min_length=1, max_length=100)
    kind: Literal["ticket", "action"]
    ticket: TicketCreate | None = None
    ticket_id: int | None = None
    ticket_ref: str | None = Field(default=None, description="client_key of a ticket created earlier in the batch")
    action: Action | None = None
    note: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class BatchIn(BaseModel):
    items: list[BatchItem] = Field(min_length=1, max_length=2000)


class BatchResult(BaseModel):
    client_key: str
    ok: bool
    ticket_id: int | None = None
    state: str | None = None
    replayed: bool = False
    error: dict[str, Any] | None = None


class BatchOut(BaseModel):
    results: list[BatchResult]
    created: int
    replayed: int
    failed: int


class ImportRowError(BaseModel):
    row: int
    external_id: str | None
    error: str
    message: str


class ImportOut(BaseModel):
    rows: int
    created: int
    skipped: int
    failed: int
    ticket_ids: list[int]
    errors: list[ImportRowError]


class AttachmentOut(BaseModel):
    id: int
    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    exif_lon: float | None
    exif_lat: float | None
    url: str
    thumb_url: str
