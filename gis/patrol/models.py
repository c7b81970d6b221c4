"""Patrol tables. GPS fixes are the largest table the product has (a 街道 ~2 M rows a day): append-only,
narrow (patrol id, time, point, three reals, a flag bitmask), BRIN-indexed on time, with (patrol, time) as
primary key so that a replayed or overlapping batch is deduplicated by the database. Everything derived
(on-site minutes, coverage, logs) is recomputable from the fixes, check-ins and answers.

patrol_fixes is range-partitioned on `t` (migration 0021; gis/patrol/partitions.py): a partition per local
month or day (data/config/patrol.yaml `storage`) with the same BRIN and unique (patrol_id, t), a DEFAULT one,
partitions created ahead and dropped past the retention by a nightly job.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    ARRAY,
    REAL,
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

# patrol_fixes.flags bits: a flagged fix is kept but left out of on-site time and trajectories
FLAG_ACCURACY = 1  # accuracy worse than fixes.max_accuracy_m
FLAG_SPEED = 2  # an impossible jump from the previous fix
FLAG_OUTSIDE = 4  # far outside every cell of the worker
FLAG_NAMES = {FLAG_ACCURACY: "accuracy", FLAG_SPEED: "speed", FLAG_OUTSIDE: "outside"}


class PatrolAssignment(Base):
    """定岗: a worker assigned to a compound (2–3 per compound), with its period: replacing the workers closes
    the old rows (valid_to) so a past day is judged against the assignments in force that day."""

    __tablename__ = "patrol_assignments"
    __table_args__ = (
        Index(
            "uq_patrol_assignment_open",
            "compound_code",
            "user_id",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),  # fmt: skip
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_patrol_assignment_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_code: Mapped[str] = mapped_column(String(20), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, server_default=text("now()"))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Patrol(Base):
    """One patrol of one worker: started, streamed, ended (or closed at day's end by the scheduler)."""

    __tablename__ = "patrols"
    __table_args__ = (
        UniqueConstraint("user_id", "client_key", name="uq_patrol_client_key"),
        Index("ix_patrols_user_started", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_key: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    auto_closed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))  # never ended: closed at day's end


class PatrolFix(Base):
    """One GPS fix (WGS84). No surrogate key: (patrol_id, t) is the identity."""

    __tablename__ = "patrol_fixes"
    __table_args__ = (Index("ix_patrol_fixes_t_brin", "t", postgresql_using="brin"),)

    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True)
    t: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    speed_mps: Mapped[float | None] = mapped_column(REAL)
    heading_deg: Mapped[float | None] = mapped_column(REAL)
    flags: Mapped[int] = mapped_column(SmallInteger, server_default="0")


class PatrolVisit(Base):
    """A check-in at a compound (the 五必查 answers and household visits hang off it)."""

    __tablename__ = "patrol_visits"
    __table_args__ = (
        UniqueConstraint("patrol_id", "client_key", name="uq_patrol_visit_client_key"),
        Index("ix_patrol_visits_compound_t", "compound_code", "t"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_key: Mapped[str] = mapped_column(String(100))
    compound_code: Mapped[str | None] = mapped_column(String(20))
    cell_code: Mapped[str | None] = mapped_column(String(15))
    t: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))


class PatrolAnswer(Base):
    """One 五必查 item answered at a visit; a problem carries the ticket it became."""

    __tablename__ = "patrol_answers"
    __table_args__ = (
        UniqueConstraint("visit_id", "item", name="uq_patrol_answer_item"),
        CheckConstraint("status in ('ok', 'problem')", name="ck_patrol_answer_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("patrol_visits.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MustVisitHousehold(Base):
    """四必到 特殊群体: a household visited every `every_days` (by kind); personal data, read by the cell's staff."""

    __tablename__ = "must_visit_households"

    id: Mapped[int] = mapped_column(primary_key=True)
    cell_code: Mapped[str] = mapped_column(String(15), index=True)
    compound_code: Mapped[str | None] = mapped_column(String(20))
    building: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))
    label: Mapped[str | None] = mapped_column(String(80))  # e.g. a surname, as the worker knows them
    every_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HouseholdVisit(Base):
    """A household visited at a check-in."""

    __tablename__ = "household_visits"
    __table_args__ = (UniqueConstraint("visit_id", "household_id", name="uq_household_visit"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("patrol_visits.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("must_visit_households.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PatrolSiteDay(Base):
    """Derived nightly (recomputable): minutes on site per worker × compound × day, and distance walked."""

    __tablename__ = "patrol_site_days"
    __table_args__ = (UniqueConstraint("day", "user_id", "compound_code", name="uq_patrol_site_day"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    compound_code: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[float] = mapped_column(Float)


class PatrolLog(Base):
    """民情工作日志: the nightly log of one worker or one compound (日巡查、日记录、日反馈)."""

    __tablename__ = "patrol_logs"
    __table_args__ = (
        UniqueConstraint("day", "subject_kind", "subject", name="uq_patrol_log"),
        CheckConstraint("subject_kind in ('worker', 'compound')", name="ck_patrol_log_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    subject_kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(40))  # user id or compound code
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
