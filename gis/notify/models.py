"""The outbox: one message per recipient × channel (unique idempotency key), its attempts, user preferences."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, Time, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base, utcnow

STATUSES = ("queued", "sending", "delivered", "failed", "cancelled")


class OutboxMessage(Base):
    """A message for one recipient on one channel. `key` makes the write idempotent: an event that fires twice
    (a retried request, a re-run nightly job) adds nothing; the delivery job sends each row at most once after
    the channel acknowledged it."""

    __tablename__ = "notify_messages"
    __table_args__ = (
        Index("ix_notify_messages_due", "next_attempt_at", postgresql_where=text("status in ('queued', 'sending')")),
        Index("ix_notify_messages_inbox", "user_id", "id", postgresql_where=text("channel = 'inbox'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # inbox, sms, email, wecom, dingtalk, feishu, webhook, log
    street_code: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    address: Mapped[str | None] = mapped_column(String(400))  # phone, e-mail or robot URL (never shown unmasked)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(400))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # template params (SMS)
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(12), server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxAttempt(Base):
    """One try to deliver a message and what the channel answered (status, body), for the delivery log."""

    __tablename__ = "notify_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("notify_messages.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, server_default="0")


class NotifyPreference(Base):
    """A user's choices: channels or event:channel pairs muted, quiet hours (Asia/Shanghai), e-mail address."""

    __tablename__ = "notify_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    muted: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    email: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
