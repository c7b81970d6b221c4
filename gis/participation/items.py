"""Service items (服务项目): a community publishes them with a place (a point, a compound or a grid cell: the item
keeps the place's geometry), a window, a capacity and the skills wanted; anyone reads the ones to come, near a
point with distances computed by PostGIS. A ticket of a volunteer-suitable category (config) can be handed to a
team: an item reserved for that team, at the ticket's point, linked to the ticket. Claims: gis.participation.claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.crs import to_wgs84
from gis.errors import InvalidInput, NotFound
from gis.models import Compound, GridCell, User, utcnow
from gis.participation import access
from gis.participation.config import load_config
from gis.participation.members import team_member_ids
from gis.participation.models import ServiceItem, Team
from gis.spatial import POINT_SQL
from gis.tickets.models import Ticket


@dataclass(frozen=True)
class Place:
    """Where an item happens: a point (lon/lat in `crs`), a compound or a grid cell (by code)."""

    kind: str
    code: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    name: str | None = None


def _place_geometry(session: Session, community: str, place: Place) -> tuple[Any, str | None, str]:
    """(geometry: EWKT or a SQL subquery, code, name) of a place, checked to lie in `community`. A compound or a
    cell gives its own polygon: "on site" is inside it or near its edge."""
    if place.kind == "point":
        if place.lon is None or place.lat is None:
            raise InvalidInput("a point place needs lon and lat")
        x, y = to_wgs84(place.lon, place.lat, place.crs)
        inside = session.scalar(
            text(f"SELECT ST_Covers(geom, {POINT_SQL}) FROM admin_areas WHERE code = :c"),
            {"c": community, "lon": x, "lat": y},
        )
        if not inside:
            raise InvalidInput(
                f"地点不在社区 {community} 内 / the point ({x:.6f}, {y:.6f}) is outside community {community}"
            )
        return f"SRID=4326;POINT({x} {y})", None, place.name or "指定地点"
    if place.kind == "compound":
        row = session.execute(select(Compound.name, Compound.geom).where(Compound.code == place.code)).first()
        if row is None:
            raise NotFound(f"没有小区 {place.code} / no compound {place.code}")
        if not str(place.code).startswith(community):
            raise InvalidInput(f"小区 {place.code} 不在社区 {community} / compound {place.code} is not in {community}")
        return (
            select(Compound.geom).where(Compound.code == place.code).scalar_subquery(),
            place.code,
            place.name or row[0],
        )
    if place.kind == "cell":
        name = session.scalar(select(GridCell.name).where(GridCell.code == place.code, GridCell.valid_to.is_(None)))
        if name is None:
            raise NotFound(f"没有网格 {place.code} / no live grid cell {place.code}")
        if not str(place.code).startswith(community):
            raise InvalidInput(f"网格 {place.code} 不在社区 {community} / cell {place.code} is not in {community}")
        geom = select(GridCell.geom).where(GridCell.code == place.code, GridCell.valid_to.is_(None)).scalar_subquery()
        return geom, place.code, place.name or name
    raise InvalidInput("place kind is one of point, compound, cell")


def publish(
    session: Session,
    user: User,
    *,
    community_code: str,
    kind: str,
    title: str,
    place: Place,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    skills: list[str] | None = None,
    description: str | None = None,
    team_id: int | None = None,
    ticket_id: int | None = None,
) -> ServiceItem:
    """A community publishes a service item."""
    access.require_community(session, user, community_code)
    load_config().kind(kind)
    if ends_at <= starts_at:
        raise InvalidInput("结束时间须晚于开始时间 / ends_at must be after starts_at")
    if ends_at <= utcnow():
        raise InvalidInput("时段已结束 / the window is over: publish items for the future")
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or team.community_code != community_code:
            raise NotFound(f"本社区没有队伍 {team_id} / no team {team_id} in {community_code}")
    geom, code, name = _place_geometry(session, community_code, place)
    item = ServiceItem(
        community_code=community_code,
        kind=kind,
        title=title.strip(),
        description=description,
        place_kind=place.kind,
        place_code=code,
        place_name=name,
        geom=geom,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        skills=sorted(set(skills or [])),
        team_id=team_id,
        ticket_id=ticket_id,
        created_by_id=user.id,
    )
    session.add(item)
    session.flush()
    session.refresh(item)
    return item


_ITEM_COLUMNS = """
i.id, i.community_code, i.kind, i.title, i.description, i.place_kind, i.place_code, i.place_name,
i.starts_at, i.ends_at, i.capacity, i.claimed, i.skills, i.status, i.team_id, i.ticket_id,
ST_X(ST_PointOnSurface(i.geom)) AS lon, ST_Y(ST_PointOnSurface(i.geom)) AS lat
"""


def _item_row(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["kind_label"] = load_config().service_kinds.get(d["kind"], d["kind"])
    d["places_left"] = d["capacity"] - d["claimed"]
    d["skills"] = list(d["skills"] or [])
    if d.get("distance_m") is not None:
        d["distance_m"] = round(float(d["distance_m"]), 1)
    return d


def list_items(
    session: Session,
    *,
    community: str | None = None,
    kind: str | None = None,
    near: tuple[float, float, float] | None = None,
    include_full: bool = False,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Published items whose window has not ended, soonest first (or nearest first with `near`)."""
    where = ["i.status = 'open'", "i.ends_at > :now"]
    params: dict[str, Any] = {"now": now or utcnow(), "limit": limit, "offset": offset}
    if community is not None:
        where.append("i.community_code = :community")
        params["community"] = community
    if kind is not None:
        where.append("i.kind = :kind")
        params["kind"] = kind
    if not include_full:
        where.append("i.claimed < i.capacity")
    distance, order = "NULL", "i.starts_at, i.id"
    if near is not None:
        params.update(lon=near[0], lat=near[1], radius=near[2])
        distance = f"ST_Distance(i.geom::geography, {POINT_SQL}::geography)"
        where.append(f"ST_DWithin(i.geom::geography, {POINT_SQL}::geography, :radius)")
        order = "distance_m, i.starts_at, i.id"
    sql = (
        f"SELECT {_ITEM_COLUMNS}, {distance} AS distance_m FROM service_items i WHERE {' AND '.join(where)} "
        f"ORDER BY {order} LIMIT :limit OFFSET :offset"
    )
    return [_item_row(r) for r in session.execute(text(sql), params)]


def open_items_in(
    session: Session, *, bbox: tuple[float, float, float, float], communities: list[str] | None,
    now: datetime | None = None, limit: int = 2000,
) -> list[dict[str, Any]]:  # fmt: skip
    """Open items with places left whose window has not ended, in a WGS84 bbox (the operations map's 志愿服务
    layer; `communities` None: all), with the compound and live grid cell their place lies in."""
    where = ["i.status = 'open'", "i.ends_at > :now", "i.claimed < i.capacity",
             "i.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"]  # fmt: skip
    params: dict[str, Any] = {"now": now or utcnow(), "limit": limit}
    params.update(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    if communities is not None:
        where.append("i.community_code = ANY(:communities)")
        params["communities"] = communities
    sql = f"""
SELECT {_ITEM_COLUMNS}, NULL AS distance_m, co.code AS compound_code, co.name AS compound_name,
       ce.code AS cell_code, ce.name AS cell_name
FROM service_items i
LEFT JOIN LATERAL (SELECT c.code, c.name FROM compounds c
                   WHERE c.code = i.place_code
                      OR (i.place_kind <> 'compound' AND ST_Covers(c.geom, ST_PointOnSurface(i.geom)))
                   ORDER BY c.code = i.place_code DESC, c.code LIMIT 1) co ON true
LEFT JOIN LATERAL (SELECT g.code, g.name FROM grid_cells g
                   WHERE g.valid_to IS NULL AND (g.code = i.place_code OR (i.place_kind <> 'cell'
                         AND ST_Covers(g.geom, ST_PointOnSurface(i.geom))))
                   ORDER BY g.code = i.place_code DESC, g.code LIMIT 1) ce ON true
WHERE {" AND ".join(where)}
ORDER BY i.starts_at, i.id LIMIT :limit"""
    return [_item_row(r) for r in session.execute(text(sql), params)]


def read_item(session: Session, item_id: int) -> dict[str, Any]:
    row = session.execute(
        text(f"SELECT {_ITEM_COLUMNS}, NULL AS distance_m FROM service_items i WHERE i.id = :i"), {"i": item_id}
    ).first()
    if row is None:
        raise NotFound(f"没有服务项目 {item_id} / no service item {item_id}")
    return _item_row(row)


def get_item(session: Session, item_id: int, *, lock: bool = False) -> ServiceItem:
    stmt = select(ServiceItem).where(ServiceItem.id == item_id)
    item = session.scalar(stmt.with_for_update() if lock else stmt)
    if item is None:
        raise NotFound(f"没有服务项目 {item_id} / no service item {item_id}")
    return item


def hand_ticket_to_team(
    session: Session,
    user: User,
    ticket_id: int,
    *,
    team_id: int,
    starts_at: datetime,
    ends_at: datetime,
    title: str | None = None,
) -> ServiceItem:
    """Hand a ticket of a volunteer-suitable category to a team: an item reserved for the team, at the ticket's
    point, linked to the ticket."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"没有工单 {ticket_id} / no ticket {ticket_id}")
    suitable = load_config().volunteer_categories
    if ticket.category not in suitable:
        raise InvalidInput(
            f"工单类别 {ticket.category} 不适合志愿者承接 / category {ticket.category!r} is not volunteer-suitable; "
            f"suitable: {', '.join(suitable)}"
        )
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"没有队伍 {team_id} / no team {team_id}")
    if ticket.community_code != team.community_code:
        raise InvalidInput(
            f"工单在社区 {ticket.community_code}，队伍属于 {team.community_code} / the ticket and the team "
            "are in different communities"
        )
    lon, lat = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM tickets WHERE id = :t"), {"t": ticket.id}).one()
    return publish(
        session,
        user,
        community_code=team.community_code,
        kind=suitable[ticket.category],
        title=title or f"工单 {ticket.id}：{ticket.description[:60]}",
        description=ticket.description,
        place=Place("point", lon=float(lon), lat=float(lat), name=ticket.address or f"工单 {ticket.id} 地点"),
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=len(team_member_ids(session, team.id)),
        team_id=team.id,
        ticket_id=ticket.id,
    )
