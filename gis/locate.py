"""Point → subdistrict / community / cell / compound / responsible people / nearest resources.

Everything that needs "where is this point" uses `cell_at` (MapIt's by_location): ST_Covers, so a
point on a shared edge or vertex is inside both neighbours, and the tie rule is "lowest code wins".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from gis.errors import OutsideServiceArea
from gis.models import AdminArea, CellStaff, Compound, GridCell, Organization, User
from gis.resources import RESOURCE_TYPES, is_open


def point_sql(lon: float, lat: float) -> Any:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def cell_version_filter(at: datetime | None) -> Any:
    """The cell versions in force at `at` (None: the live version)."""
    if at is None:
        return GridCell.valid_to.is_(None)
    return and_(GridCell.valid_from <= at, or_(GridCell.valid_to.is_(None), GridCell.valid_to > at))


def cell_at(session: Session, lon: float, lat: float, *, at: datetime | None = None) -> GridCell | None:
    """The grid cell covering the point (on shared edges the lowest code wins)."""
    stmt = (
        select(GridCell)
        .where(func.ST_Covers(GridCell.geom, point_sql(lon, lat)), cell_version_filter(at))
        .order_by(GridCell.code)
        .limit(1)
    )
    return session.scalar(stmt)


def compound_at(session: Session, lon: float, lat: float) -> Compound | None:
    stmt = (
        select(Compound)
        .where(func.ST_Covers(Compound.geom, point_sql(lon, lat)))
        .order_by(Compound.code)
        .limit(1)
    )
    return session.scalar(stmt)


_NEAREST_SQL = text(
    """
    SELECT r.id, r.code, r.type, r.name, r.address, r.phone, r.opening_hours, r.hours, r.features,
           r.photo_url, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
           ST_Distance(r.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS distance_m
    FROM unnest(CAST(:types AS text[])) AS t(type)
    CROSS JOIN LATERAL (
        SELECT * FROM service_resources s
        WHERE s.type = t.type
        ORDER BY s.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
        LIMIT :candidates
    ) r
    """
).bindparams(bindparam("types"))

_NEAREST_ANY_SQL = text(
    """
    SELECT r.id, r.code, r.type, r.name, r.address, r.phone, r.opening_hours, r.hours, r.features,
           r.photo_url, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
           ST_Distance(r.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS distance_m
    FROM (
        SELECT * FROM service_resources s
        ORDER BY s.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
        LIMIT :candidates
    ) r
    """
)


def _resource_dict(row: Row[Any], at: datetime | None = None) -> dict[str, Any]:
    d = dict(row._mapping)
    d["type_label"] = RESOURCE_TYPES.get(d["type"], d["type"])
    d["open_now"] = is_open(d.pop("hours") or [], at)
    d["distance_m"] = round(float(d["distance_m"]), 1)
    return d


def nearest_resources(
    session: Session,
    lon: float,
    lat: float,
    *,
    k: int = 3,
    types: list[str] | None = None,
    radius_m: float | None = None,
) -> list[dict[str, Any]]:
    """The k nearest resources (per type when `types` is given), nearest first, with distance in metres.

    The GiST KNN operator orders by degrees; east-west degrees are shorter than north-south ones at
    these latitudes, so we take 4k index candidates and re-rank them by true (geodesic) distance.
    """
    params = {"lon": lon, "lat": lat, "candidates": max(4 * k, k + 8)}
    if types:
        rows = session.execute(_NEAREST_SQL, {**params, "types": types}).all()
    else:
        rows = session.execute(_NEAREST_ANY_SQL, params).all()
    ranked = sorted((_resource_dict(r) for r in rows), key=lambda d: (d["distance_m"], d["code"]))
    if radius_m is not None:
        ranked = [d for d in ranked if d["distance_m"] <= radius_m]
    if not types:
        return ranked[:k]
    per_type: dict[str, int] = {}
    out = []
    for d in ranked:
        if per_type.get(d["type"], 0) < k:
            per_type[d["type"]] = per_type.get(d["type"], 0) + 1
            out.append(d)
    return out


def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"name": user.full_name, "phone": user.phone, "photo_url": user.photo_url}


def cell_staff(session: Session, cell_code: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    rows = session.execute(
        select(CellStaff.duty, User)
        .join(User, User.id == CellStaff.user_id)
        .where(CellStaff.cell_code == cell_code)
        .order_by(CellStaff.duty, User.full_name)
    ).all()
    manager = next((person(u) for duty, u in rows if duty == "manager"), None)
    workers = [p for duty, u in rows if duty == "worker" and (p := person(u)) is not None]
    return manager, workers


@dataclass
class Location:
    lon: float
    lat: float
    subdistrict: dict[str, Any] | None
    community: dict[str, Any]
    cell: dict[str, Any]
    compound: dict[str, Any] | None
    resources: list[dict[str, Any]] = field(default_factory=list)


def compound_summary(compound: Compound, company: Organization | None) -> dict[str, Any]:
    return {
        "code": compound.code,
        "name": compound.name,
        "kind": compound.kind,
        "kind_label": "封闭式小区" if compound.kind == "closed" else "开放式小区",
        "address": compound.address,
        "households": compound.households,
        "party_branch": compound.party_branch,
        "property_company": (
            {"code": company.code, "name": company.name, "phone": company.phone} if company else None
        ),
        "wechat_group": compound.wechat_group,
        "contacts": compound.contacts,
    }


def locate(
    session: Session,
    lon: float,
    lat: float,
    *,
    at: datetime | None = None,
    resources_per_type: int = 1,
    resource_radius_m: float | None = None,
) -> Location:
    """Answer "who is responsible here and what services are near" for a WGS84 point."""
    cell = cell_at(session, lon, lat, at=at)
    if cell is None:
        raise OutsideServiceArea(
            f"点 ({lon:.6f}, {lat:.6f}) 不在任何网格内 / the point is outside every grid cell of the "
            "service area; check the coordinates and their crs (wgs84, gcj02, bd09, cgcs2000)"
        )
    community = session.get(AdminArea, cell.community_id)
    parent = aliased(AdminArea)
    sub = session.scalar(select(parent).where(parent.id == community.parent_id)) if community else None
    manager, workers = cell_staff(session, cell.code)
    compound = compound_at(session, lon, lat)
    company = (
        session.get(Organization, compound.property_company_id)
        if compound and compound.property_company_id
        else None
    )
    resources = nearest_resources(
        session, lon, lat, k=resources_per_type, types=list(RESOURCE_TYPES), radius_m=resource_radius_m
    )
    return Location(
        lon=lon,
        lat=lat,
        subdistrict={"code": sub.code, "name": sub.name} if sub else None,
        community={
            "code": community.code if community else None,
            "name": community.name if community else None,
            "party_org": community.party_org if community else None,
            "secretary": community.secretary if community else None,
            "phone": community.phone if community else None,
        },
        cell={
            "code": cell.code,
            "name": cell.name,
            "cell_type": cell.cell_type,
            "cell_type_label": "基础网格" if cell.cell_type == "basic" else "专属网格",
            "households": cell.households,
            "valid_from": cell.valid_from,
            "manager": manager,
            "workers": workers,
        },
        compound=compound_summary(compound, company) if compound else None,
        resources=resources,
    )
