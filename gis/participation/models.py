"""Participation tables. A member (双报到 party member or volunteer) is a user account (usually role resident)
with one member profile confirmed by their home community; teams group members under a leader.

Rules the database itself keeps, so that no race in the application can break them:
- a service item's `claimed` never exceeds its `capacity` (CHECK; claims increment it with a guarded UPDATE);
- a member never holds two live claims whose windows overlap (EXCLUDE USING gist on member × time range);
- the 积分 ledger is append-only (a trigger refuses UPDATE and DELETE) and every entry carries the SHA-256 of
  its content and of the previous entry of its community's chain; balances (kept by a trigger on insert)
  never go below zero (CHECK), so a redemption cannot overdraw even when two run at once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base, utcnow

MEMBER_KINDS = ("party_member", "volunteer")  # 在职党员 (双报到) / 志愿者
MEMBER_STATES = ("pending", "confirmed", "rejected")
PLACE_KINDS = ("point", "compound", "cell")
CLAIM_STATES = ("claimed", "released")
ENTRY_KINDS = ("earn", "redeem")
BODIES = ("owners_committee", "property_committee", "supervisor")  # 业委会 / 物管会 / 物业服务监督员


class Member(Base):
    """A registered party member or volunteer: one profile per user, confirmed by the home community."""

    __tablename__ = "participation_members"
    __table_args__ = (
        CheckConstraint(f"kind in {MEMBER_KINDS}", name="ck_member_kind"),
        CheckConstraint(f"status in {MEMBER_STATES}", name="ck_member_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(40))
    community_code: Mapped[str] = mapped_column(String(20), index=True)  # home community (居住地社区)
    work_unit: Mapped[str | None] = mapped_column(String(120))  # 工作单位 (双报到单位)
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    note: Mapped[str | None] = mapped_column(Text)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Team(Base):
    """A volunteer team (志愿服务队) of a community, with its leader."""

    __tablename__ = "participation_teams"
    __table_args__ = (UniqueConstraint("community_code", "name", name="uq_team_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(80))
    leader_id: Mapped[int] = mapped_column(ForeignKey("participation_members.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TeamMember(Base):
    __tablename__ = "participation_team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("participation_teams.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("participation_members.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ServiceItem(Base):
    """A service item (服务项目) a community publishes: a place, a time window, a capacity, skills wanted."""

    __tablename__ = "service_items"
    __table_args__ = (
        CheckConstraint(f"place_kind in {PLACE_KINDS}", name="ck_item_place_kind"),
        CheckConstraint("status in ('open', 'cancelled')", name="ck_item_status"),
        CheckConstraint("ends_at > starts_at", name="ck_item_window"),
        CheckConstraint("capacity > 0", name="ck_item_capacity"),
        CheckConstraint("claimed >= 0 AND claimed <= capacity", name="ck_item_claimed_within_capacity"),
        Index("ix_service_items_community_starts", "community_code", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    place_kind: Mapped[str] = mapped_column(String(10))
    place_code: Mapped[str | None] = mapped_column(String(20))  # compound or cell code
    place_name: Mapped[str | None] = mapped_column(String(120))
    geom: Mapped[WKBElement] = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=True))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Integer, server_default="0")
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    status: Mapped[str] = mapped_column(String(20), server_default="open")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("participation_teams.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Claim(Base):
    """A member's claim (认领) of a place on an item: sign-in and sign-out on site, hours confirmed."""

    __tablename__ = "service_claims"
    __table_args__ = (
        CheckConstraint(f"status in {CLAIM_STATES}", name="ck_claim_status"),
        Index("uq_claim_live", "item_id", "member_id", unique=True, postgresql_where=text("status = 'claimed'")),
        # no double booking: one member, no two live claims with overlapping windows
        ExcludeConstraint(
            ("member_id", "="),
            (text("tstzrange(starts_at, ends_at)"), "&&"),
            name="ex_claim_no_overlap",
            using="gist",
            where=text("status = 'claimed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("participation_members.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("participation_teams.id", ondelete="SET NULL"))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), server_default="claimed")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the item's window, for the EXCLUDE
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_in_m: Mapped[float | None] = mapped_column(Float)  # distance to the place at sign-in
    signed_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_out_m: Mapped[float | None] = mapped_column(Float)
    minutes: Mapped[float | None] = mapped_column(Float)  # on site, within the window (from the sign-in/out)
    confirmed_minutes: Mapped[float | None] = mapped_column(Float)  # as confirmed by the community
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PointsEntry(Base):
    """One 积分 ledger entry (append-only): `hash` = sha256(content + `prev_hash`), chained per community."""

    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("community_code", "seq", name="uq_points_chain_seq"),
        CheckConstraint(f"kind in {ENTRY_KINDS}", name="ck_points_kind"),
        CheckConstraint("(kind = 'earn' AND points > 0) OR (kind = 'redeem' AND points < 0)", name="ck_points_sign"),
        Index("ix_points_entries_user", "user_id", "community_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_code: Mapped[str] = mapped_column(String(20))
    seq: Mapped[int] = mapped_column(Integer)  # position in the community's chain, from 1
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str | None] = mapped_column(String(40))  # the rule an earning follows
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))  # kg, hours, pieces … (goods for a redemption)
    points: Mapped[int] = mapped_column(Integer)  # signed: + earned, − redeemed
    ref: Mapped[str | None] = mapped_column(String(60))  # claim:ID, goods:ID …
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class PointsBalance(Base):
    """A resident's balance in a community, kept by a trigger on points_entries (never below zero)."""

    __tablename__ = "points_balances"
    __table_args__ = (CheckConstraint("balance >= 0", name="ck_points_balance_not_negative"),)

    community_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, server_default="0")


class ExchangeGoods(Base):
    """Goods offered on a community's exchange day (积分兑换日), with their price in points and their stock."""

    __tablename__ = "exchange_goods"
    __table_args__ = (
        UniqueConstraint("community_code", "name", name="uq_exchange_goods_name"),
        CheckConstraint("points_cost > 0", name="ck_goods_cost"),
        CheckConstraint("stock >= 0", name="ck_goods_stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(80))
    points_cost: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class CompoundRole(Base):
    """A member of a compound's 业委会 / 物管会, or one of its 物业服务监督员."""

    __tablename__ = "compound_roles"
    __table_args__ = (
        UniqueConstraint("compound_code", "user_id", "body", name="uq_compound_role"),
        CheckConstraint(f"body in {BODIES}", name="ck_compound_role_body"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_code: Mapped[str] = mapped_column(String(20), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(String(30))
    title: Mapped[str | None] = mapped_column(String(40))  # 主任, 委员, 楼栋长 …
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)


class PropertyRating(Base):
    """A 监督员's monthly rating of the compound's property company: each fixed item 1–5."""

    __tablename__ = "property_ratings"
    __table_args__ = (
        UniqueConstraint("compound_code", "rater_id", "month", name="uq_property_rating_month"),
        CheckConstraint("extract(day from month) = 1", name="ck_rating_month_first_day"),
        CheckConstraint("score >= 1 AND score <= 5", name="ck_rating_score"),
        Index("ix_property_ratings_org_month", "organization_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_code: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    scores: Mapped[dict[str, Any]] = mapped_column(JSONB)
    score: Mapped[float] = mapped_column(Float)  # mean of the items, 1–5
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JointMeeting(Base):
    """物业管理联席会议: when, who attended, what was decided (each decision may settle tickets)."""

    __tablename__ = "joint_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(String(20), index=True)
    compound_code: Mapped[str | None] = mapped_column(String(20))
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(120))
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")  # [{name, unit}]
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")  # [{text, ticket_ids}]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MeetingTicket(Base):
    """A ticket a 联席会议 decided on."""

    __tablename__ = "joint_meeting_tickets"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("joint_meetings.id", ondelete="CASCADE"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, index=True)
    decision: Mapped[str] = mapped_column(Text)
