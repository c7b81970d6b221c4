"""Tables of the reference-data area: the audit trail of every change, and the party hierarchy (T1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base, utcnow

CHANGE_ACTIONS = ("create", "update", "disable", "enable", "delete", "revert")
PARTY_KINDS = ("community_org", "compound_branch", "building_group", "member_household")


class ReferenceChange(Base):
    """One change to reference data: who, when, which object (table + key), its state before and after.

    Written in the transaction of the change itself, so a change without its audit row cannot be committed.
    `before` is NULL for a creation, `after` NULL for a deletion."""

    __tablename__ = "reference_changes"
    __table_args__ = (
        CheckConstraint(f"action in {CHANGE_ACTIONS}", name="ck_reference_change_action"),
        Index("ix_reference_changes_object", "table_name", "object_key", "at"),
        Index("ix_reference_changes_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    username: Mapped[str | None] = mapped_column(String(60))  # kept when the account is removed
    table_name: Mapped[str] = mapped_column(String(40))
    object_key: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(10))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    community_code: Mapped[str | None] = mapped_column(String(20))  # where the object lies (None: street-wide)
    reverts_id: Mapped[int | None] = mapped_column(ForeignKey("reference_changes.id", ondelete="SET NULL"))


class PartyUnit(Base):
    """党建: 社区党组织 › 小区党支部 › 楼栋党小组 › 党员中心户, each attached to a community, compound or building.

    The place columns are filled down the tree (a 楼栋党小组 knows its compound and community too), so a
    jurisdiction filter on `community_code` covers every level."""

    __tablename__ = "party_units"
    __table_args__ = (
        CheckConstraint(f"kind in {PARTY_KINDS}", name="ck_party_unit_kind"),
        CheckConstraint("(kind = 'community_org') = (parent_id is null)", name="ck_party_unit_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("party_units.id", ondelete="RESTRICT"), index=True)
    community_code: Mapped[str] = mapped_column(String(20), index=True)
    compound_code: Mapped[str | None] = mapped_column(String(20), index=True)
    building_code: Mapped[str | None] = mapped_column(String(24))
    leader: Mapped[str | None] = mapped_column(String(40))  # 书记 / 小组长 / 户主
    phone: Mapped[str | None] = mapped_column(String(40))
    members: Mapped[int | None] = mapped_column()  # 党员人数
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
