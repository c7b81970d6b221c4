"""Anchoring (point → cell version, community, compound) and routing (category → unit) of a ticket.

Anchoring is one SQL statement (the cell of `gis.spatial.covering_cell`, the by-location rule, its community,
and the compound covering the point with its property company). Intake runs the same lookup as one text()
statement (`intake.lookup`); `anchor_point` is its reference in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from gis.models import AdminArea, Compound, Organization
from gis.spatial import covering, covering_cell, outside_service_area, point_sql
from gis.tickets.config import Category, Profile, TicketConfig


@dataclass(frozen=True)
class Anchor:
    cell_id: int
    cell_code: str
    community_code: str | None
    compound_code: str | None
    property_company_id: int | None


@dataclass(frozen=True)
class Route:
    unit_id: int | None
    unit_type: str
    unit_name: str | None
    profile: Profile
    reason: str


def anchor_point(session: Session, lon: float, lat: float, *, at: datetime | None = None) -> Anchor:
    """The cell (version in force at `at`, default live), community and compound covering a point."""
    pt = point_sql(lon, lat)
    cell = covering_cell(pt, at=at)
    compound = covering(Compound, pt).lateral("cp")
    stmt = (
        select(cell.c.id, cell.c.code, AdminArea.code, compound.c.code, compound.c.property_company_id)
        .select_from(cell)
        .join(AdminArea, AdminArea.id == cell.c.community_id)
        .outerjoin(compound, true())
    )
    row = session.execute(stmt).first()
    if row is None:
        raise outside_service_area(lon, lat)
    return Anchor(row[0], row[1], row[2], row[3], row[4])


def geocode_address(session: Session, address: str) -> tuple[float, float] | None:
    """A point for a free-text address that names a compound (小区名 or its address), else None."""
    text_ = address.strip()
    if not text_:
        return None
    name_hit = func.strpos(text_, Compound.name) > 0
    addr_hit = func.coalesce(func.strpos(text_, Compound.address), 0) > 0
    surface = func.ST_PointOnSurface(Compound.geom)
    stmt = (
        select(func.ST_X(surface), func.ST_Y(surface))
        .where(name_hit | addr_hit)
        .order_by(func.length(Compound.name).desc(), Compound.code)
        .limit(1)
    )
    row = session.execute(stmt).first()
    return (float(row[0]), float(row[1])) if row else None


@dataclass(frozen=True)
class OrgRef:
    """The columns of an organization that routing needs (from the ORM or from the intake lookup)."""

    id: int
    name: str
    code: str
    kind: str
    unit_type: str | None

    @classmethod
    def of(cls, org: Organization | None) -> OrgRef | None:
        return None if org is None else cls(org.id, org.name, org.code, org.kind, org.unit_type)


def department_for(session: Session, unit_type: str) -> Organization | None:
    """The active department handling `unit_type` (lowest code first)."""
    return session.scalar(
        select(Organization)
        .where(Organization.unit_type == unit_type, Organization.kind == "department", Organization.is_active)
        .order_by(Organization.code)
        .limit(1)
    )


def decide_route(
    cfg: TicketConfig, category: Category, anchor: Anchor, property_org: OrgRef | None, department: OrgRef | None
) -> Route:
    """The routing rule, given the compound's property company and the category's department (if any)."""
    org: OrgRef | None = None
    reason = ""
    if category.property and anchor.property_company_id is not None:
        org = property_org
        reason = "小区物业 / the compound's property company"
    if org is None and category.unit_type != "community":
        org = department
        reason = f"职能部门 / department of type {category.unit_type}"
    if org is None:
        if category.unit_type == "community":
            reason = "社区网格自办 / handled by the cell's grid workers"
        else:
            reason = f"未配置 {category.unit_type} 类单位，待派单员指定 / no unit of this type: the dispatcher chooses"
        return Route(None, category.unit_type, None, cfg.profiles[cfg.default_profile], reason)
    return Route(
        org.id,
        org.unit_type or org.kind,
        org.name,
        cfg.profile_for(org.code, org.kind),
        reason,
    )


def route(session: Session, cfg: TicketConfig, category: Category, anchor: Anchor) -> Route:
    """派单: compound categories go to the compound's property company, others to the department of the
    category's unit type; "community" categories stay with the cell's grid workers."""
    property_org: OrgRef | None = None
    department: OrgRef | None = None
    if category.property and anchor.property_company_id is not None:
        property_org = OrgRef.of(session.get(Organization, anchor.property_company_id))
    if property_org is None and category.unit_type != "community":
        department = OrgRef.of(department_for(session, category.unit_type))
    return decide_route(cfg, category, anchor, property_org, department)
