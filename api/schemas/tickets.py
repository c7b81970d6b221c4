"""Ticket request/response shapes (TicketCreate / TicketPublic / TicketDetailPublic …).

Dates without a timezone in requests are Beijing time (`LocalDatetime`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from api.schemas.common import NAIVE_IS_BEIJING, LocalDatetime

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
        default="resident",
        description="resident or suggestion (意见箱); staff also grid_worker, patrol, hotline_12345, property_400, "
        "staff",
    )
    urgency: Literal["normal", "urgent"] = "normal"
    tier: str | None = Field(
        default=None, description="SLA tier (staff only), e.g. normal, difficult, tough, major_risk"
    )
    reporter_name: str | None = Field(default=None, max_length=60)
    reporter_phone: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, max_length=60, description="staff only")
    opened_at: LocalDatetime | None = Field(
        default=None, description=f"staff only: when it happened (default now); {NAIVE_IS_BEIJING}"
    )
    photo_ids: list[int] = Field(
        default_factory=list, max_length=20, description="ids of photos you uploaded while logged in"
    )
    photo_tokens: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list,
        max_length=20,
        description="upload_token of each photo uploaded without logging in (POST /v1/attachments)",
    )
    attributes: dict[str, Any] = Field(default_factory=dict)
    merge_into: int | None = Field(default=None, description="merge at once into this open ticket (duplicate)")
    client_key: str | None = Field(default=None, max_length=100, description="idempotency key (offline clients)")


class TicketPublic(BaseModel):
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


class TicketDetailPublic(TicketPublic):
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


class DuplicatePublic(BaseModel):
    id: int
    state: str
    state_label: str
    description: str
    opened_at: datetime
    distance_m: float


class IntakePublic(BaseModel):
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
    duplicates: list[DuplicatePublic]
    replayed: bool = False


class TicketPagePublic(BaseModel):
    items: list[TicketPublic]
    numberMatched: int  # noqa: N815 - same paging names as the GeoJSON endpoints
    numberReturned: int  # noqa: N815


class ActionCreate(BaseModel):
    action: Action
    note: str | None = Field(default=None, max_length=4000)
    payload: dict[str, Any] = Field(default_factory=dict)
    client_key: str | None = Field(default=None, max_length=100)


class ActionPublic(BaseModel):
    ticket_id: int
    state: str
    action: str
    replayed: bool = False


class RatingCreate(BaseModel):
    stars: int = Field(ge=1, le=5)
    solved: bool = True
    comment: str | None = Field(default=None, max_length=2000)
    token: str | None = Field(default=None, description="the ticket's token (reporters without an account)")
    phone: str | None = Field(default=None, description="the reporter's phone (with token)")


class EventPublic(BaseModel):
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


class BatchItemCreate(BaseModel):
    client_key: str = Field(min_length=1, max_length=100)
    kind: Literal["ticket", "action"]
    ticket: TicketCreate | None = None
    ticket_id: int | None = None
    ticket_ref: str | None = Field(default=None, description="client_key of a ticket created earlier in the batch")
    action: Action | None = None
    note: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class BatchCreate(BaseModel):
    items: list[BatchItemCreate] = Field(min_length=1, max_length=2000)


class BatchResultPublic(BaseModel):
    client_key: str
    ok: bool
    ticket_id: int | None = None
    state: str | None = None
    replayed: bool = False
    error: dict[str, Any] | None = None


class BatchPublic(BaseModel):
    results: list[BatchResultPublic]
    created: int
    replayed: int
    failed: int


class HotlineRowErrorPublic(BaseModel):
    row: int
    external_id: str | None
    error: str
    message: str


class HotlineImportPublic(BaseModel):
    rows: int
    created: int
    skipped: int
    failed: int
    ticket_ids: list[int]
    errors: list[HotlineRowErrorPublic]


class AttachmentPublic(BaseModel):
    """An uploaded photo (read from its attachment row)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    exif_lon: float | None
    exif_lat: float | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        return f"/v1/attachments/{self.id}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def thumb_url(self) -> str:
        return f"/v1/attachments/{self.id}/thumb"

    @computed_field(  # type: ignore[prop-decorator]
        description="send it in photo_tokens of POST /v1/tickets to attach this photo to an anonymous report"
    )
    @property
    def upload_token(self) -> str:
        return f"{self.id}.{self.sha256}"


class CategoryPublic(BaseModel):
    code: str
    label: str
    group: str
    unit_type: str = Field(description="the kind of unit a ticket of this category is routed to")
    property: bool = Field(description="handled by the property company inside a compound")


class TierPublic(BaseModel):
    label: str
    resolve: str = Field(description="time to resolve, e.g. 24小时 or 5个工作日")
    escalate: str | None = Field(description="immediate, overdue or null")


class ProfilePublic(BaseModel):
    label: str
    stages: dict[str, str] = Field(description="state -> time allowed in it")
    tiers: dict[str, TierPublic]


class TicketCategoriesPublic(BaseModel):
    categories: list[CategoryPublic]
    profiles: dict[str, ProfilePublic]
    dedupe_radius_m: float
