"""Boundary plans (规划草案): drafts of redrawn grid cells, and the history of their commits.

A plan holds only what differs from the live cells (added / changed / removed features). It records,
per community it touches, the ids of the live cell versions it was based on: a commit checks them
(optimistic locking), so a plan drawn on a version that someone else has since replaced gets 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base, utcnow
from gis.plans.layers import AREA_LAYERS

PLAN_STATUSES = ("draft", "committed", "abandoned")
FEATURE_ACTIONS = ("add", "change", "remove")


class BoundaryPlan(Base):
    """A draft of redrawn cells for one or more communities."""

    __tablename__ = "boundary_plans"
    __table_args__ = (CheckConstraint(f"status in {PLAN_STATUSES}", name="ck_plan_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), server_default="draft", default="draft")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # {community_code: [ids of the live grid_cells versions when the community entered the plan]}
    base: Mapped[dict[str, list[int]]] = mapped_column(JSONB, server_default="{}", default=dict)
    source: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}", default=dict)  # last import


class PlanFeature(Base):
    """One cell in a plan: added, changed (geometry or attributes) or removed against the live version."""

    __tablename__ = "plan_features"
    __table_args__ = (
        UniqueConstraint("plan_id", "code", name="uq_plan_feature_code"),
        CheckConstraint(f"action in {FEATURE_ACTIONS}", name="ck_plan_feature_action"),
        CheckConstraint("cell_type in ('basic', 'dedicated')", name="ck_plan_feature_cell_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("boundary_plans.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(15))
    community_code: Mapped[str] = mapped_column(String(20), index=True)
    action: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(80))
    cell_type: Mapped[str] = mapped_column(String(20), server_default="basic", default="basic")
    households: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    population: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    # the live version this feature replaces (None for additions)
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}", default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # may be invalid (self-intersections are kept so that validation can show and repair them)
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))


class PlanCommit(Base):
    """One commit of a plan: who, when, why, and the report of what moved."""

    __tablename__ = "plan_commits"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("boundary_plans.id"), index=True)
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    message: Mapped[str] = mapped_column(Text)
    communities: Mapped[list[str]] = mapped_column(JSONB, server_default="[]", default=list)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}", default=dict)


IMPORT_STATUSES = ("queued", "running", "done", "failed")


class PlanArea(Base):
    """A compound (小区) or community (社区) boundary in a plan: added, changed or removed against the live row.

    Compounds and communities are not versioned like cells; the commit keeps the replaced geometry here
    (`old_geom`) so the history of a plan shows both. `base_hash` fingerprints the live row (geometry and
    name) when it entered the plan: a commit refuses (409) if the live row changed since.
    """

    __tablename__ = "plan_areas"
    __table_args__ = (
        UniqueConstraint("plan_id", "layer", "code", name="uq_plan_area_code"),
        CheckConstraint(f"layer in {AREA_LAYERS}", name="ck_plan_area_layer"),
        CheckConstraint(f"action in {FEATURE_ACTIONS}", name="ck_plan_area_action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("boundary_plans.id", ondelete="CASCADE"), index=True)
    layer: Mapped[str] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(20))
    community_code: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(80))
    # compounds: kind (closed/open), households, address; communities: party_org, secretary, phone
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}", default=dict)
    base_id: Mapped[int | None] = mapped_column(Integer)  # id of the live compounds / admin_areas row
    base_hash: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))
    old_geom: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class PlanImport(Base):
    """A file import running in the background: its progress (stage, done of total) and its report or error.

    The uploaded bytes are kept in `data` until the import ends, so any API worker can report progress.
    """

    __tablename__ = "plan_imports"
    __table_args__ = (CheckConstraint(f"status in {IMPORT_STATUSES}", name="ck_plan_import_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("boundary_plans.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), server_default="queued", default="queued")
    stage: Mapped[str] = mapped_column(String(40), server_default="queued", default="queued")
    done: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    total: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    filename: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}", default=dict)  # layer, crs, mode …
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
