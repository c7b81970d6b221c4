"""ORM models (GeoAlchemy2). Geometries are stored in SRID 4326 with explicit types and GiST indexes.

Grid cells are versioned (MapIt-style generations): a redraw closes the old row (`valid_to`) and
opens a new one; rows are never deleted. Other tables refer to cells by their stable 15-digit code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


ROLES = ("admin", "planner", "manager", "grid_worker", "department", "property", "resident")
AREA_LEVELS = ("district", "subdistrict", "community")
ORG_KINDS = ("department", "property_company", "social_org", "subdistrict_office")


class Organization(Base):
    """A unit that handles work: department (城管, 公安 …), property company (物业), social org."""

    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint(f"kind in {ORG_KINDS}", name="ck_org_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30))
    unit_type: Mapped[str | None] = mapped_column(String(40))  # e.g. urban_management, police, fire
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(200))
    # 服务范围: community codes a department serves (empty: the whole subdistrict); informative, not routing
    service_area: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default="{}")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class AdminArea(Base):
    """区 / 街道 / 社区 with its polygon; 社区 carry their party organisation (社区党组织)."""

    __tablename__ = "admin_areas"
    __table_args__ = (CheckConstraint(f"level in {AREA_LEVELS}", name="ck_area_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_areas.id"))
    party_org: Mapped[str | None] = mapped_column(String(120))
    secretary: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(40))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))

    parent: Mapped[AdminArea | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role in {ROLES}", name="ck_user_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    # Codes of communities, cells or compounds this user answers for (empty: subdistrict-wide roles).
    jurisdiction: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default="{}")
    photo_url: Mapped[str | None] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organization: Mapped[Organization | None] = relationship()


class ApiToken(Base):
    """Bearer tokens; only a SHA-256 of the token is stored, so a leaked table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class LoginAttempt(Base):
    """Failed logins, counted per account and per client address to throttle password guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonalDataRead(Base):
    """Audit of reads of personal data (who read whose phone or name, when): queryable by admins."""

    __tablename__ = "personal_data_reads"
    __table_args__ = (Index("ix_personal_data_reads_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(20))  # what was read: ticket, user, export …
    ref: Mapped[str] = mapped_column(String(100))  # its id(s)
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GridCell(Base):
    """网格: one version of a cell. The live version has valid_to IS NULL."""

    __tablename__ = "grid_cells"
    __table_args__ = (
        UniqueConstraint("code", "valid_from", name="uq_cell_code_version"),
        CheckConstraint("code ~ '^[0-9]{15}$'", name="ck_cell_code_15_digits"),
        CheckConstraint("cell_type in ('basic', 'dedicated')", name="ck_cell_type"),
        CheckConstraint("valid_to is null or valid_to > valid_from", name="ck_cell_validity"),
        Index("ix_grid_cells_live_code", "code", unique=True, postgresql_where=text("valid_to is null")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(15), index=True)
    name: Mapped[str] = mapped_column(String(80))
    community_id: Mapped[int] = mapped_column(ForeignKey("admin_areas.id"), index=True)
    cell_type: Mapped[str] = mapped_column(String(20), server_default="basic")  # 基础网格 / 专属网格
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    population: Mapped[int] = mapped_column(Integer, server_default="0")
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))

    community: Mapped[AdminArea] = relationship()


class CellStaff(Base):
    """Who works a cell (网格长 manager, 网格员 workers), keyed by the cell's stable code."""

    __tablename__ = "cell_staff"
    __table_args__ = (
        UniqueConstraint("cell_code", "user_id", name="uq_cell_staff"),
        CheckConstraint("duty in ('manager', 'worker')", name="ck_cell_staff_duty"),
        CheckConstraint(
            "employment is null or employment in ('full_time', 'part_time')", name="ck_cell_staff_employment"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cell_code: Mapped[str] = mapped_column(String(15), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    duty: Mapped[str] = mapped_column(String(20))
    # The number published for this duty (责任公示牌, locate, public maps), never the account's own phone.
    duty_phone: Mapped[str | None] = mapped_column(String(40))
    # 专职 full_time / 兼职 part_time (workers); None for a 网格长 or when not recorded
    employment: Mapped[str | None] = mapped_column(String(10))

    user: Mapped[User] = relationship()


class Compound(Base):
    """小区: closed (封闭式) or open (开放式), with property company, party branch and 责任公示牌 contacts."""

    __tablename__ = "compounds"
    __table_args__ = (CheckConstraint("kind in ('closed', 'open')", name="ck_compound_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(200))
    community_id: Mapped[int] = mapped_column(ForeignKey("admin_areas.id"), index=True)
    cell_code: Mapped[str | None] = mapped_column(String(15), index=True)
    property_company_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    party_branch: Mapped[str | None] = mapped_column(String(120))  # 小区党支部
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    built_year: Mapped[int | None] = mapped_column(Integer)
    wechat_group: Mapped[str | None] = mapped_column(String(120))  # 小区微信群
    # the compound group's robot (企业微信 / 钉钉 / 飞书 webhook) that gets its nightly 民情工作日志 (gis.notify)
    group_robot_url: Mapped[str | None] = mapped_column(String(400))
    group_robot_kind: Mapped[str | None] = mapped_column(String(10))  # wecom | dingtalk | feishu
    # 责任公示牌: [{"duty": "secretary|liaison_worker|property_steward|police", "name", "phone", "photo_url"}]
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # 业委会 / 物管会: {"kind": "owners_committee|management_committee", "members": [{"title", "name", "phone"}]}
    committee: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))

    community: Mapped[AdminArea] = relationship()
    property_company: Mapped[Organization | None] = relationship()


class Building(Base):
    """楼栋 with households, 楼栋党小组长 and 党员中心户."""

    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("compound_id", "name", name="uq_building_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), index=True)
    cell_code: Mapped[str | None] = mapped_column(String(15), index=True)
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    floors: Mapped[int | None] = mapped_column(Integer)
    party_group_leader: Mapped[str | None] = mapped_column(String(40))  # 楼栋党小组长
    party_member_households: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    geom: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=True))

    compound: Mapped[Compound] = relationship()


class ServiceResource(Base):
    """A service point: 党群服务中心, 长者助餐点, 养老托育, 便民维修, 卫生服务站, 美好生活中心 modules …"""

    __tablename__ = "service_resources"
    # (type, geom) GiST (btree_gist): "nearest resource of each type" is one index probe per type
    __table_args__ = (Index("ix_service_resources_type_geom", "type", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    opening_hours: Mapped[str | None] = mapped_column(String(120))  # human text, e.g. 周一至周五 08:30-17:30
    # machine-readable hours: [{"days": [0..6 (Mon=0)], "open": "08:30", "close": "17:30"}]
    hours: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # the same hours in OpenStreetMap `opening_hours` syntax (gis/reference/hours.py): the source of truth when set
    osm_hours: Mapped[str | None] = mapped_column(String(255))
    features: Mapped[list[str]] = mapped_column(ARRAY(String(60)), server_default="{}")
    photo_url: Mapped[str | None] = mapped_column(String(300))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("admin_areas.id"), index=True)
    cell_code: Mapped[str | None] = mapped_column(String(15), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))


class Street(Base):
    """A walkable street segment (graph edge) for pgRouting isochrones (15-minute reach)."""

    __tablename__ = "streets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[int] = mapped_column(Integer, index=True)  # graph node ids
    target: Mapped[int] = mapped_column(Integer, index=True)
    length_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[WKBElement] = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=True))


from gis.evaluation import models as _evaluation_models  # noqa: E402,F401  (registers the evaluation tables)
from gis.generations import models as _generation_models  # noqa: E402,F401  (compound / area versions)
from gis.notify import models as _notify_models  # noqa: E402,F401  (registers the outbox tables with Base)
from gis.participation import models as _participation_models  # noqa: E402,F401  (registers the participation tables)
from gis.patrol import models as _patrol_models  # noqa: E402,F401  (registers the patrol tables with Base)
from gis.plans import models as _plan_models  # noqa: E402,F401  (registers the boundary plan tables with Base)
from gis.reference import models as _reference_models  # noqa: E402,F401  (registers the audit and party tables)
from gis.tickets import models as _ticket_models  # noqa: E402,F401  (registers the ticket tables with Base)
