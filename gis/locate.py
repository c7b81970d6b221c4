"""Point → subdistrict / community / cell / compound / responsible people / nearest resources.

"Which cell covers this point" is the by-location rule of `gis.spatial` (ST_Covers, so a point on a shared
edge or vertex is inside both neighbours; the lowest code wins); `locate` answers with it in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.orm import Session

from gis.generations import IN_FORCE_SQL
from gis.models import CellStaff, Compound, Organization, User
from gis.resources import RESOURCE_TYPES, SHANGHAI, open_now
from gis.spatial import COVERING_CELL_SQL, POINT_SQL, covering_sql, outside_service_area

# The k nearest resources by geodesic distance (per type, or overall), without ranking more than a few.
# The GiST index orders by planar distance in degrees (`<->`), which is not the geodesic order: a degree east
# is shorter than a degree north here. So per type, (1) the k planar-nearest resources give `reach_m`, the
# largest of their geodesic distances: the k geodesic-nearest lie within it; (2) every resource within
# `reach_m` is found by ST_DWithin in degrees with a radius no resource within `reach_m` can be outside of,
# and only those are ranked by geodesic distance (ties by code). The radius: along any path on the WGS84
# ellipsoid a metre covers at most 1 / min(M(φ), N(φ)·cos φ) degrees (M, N the meridian and prime-vertical
# radii; M ≥ a(1 − e²), N ≥ a), so a resource g metres away lies within g / (π/180 · min(a(1 − e²),
# a·cos φmax)) degrees of planar distance, φmax bounding the latitudes on the way (|lat| + 1°; the radius is
# at most 0.9°, and a geodesic that short bulges poleward by far less than 0.1°). Where that bound does not
# hold (|lat| > 80°, a radius over 0.9° or near the antimeridian, where `<->` does not wrap) every resource of
# the type is ranked. Typically ~1 row a type is ranked instead of 9 (tests/gis/test_nearest_resources.py
# compares the answer with ranking every resource).
_WGS84_A = 6378137.0
_WGS84_B_M = 6335439.327  # a(1 - e²): the smallest meridian radius of curvature (at the equator)
_COS_MAX_LAT = "cos(radians(least(abs(CAST(:lat AS float8)) + 1.0, 90.0)))"
_REACH_DEG = f"b.reach_m / (0.9999 * radians(least({_WGS84_A} * {_COS_MAX_LAT}, {_WGS84_B_M})))"
_RADIUS_DEG = (
    "CASE WHEN q.deg <= 0.9 AND abs(CAST(:lat AS float8)) <= 80 AND abs(CAST(:lon AS float8)) + q.deg < 179 "
    "THEN q.deg ELSE 1000.0 END"
)


def _nearest_source(type_match: str) -> str:
    """The resources that may be among the k nearest (of `type_match`: the type, or all)."""
    return f"""(
                SELECT max(ST_Distance(s.geom::geography, {POINT_SQL}::geography)) AS reach_m
                FROM (SELECT s.geom FROM service_resources s WHERE {type_match}
                      ORDER BY s.geom <-> {POINT_SQL} LIMIT :k) s
            ) b
            CROSS JOIN LATERAL (SELECT {_REACH_DEG} AS deg) q
            CROSS JOIN LATERAL (
                SELECT * FROM service_resources s
                WHERE {type_match} AND ST_DWithin(s.geom, {POINT_SQL}, {_RADIUS_DEG})
                OFFSET 0
            ) r"""


# Only the top k per type (or overall) leave the database, nearest first.
_RANKED = """
    SELECT id, code, type, name, address, phone, opening_hours, hours, osm_hours, features, photo_url,
           lon, lat, distance_m
    FROM (
        SELECT c.*, row_number() OVER (PARTITION BY {partition} ORDER BY c.distance_m, c.code) AS rank
        FROM (
            SELECT r.id, r.code, r.type, r.name, r.address, r.phone, r.opening_hours, r.hours, r.osm_hours,
                   r.features,
                   r.photo_url, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
                   ST_Distance(r.geom::geography, {point}::geography)
                       AS distance_m
            FROM {source}
        ) c
        WHERE CAST(:radius_m AS float8) IS NULL OR c.distance_m <= :radius_m
    ) ranked
    WHERE rank <= :k
    ORDER BY distance_m, code
"""
_NEAREST_SQL = text(
    _RANKED.format(
        partition="c.type",
        point=POINT_SQL,
        source="unnest(CAST(:types AS text[])) AS t(type) CROSS JOIN LATERAL " + _nearest_source("s.type = t.type"),
    )
).bindparams(bindparam("types"))
_NEAREST_ANY_SQL = text(_RANKED.format(partition="1", point=POINT_SQL, source=_nearest_source("true")))


def _resource_dict(row: Row[Any], at: datetime | None = None) -> dict[str, Any]:
    d = dict(row._mapping)
    d["type_label"] = RESOURCE_TYPES.get(d["type"], d["type"])
    d["open_now"] = open_now(d.pop("osm_hours"), d.pop("hours"), at)
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
    """The k nearest resources (per type when `types` is given), nearest first, with distance in metres."""
    params = {"lon": lon, "lat": lat, "k": k, "radius_m": radius_m}
    if types:
        rows = session.execute(_NEAREST_SQL, {**params, "types": types}).all()
    else:
        rows = session.execute(_NEAREST_ANY_SQL, params).all()
    now = datetime.now(SHANGHAI)
    return [_resource_dict(r, now) for r in rows]


def person(user: User, duty_phone: str | None) -> dict[str, Any]:
    """A cell's staff member as published (责任公示牌): name, the duty's published phone, photo — never the
    account's own phone (M13)."""
    return {"name": user.full_name, "phone": duty_phone, "photo_url": user.photo_url}


def cell_staff(session: Session, cell_code: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The active manager and workers of a cell (deactivated accounts are no longer published)."""
    rows = session.execute(
        select(CellStaff.duty, CellStaff.duty_phone, User)
        .join(User, User.id == CellStaff.user_id)
        .where(CellStaff.cell_code == cell_code, User.is_active)
        .order_by(CellStaff.duty, User.full_name)
    ).all()
    manager = next((person(u, phone) for duty, phone, u in rows if duty == "manager"), None)
    workers = [person(u, phone) for duty, phone, u in rows if duty == "worker"]
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


COMPOUND_FIELDS = ("code", "name", "kind", "address", "households", "party_branch", "wechat_group", "contacts")


def _compound_answer(fields: dict[str, Any], company: dict[str, Any] | None) -> dict[str, Any]:
    """The compound as locate and the maps present it (with its 责任公示牌 contacts)."""
    return {
        **{k: fields[k] for k in COMPOUND_FIELDS},
        "kind_label": "封闭式小区" if fields["kind"] == "closed" else "开放式小区",
        "property_company": company,
    }


def compound_summary(compound: Compound, company: Organization | None) -> dict[str, Any]:
    return _compound_answer(
        {k: getattr(compound, k) for k in COMPOUND_FIELDS},
        {"code": company.code, "name": company.name, "phone": company.phone} if company else None,
    )


# Everything "where am I" needs, in one round trip: the covering cell at the version in force (lowest
# code on shared edges), its community and subdistrict, its active staff with their published duty phones
# (not their own mobiles: M13), and the covering compound. With a date, community, subdistrict and compound
# come from their versions in force then (gis.generations); the 责任公示牌, party branch, 微信群 and property
# company are not versioned and come from today's compound.
_WHERE_TEMPLATE = """
    WITH cell AS ({cell})
    SELECT cell.code, cell.name, cell.cell_type, cell.households, cell.valid_from,
           com.code AS community_code, com.name AS community_name, com.party_org, com.secretary,
           com.phone AS community_phone, sd.code AS subdistrict_code, sd.name AS subdistrict_name,
           (SELECT json_agg(json_build_object('duty', cs.duty, 'name', u.full_name, 'phone', cs.duty_phone,
                                              'photo_url', u.photo_url) ORDER BY cs.duty, u.full_name)
            FROM cell_staff cs JOIN users u ON u.id = cs.user_id
            WHERE cs.cell_code = cell.code AND u.is_active) AS staff,
           (SELECT json_build_object(
                'code', x.code, 'name', x.name, 'kind', x.kind, 'address', x.address, 'households', x.households,
                'party_branch', l.party_branch, 'wechat_group', l.wechat_group,
                'contacts', coalesce(l.contacts, '[]'::jsonb),
                'company_code', o.code, 'company_name', o.name, 'company_phone', o.phone)
            FROM ({compound}) x LEFT JOIN compounds l ON l.id = x.{compound_id}
            LEFT JOIN organizations o ON o.id = l.property_company_id
           ) AS compound
    FROM cell
    JOIN {areas} com ON com.id = cell.community_id
    LEFT JOIN {areas} sd ON sd.id = com.parent_id
"""
_WHERE_SQL = text(
    _WHERE_TEMPLATE.format(
        cell=COVERING_CELL_SQL.format(point=POINT_SQL),
        compound=covering_sql("compounds", POINT_SQL),
        compound_id="id",
        areas="admin_areas",
    )
)
# admin areas are few (a 街道 has tens): their versions in force are read whole
_AREAS_AT = (
    "(SELECT cov.area_id AS id, cov.code, cov.name, cov.parent_id, cov.party_org, cov.secretary, cov.phone "
    f"FROM admin_area_versions cov WHERE {IN_FORCE_SQL})"
)
_WHERE_AT_SQL = text(
    _WHERE_TEMPLATE.format(
        cell=COVERING_CELL_SQL.format(point=POINT_SQL),
        compound=covering_sql("compound_versions", POINT_SQL, where=IN_FORCE_SQL),
        compound_id="compound_id",
        areas=_AREAS_AT,
    )
)


def _compound_from_json(c: dict[str, Any]) -> dict[str, Any]:
    company = (
        {"code": c["company_code"], "name": c["company_name"], "phone": c["company_phone"]}
        if c.get("company_code")
        else None
    )
    return _compound_answer(c, company)


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
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)  # a date without zone is local time
    row = (
        session.execute(_WHERE_SQL if at is None else _WHERE_AT_SQL, {"lon": lon, "lat": lat, "at": at})
        .mappings()
        .first()
    )
    if row is None:
        raise outside_service_area(lon, lat)
    staff = row["staff"] or []
    manager = next(({k: p[k] for k in ("name", "phone", "photo_url")} for p in staff if p["duty"] == "manager"), None)
    workers = [{k: p[k] for k in ("name", "phone", "photo_url")} for p in staff if p["duty"] == "worker"]
    resources = nearest_resources(
        session, lon, lat, k=resources_per_type, types=list(RESOURCE_TYPES), radius_m=resource_radius_m
    )
    return Location(
        lon=lon,
        lat=lat,
        subdistrict=(
            {"code": row["subdistrict_code"], "name": row["subdistrict_name"]} if row["subdistrict_code"] else None
        ),
        community={
            "code": row["community_code"],
            "name": row["community_name"],
            "party_org": row["party_org"],
            "secretary": row["secretary"],
            "phone": row["community_phone"],
        },
        cell={
            "code": row["code"],
            "name": row["name"],
            "cell_type": row["cell_type"],
            "cell_type_label": "基础网格" if row["cell_type"] == "basic" else "专属网格",
            "households": row["households"],
            "valid_from": row["valid_from"],
            "manager": manager,
            "workers": workers,
        },
        compound=_compound_from_json(row["compound"]) if row["compound"] else None,
        resources=resources,
    )
