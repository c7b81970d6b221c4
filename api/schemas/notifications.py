"""Notifications: the in-app inbox, preferences, the delivery log (admin)."""

from __future__ import annotations

from datetime import datetime, time

from pydantic import BaseModel, ConfigDict, Field


class InboxItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event: str
    ticket_id: int | None
    title: str
    body: str
    link: str | None
    urgent: bool
    created_at: datetime
    read_at: datetime | None


class InboxPublic(BaseModel):
    unread: int
    items: list[InboxItemPublic]
    numberMatched: int  # noqa: N815 - same paging names as the other lists
    numberReturned: int  # noqa: N815


class UnreadPublic(BaseModel):
    unread: int


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(default_factory=list, max_length=1000)
    all: bool = False


class MarkedPublic(BaseModel):
    marked: int
    unread: int


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    muted: list[str] = Field(default_factory=list, max_length=100, description='channels ("sms") or "event:channel"')
    quiet_start: time | None = Field(default=None, description="no SMS from (Asia/Shanghai), unless urgent")
    quiet_end: time | None = None
    email: str | None = Field(default=None, max_length=200)


class PreferencesPublic(PreferencesUpdate):
    model_config = ConfigDict(from_attributes=True)


class OptOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: int
    token: str = Field(min_length=8, max_length=40, description="the ticket's token from the receipt")


class OptOutPublic(BaseModel):
    ticket_id: int
    cancelled: int


class DeliveryPublic(BaseModel):
    id: int
    event: str
    channel: str
    status: str
    to: str | None
    user_id: int | None
    organization_id: int | None
    ticket_id: int | None
    street_code: str | None
    title: str
    body: str
    link: str | None
    urgent: bool
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    last_answer: str | None
    last_status_code: int | None


class DeliveryPagePublic(BaseModel):
    items: list[DeliveryPublic]
    numberMatched: int  # noqa: N815
    numberReturned: int  # noqa: N815


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    ok: bool
    status_code: int | None
    answer: str | None
    error: str | None
    duration_ms: int


class DeliveryDetailPublic(DeliveryPublic):
    attempt_log: list[AttemptPublic]
