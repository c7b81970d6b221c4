"""Evaluation tables: the working calendar (so working hours are SQL), 议事协商 topics and meetings, and the
stored 通报 (one per kind, 街道 and period; the Word and Excel files kept as written)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base, utcnow


class WorkCalendarDay(Base):
    """One date of the Chinese working calendar (filled from chinese_calendar on demand, see calendar.py).

    `working_days_before` counts the working dates strictly before `day`, so the working time between two
    instants is a difference of two lookups (no day walk)."""

    __tablename__ = "work_calendar"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    working_days_before: Mapped[int] = mapped_column(Integer)


TOPIC_STATUSES = ("open", "agreed", "rejected", "shelved")


class ConsultationTopic(Base):
    """议事协商 / 圆桌会议: one topic of a compound (e.g. 加装电梯), discussed over rounds of meetings."""

    __tablename__ = "consultation_topics"
    __table_args__ = (CheckConstraint(f"status in {TOPIC_STATUSES}", name="ck_consultation_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_code: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), server_default="open")
    outcome: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsultationMeeting(Base):
    """One round: when, where, who came, how they voted, the minutes and photos (attachment ids)."""

    __tablename__ = "consultation_meetings"
    __table_args__ = (
        UniqueConstraint("topic_id", "round", name="uq_consultation_meeting_round"),
        CheckConstraint(
            "attendance >= 0 AND agree >= 0 AND disagree >= 0 AND abstain >= 0", name="ck_consultation_meeting_counts"
        ),
        CheckConstraint("agree + disagree + abstain <= attendance", name="ck_consultation_meeting_votes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("consultation_topics.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str | None] = mapped_column(String(120))
    attendance: Mapped[int] = mapped_column(Integer)
    agree: Mapped[int] = mapped_column(Integer)
    disagree: Mapped[int] = mapped_column(Integer, server_default="0")
    abstain: Mapped[int] = mapped_column(Integer, server_default="0")
    minutes: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


consultation_topic_tickets = Table(
    "consultation_topic_tickets",
    Base.metadata,
    Column("topic_id", ForeignKey("consultation_topics.id", ondelete="CASCADE"), primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
)

REPORT_KINDS = ("monthly", "quarterly")


class EvaluationReport(Base):
    """物业工单定期通报 as written: its figures (JSON), the Word and the Excel file."""

    __tablename__ = "evaluation_reports"
    __table_args__ = (
        UniqueConstraint("kind", "street_code", "period_start", name="uq_evaluation_report"),
        CheckConstraint(f"kind in {REPORT_KINDS}", name="ck_evaluation_report_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    street_code: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    docx: Mapped[bytes] = mapped_column(LargeBinary)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
