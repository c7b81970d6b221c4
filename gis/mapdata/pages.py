"""Data of the 小区服务资源地图 for a compound and for a community (R1–R4)."""

from __future__ import annotations

import json

from sqlalchemy import func, literal, select, text
from sqlalchemy.orm import Session, aliased

from gis.errors import NotFound
from gis.locate import cell_staff, compound_summary, nearest_resources
from gis.mapdata.common import (
    LIFE_CIRCLE_NEEDS,
    REACH_M,
    CommunityMap,
    CompoundMap,
    bounds_of,
    gaps_for,
    resource_out,
    streets_in,
)
from gis.mapdata.reach import resources_around, walking_reach
from gis.models import AdminArea, Building, Compound, GridCell, Organization
from gis.spatial import METRES_PER_DEGREE, features, geojson


def compound_map_data(session: Session, code: str, *, reach_m: float = REACH_M) -> CompoundMap:
    """Everything the 小区服务资源地图 of one compound shows; NotFound for an unknown code."""
    community, sub = aliased(AdminArea), aliased(AdminArea)
    row = session.execute(
        select(Compound, community, sub, Organization, geojson(Compound.geom))
        .join(community, community.id == Compound.community_id)
        .outerjoin(sub, sub.id == community.parent_id)
        .outerjoin(Organization, Organization.id == Compound.property_company_id)
        .where(Compound.code == code)
    ).first()
    if row is None:
        raise NotFound(f"没有编码为 {code!r} 的小区 / no compound with code {code!r}")
    compound, comm, subdistrict, company, geometry = row
    info = compound_summary(compound, company)
    info.update(
        geometry=geometry,
        community={"code": comm.code, "name": comm.name, "secretary": comm.secretary, "phone": comm.phone},
        subdistrict={"code": subdistrict.code, "name": subdistrict.name} if subdistrict else None,
    )
    reach, costs = walking_reach(session, compound.id, reach_m=reach_m)
    resources = resources_around(session, compound.id, reach, costs)
    gaps = gaps_for({r["type"] for r in resources if r["in_reach"]})
    missing = [t for need in gaps for t in LIFE_CIRCLE_NEEDS[need]]
    if missing:  # for each gap, still show where the nearest such service is, however far
        lon, lat = session.execute(
            select(
                func.ST_X(func.ST_PointOnSurface(Compound.geom)), func.ST_Y(func.ST_PointOnSurface(Compound.geom))
            ).where(Compound.id == compound.id)
        ).one()
        seen = {r["code"] for r in resources}
        for r in nearest_resources(session, lon, lat, k=1, types=missing):
            if r["code"] not in seen:
                r.update(walk_m=None, in_reach=False, distance_m=round(r["distance_m"]), hours=[])
                resources.append(r)
    reach_geom = func.ST_GeomFromGeoJSON(literal(json.dumps(reach.geometry)))  # SRID 4326 by default
    return CompoundMap(
        compound=info,
        buildings=features(
            session,
            geojson(Building.geom),
            {
                "code": Building.code,
                "name": Building.name,
                "households": Building.households,
                "floors": Building.floors,
                "party_group_leader": Building.party_group_leader,
            },
            Building.compound_id == compound.id,
            order=Building.name,
            limit=2000,
        ),
        cell=_cell(session, compound.cell_code),
        neighbours=features(
            session,
            geojson(Compound.geom, 0.00001),
            {"code": Compound.code, "name": Compound.name},
            Compound.geom.intersects(reach_geom),
            Compound.id != compound.id,
            order=Compound.code,
            limit=500,
        ),
        streets=streets_in(session, func.ST_Expand(reach_geom, 300 / METRES_PER_DEGREE)),
        reach=reach,
        resources=resources,
        gaps=gaps,
        bounds=bounds_of(session, reach_geom, 30),
    )


def _cell(session: Session, cell_code: str | None) -> dict[str, object] | None:
    if cell_code is None:
        return None
    row = session.execute(
        select(GridCell.code, GridCell.name, GridCell.households, GridCell.cell_type, geojson(GridCell.geom)).where(
            GridCell.code == cell_code, GridCell.valid_to.is_(None)
        )
    ).first()
    if row is None:
        return None
    manager, workers = cell_staff(session, row.code)
    return {
        "type": "Feature",
        "geometry": row[4],
        "properties": {
            "code": row.code,
            "name": row.name,
            "households": row.households,
            "cell_type_label": "基础网格" if row.cell_type == "basic" else "专属网格",
            "manager": manager,
            "workers": workers,
        },
    }


_COMMUNITY_RESOURCES_SQL = text(
    """
    WITH a AS (SELECT geom FROM admin_areas WHERE id = :aid)
    SELECT r.code, r.type, r.name, r.address, r.phone, r.opening_hours, r.hours, r.osm_hours, r.features,
           r.photo_url,
           ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
           ST_Distance(a.geom::geography, r.geom::geography) AS distance_m, NULL::float8 AS walk_m
    FROM service_resources r CROSS JOIN a
    WHERE r.geom && ST_Expand(a.geom, :margin_deg)
      AND ST_DWithin(a.geom::geography, r.geom::geography, :margin_m)
    ORDER BY r.type, r.code
    LIMIT :limit
    """
)

# Which resource types lie within the reach (straight line) of each compound of a community.
_COMPOUND_TYPES_SQL = text(
    """
    SELECT c.code, array_remove(array_agg(DISTINCT r.type), NULL) AS types
    FROM compounds c
    LEFT JOIN service_resources r
      ON r.geom && ST_Expand(c.geom, :reach_deg) AND ST_DWithin(c.geom::geography, r.geom::geography, :reach_m)
    WHERE c.community_id = :aid
    GROUP BY c.code
    """
)


def community_map_data(session: Session, code: str, *, reach_m: float = REACH_M) -> CommunityMap:
    """The 社区 version: its cells, its compounds with their 15-minute gaps (straight-line) and every
    resource in or near it; NotFound for an unknown code."""
    area = session.scalar(select(AdminArea).where(AdminArea.code == code, AdminArea.level == "community"))
    if area is None:
        raise NotFound(f"没有编码为 {code!r} 的社区 / no community with code {code!r}")
    parent = session.get(AdminArea, area.parent_id) if area.parent_id else None
    community = {
        "type": "Feature",
        "geometry": session.scalar(select(geojson(AdminArea.geom)).where(AdminArea.id == area.id)),
        "properties": {
            "code": area.code,
            "name": area.name,
            "party_org": area.party_org,
            "secretary": area.secretary,
            "phone": area.phone,
            "subdistrict": parent.name if parent else None,
        },
    }
    compounds = features(
        session,
        geojson(Compound.geom, 0.00001),
        {"code": Compound.code, "name": Compound.name, "kind": Compound.kind, "households": Compound.households},
        Compound.community_id == area.id,
        order=Compound.code,
        limit=2000,
    )
    params = {"aid": area.id, "reach_m": reach_m, "reach_deg": 1.3 * reach_m / METRES_PER_DEGREE}
    types = {r.code: set(r.types) for r in session.execute(_COMPOUND_TYPES_SQL, params)}
    for f in compounds["features"]:
        f["properties"]["gaps"] = gaps_for(types.get(f["properties"]["code"], set()))
    margin_m = 300.0
    rows = session.execute(
        _COMMUNITY_RESOURCES_SQL,
        {"aid": area.id, "margin_m": margin_m, "margin_deg": 1.3 * margin_m / METRES_PER_DEGREE, "limit": 2000},
    ).all()
    area_geom = select(AdminArea.geom).where(AdminArea.id == area.id).scalar_subquery()
    return CommunityMap(
        community=community,
        cells=features(
            session,
            geojson(GridCell.geom, 0.00001),
            {"code": GridCell.code, "name": GridCell.name, "households": GridCell.households},
            GridCell.community_id == area.id,
            GridCell.valid_to.is_(None),
            order=GridCell.code,
            limit=2000,
        ),
        compounds=compounds,
        resources=[resource_out(r, reach_m) for r in rows],
        streets=streets_in(session, func.ST_Expand(area_geom, margin_m / METRES_PER_DEGREE)),
        bounds=bounds_of(session, area_geom, 60),
    )
