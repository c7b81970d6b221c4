"""Version rows of compounds and admin areas (区 / 街道 / 社区).

The live tables (`compounds`, `admin_areas`) keep their ids (buildings, tickets and cells refer to them); the
version tables hold one row per version, the live one with `valid_to IS NULL`. They are written by database
triggers (migration 0014), so every writer — plan commits, the demo loader, reference-sheet imports, the
admin console — versions alike: an insert opens a version, a change of a versioned column closes the live
version and opens the next, a delete closes it. The moment is the transaction setting `gridgov.valid_at` when
set (a plan commit sets it to its commit time, so compound, community and cell versions switch together),
else the transaction's `now()`. A row inserted without `gridgov.valid_at` (loaded reference data) opens with
`valid_from` NULL: in force since before records began, so dates before the load still see it.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class CompoundVersion(Base):
    """One version of a compound: its boundary and the attributes a dated answer uses."""

    __tablename__ = "compound_versions"
    __table_args__ = (
        CheckConstraint("valid_to is null or valid_from is null or valid_to > valid_from", name="ck_compound_validity"),
        Index("ix_compound_versions_live", "compound_id", unique=True, postgresql_where=text("valid_to is null")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # no foreign key: the history of a removed compound stays
    compound_id: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(200))
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    community_id: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # NULL: since records began
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))


class AdminAreaVersion(Base):
    """One version of a 区 / 街道 / 社区: boundary, name, parent and the 社区党组织 a dated answer shows."""

    __tablename__ = "admin_area_versions"
    __table_args__ = (
        CheckConstraint("valid_to is null or valid_from is null or valid_to > valid_from", name="ck_area_validity"),
        Index("ix_admin_area_versions_live", "area_id", unique=True, postgresql_where=text("valid_to is null")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(Integer)
    party_org: Mapped[str | None] = mapped_column(String(120))
    secretary: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(40))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))
