"""Service resources (小区服务资源: 党群服务中心, 长者助餐点, 便民维修 …): a point inside the 街道, a type, address,
phone, opening hours in OpenStreetMap syntax (gis/reference/hours.py: 营业中/休息中 and holidays computed) and
features. The community and cell are derived from the point by the by-location rule (gis.spatial)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import Conflict, NotFound
from gis.models import AdminArea, ServiceResource, User
from gis.reference import audit, checks, hours
from gis.reference.organizations import organization_by_code
from gis.resources import RESOURCE_TYPES
from gis.spatial import covering, covering_cell, point_sql

_CODE = re.compile(r"^[A-Za-z0-9_-]{1,24}$")
RESOURCE_FIELDS = ("type", "name", "lon", "lat", "address", "phone", "opening_hours", "features", "organization")


def _place(session: Session, lon: float, lat: float) -> tuple[AdminArea | None, str | None]:
    checks.point_in_street(session, lon, lat)
    pt = point_sql(lon, lat)
    area = session.scalar(covering(AdminArea, pt, AdminArea.level == "community"))
    cell = covering_cell(pt)
    cell_code = session.scalar(select(cell.c.code))
    return area, cell_code


def _features(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        item = checks.text(v, "features", max_len=60)
        if item and item not in out:
            out.append(item)
    if len(out) > 20:
        raise checks.bad("features", "特色服务最多 20 项 / at most 20 features")
    return out


def _type(value: str) -> str:
    if value not in RESOURCE_TYPES:
        labels = "、".join(f"{k} {v}" for k, v in RESOURCE_TYPES.items())
        raise checks.bad("type", f"未知的资源类型 {value!r}，可选：{labels} / unknown type {value!r}")
    return value


def _set_hours(resource: ServiceResource, expr: str | None) -> None:
    if expr is None or not expr.strip():
        resource.osm_hours, resource.opening_hours, resource.hours = None, None, []
        return
    cleaned = hours.parse(expr)
    resource.osm_hours = cleaned
    resource.opening_hours = hours.describe(cleaned)
    resource.hours = hours.weekly_spans(cleaned)


def _audit(session: Session, actor: User, resource: ServiceResource, action: str, before: Any) -> None:
    area = session.get(AdminArea, resource.community_id) if resource.community_id else None
    audit.record(
        session, actor, "service_resources", resource, action=action, before=before,
        community_code=area.code if area else None,
    )  # fmt: skip


def _next_code(session: Session) -> str:
    taken = set(session.scalars(select(ServiceResource.code).where(ServiceResource.code.like("R%"))))
    n = len(taken) + 1
    while f"R{n:05d}" in taken:
        n += 1
    return f"R{n:05d}"


def get_resource(session: Session, code: str, *, actor: User) -> ServiceResource:
    resource = session.scalar(select(ServiceResource).where(ServiceResource.code == code))
    if resource is None:
        raise NotFound(f"没有资源 {code!r} / no service resource {code!r}")
    area = session.get(AdminArea, resource.community_id) if resource.community_id else None
    checks.ensure_community(session, actor, area.code if area else None, "服务资源 / service resources")
    return resource


def create_resource(
    session: Session,
    *,
    actor: User,
    type: str,  # noqa: A002 - the field's name in the API and the sheets
    name: str,
    lon: float,
    lat: float,
    code: str | None = None,
    address: str | None = None,
    phone: str | None = None,
    opening_hours: str | None = None,
    features: list[str] | None = None,
    organization: str | None = None,
) -> ServiceResource:
    """A new resource at (lon, lat) WGS84; `opening_hours` in OSM syntax; code generated (R00042) when blank."""
    checks.require_writer(actor, "服务资源 / service resources")
    area, cell_code = _place(session, lon, lat)
    checks.ensure_community(session, actor, area.code if area else None, "服务资源 / service resources")
    if code:
        if not _CODE.match(code):
            raise checks.bad(
                "code", f"资源编码只能用字母、数字、-_（最多 24 位）：{code!r} / code must be 1-24 letters, digits, -_"
            )
        if session.scalar(select(ServiceResource.id).where(ServiceResource.code == code)) is not None:
            raise Conflict(f"资源编码 {code!r} 已存在 / resource code {code!r} is taken", detail={"field": "code"})
    org = organization_by_code(session, organization)
    resource = ServiceResource(
        code=code or _next_code(session),
        type=_type(type),
        name=checks.text(name, "name", max_len=120, required=True),
        address=checks.text(address, "address", max_len=200),
        phone=checks.phone(phone),
        features=_features(features),
        community_id=area.id if area else None,
        cell_code=cell_code,
        organization_id=org.id if org else None,
        geom=point_sql(lon, lat),
    )
    _set_hours(resource, opening_hours)
    session.add(resource)
    session.flush()
    _audit(session, actor, resource, "create", None)
    return resource


def update_resource(session: Session, code: str, changes: dict[str, Any], *, actor: User) -> ServiceResource:
    """Change some fields (any of RESOURCE_FIELDS; lon and lat together move the point)."""
    unknown = sorted(set(changes) - set(RESOURCE_FIELDS))
    if unknown:
        raise checks.bad(unknown[0], f"不能修改的字段 {unknown} / fields that cannot be changed: {unknown}")
    resource = get_resource(session, code, actor=actor)
    before = audit.snapshot(session, "service_resources", resource)
    if "lon" in changes or "lat" in changes:
        if changes.get("lon") is None or changes.get("lat") is None:
            raise checks.bad("location", "经度和纬度须一起修改 / give lon and lat together")
        area, resource.cell_code = _place(session, float(changes["lon"]), float(changes["lat"]))
        checks.ensure_community(session, actor, area.code if area else None, "服务资源 / service resources")
        resource.community_id = area.id if area else None
        resource.geom = point_sql(float(changes["lon"]), float(changes["lat"]))
    if "type" in changes:
        resource.type = _type(changes["type"])
    if "name" in changes:
        resource.name = checks.text(changes["name"], "name", max_len=120, required=True) or resource.name
    if "address" in changes:
        resource.address = checks.text(changes["address"], "address", max_len=200)
    if "phone" in changes:
        resource.phone = checks.phone(changes["phone"])
    if "opening_hours" in changes:
        _set_hours(resource, changes["opening_hours"])
    if "features" in changes:
        resource.features = _features(changes["features"])
    if "organization" in changes:
        org = organization_by_code(session, changes["organization"])
        resource.organization_id = org.id if org else None
    session.flush()
    _audit(session, actor, resource, "update", before)
    return resource


def delete_resource(session: Session, code: str, *, actor: User) -> None:
    """Remove a resource from the map (the audit row keeps it: an admin can restore it)."""
    resource = get_resource(session, code, actor=actor)
    _audit(session, actor, resource, "delete", audit.snapshot(session, "service_resources", resource))
    session.delete(resource)
    session.flush()


def lonlat(session: Session, resource: ServiceResource) -> tuple[float, float]:
    x, y = session.execute(select(func.ST_X(resource.geom), func.ST_Y(resource.geom))).one()
    return float(x), float(y)
