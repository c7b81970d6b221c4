"""Ticket tables (工单): the work order, its append-only event log, 吹哨 parts, follow-ups, ratings,
photos, idempotency keys, Open311 API keys and periodic reports.

Tickets refer to cells, compounds and communities by their stable codes (as other tables do) and keep
the id of the cell version they were anchored to, so "which cell was it in then" survives a redraw.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base, utcnow

STATES = (
    "reported",  # 上报
    "accepted",  # 立案
    "dispatched",  # 派遣
    "claimed",  # 接单
    "in_progress",  # 处置
    "resolved",  # 办结
    "verified",  # 核查
    "closed",  # 结案
    "rejected",  # 退单 (back to the dispatcher)
    "suspended",  # 挂起
    "escalated",  # 吹哨
    "reopened",  # 重办 (resident not satisfied)
    "merged",  # 合并 (duplicate)
)
CHANNELS = ("resident", "grid_worker", "patrol", "hotline_12345", "property_400", "open311", "staff", "suggestion")
PART_STATES = ("called", "acknowledged", "done")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"state in {STATES}", name="ck_ticket_state"),
        CheckConstraint(f"channel in {CHANNELS}", name="ck_ticket_channel"),
        CheckConstraint("urgency in ('normal', 'urgent')", name="ck_ticket_urgency"),
        # per-cell counts of open / overdue tickets for the operations map (index-only, 4x faster at 1e6)
        Index("ix_tickets_state_cell", "state", "cell_code"),
        Index(
            "uq_tickets_channel_external_id",
            "channel",
            "external_id",
            unique=True,
            postgresql_where=text("external_id is not null"),
        ),
        Index("ix_tickets_unit_state", "unit_id", "state"),
        Index("ix_tickets_due_at", "due_at", postgresql_where=text("due_at is not null")),
        # the KPIs' cohort (opened in a period) read index-only: every column gis.evaluation.kpis reads (0019)
        Index(
            "ix_tickets_opened_at",
            "opened_at",
            postgresql_include=[
                "id",
                "category",
                "channel",
                "tier",
                "state",
                "cell_code",
                "compound_code",
                "community_code",
                "unit_id",
                "resolved_at",
                "resolve_due_at",
                "reopen_count",
                "overdue",
            ],
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # public handle (Open311 token, receipts)
    category: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    source_crs: Mapped[str] = mapped_column(String(20), server_default="wgs84")
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(60))  # e.g. the 12345 hotline ticket number
    urgency: Mapped[str] = mapped_column(String(10), server_default="normal")
    state: Mapped[str] = mapped_column(String(20), index=True)
    state_before_suspend: Mapped[str | None] = mapped_column(String(20))

    # anchoring (at the boundary version in force on entry)
    cell_code: Mapped[str] = mapped_column(String(15), index=True)
    cell_version_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"))
    community_code: Mapped[str | None] = mapped_column(String(20), index=True)
    compound_code: Mapped[str | None] = mapped_column(String(20), index=True)

    # routing (派单)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    unit_type: Mapped[str] = mapped_column(String(40))

    # people
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(60))
    reporter_phone: Mapped[str | None] = mapped_column(String(40))
    notify_opt_out: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))  # no SMS receipts
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)

    # SLA (时限)
    sla_profile: Mapped[str] = mapped_column(String(30))
    tier: Mapped[str] = mapped_column(String(30))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # indexed, covering: __table_args__
    due_stage: Mapped[str | None] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolve_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))  # ever overdue (KPIs)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_count: Mapped[int] = mapped_column(Integer, server_default="0")

    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketEvent(Base):
    """Append-only audit trail (a database trigger refuses UPDATE and DELETE)."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str | None] = mapped_column(String(80))  # "12345 导入", "open311:<app>", "system"
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))  # K9: public vs internal note
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class TicketPart(Base):
    """吹哨: one called department's share of an escalated ticket (报到, then its report)."""

    __tablename__ = "ticket_parts"
    __table_args__ = (
        UniqueConstraint("ticket_id", "organization_id", name="uq_ticket_part_org"),
        CheckConstraint(f"state in {PART_STATES}", name="ck_ticket_part_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), server_default="called")
    task: Mapped[str | None] = mapped_column(Text)
    called_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report: Mapped[str | None] = mapped_column(Text)


class FollowUp(Base):
    """一案一回访: the follow-up call or visit after resolution."""

    __tablename__ = "ticket_follow_ups"
    __table_args__ = (
        CheckConstraint("method in ('phone', 'visit', 'sms', 'wechat')", name="ck_follow_up_method"),
        CheckConstraint("outcome in ('satisfied', 'unsatisfied', 'unreachable')", name="ck_follow_up_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(15))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Rating(Base):
    """评单: the reporter's 1–5 stars for one resolution."""

    __tablename__ = "ticket_ratings"
    __table_args__ = (CheckConstraint("stars between 1 and 5", name="ck_rating_stars"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stars: Mapped[int] = mapped_column(SmallInteger)
    solved: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attachment(Base):
    """A photo: bytes stored content-addressed on disk (EXIF stripped), metadata here."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    exif_lon: Mapped[float | None] = mapped_column(Float)
    exif_lat: Mapped[float | None] = mapped_column(Float)
    filename: Mapped[str | None] = mapped_column(String(200))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotencyKey(Base):
    """A client-generated key per ticket/event of an offline batch, with the answer it got."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))  # "user:<id>", "public", "open311:<key id>"
    key: Mapped[str] = mapped_column(String(100))
    request_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Open311Key(Base):
    """An Open311 client application's api_key (stored as SHA-256)."""

    __tablename__ = "open311_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketReport(Base):
    """Periodic summaries (nightly, monthly) written by the scheduler; one per kind and period."""

    __tablename__ = "ticket_reports"
    __table_args__ = (UniqueConstraint("kind", "period_start", name="uq_ticket_report_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
