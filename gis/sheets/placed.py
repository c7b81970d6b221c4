"""The sheets of things placed by a point: buildings (楼栋) and service resources (服务资源台账).

A row is placed by its coordinates (WGS84); without them, on the compound (or, for a resource, the building)
it names — the preview says which rows were placed that way. A row that cannot be placed is listed in
`unplaced` (and is an error) so the user can pick its point on the map and upload again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shapely.geometry import box
from sqlalchemy import func, select, update

from gis.models import AdminArea, Building, Compound, ServiceResource
from gis.reference import resources
from gis.resources import RESOURCE_TYPES
from gis.sheets.columns import Column, lat_column, lon_column
from gis.sheets.engine import Context, Key, Sheet, Values, register
from gis.sheets.places import check_point, community_codes, compound_point, compounds_by_code
from gis.spatial import METRES_PER_DEGREE

BUILDING_HALF_M = 8.0  # a building placed by a point gets a 16 m square footprint, redrawn later on the map


def _taken(ctx: Context, model: Any, code: str) -> list[tuple[str, str]]:
    """A new row's code held by a row outside the uploader's jurisdiction (which the export does not show)."""
    if ctx.session.scalar(select(model.id).where(model.code == code)) is None:
        return []
    return [("code", f"编码 {code} 已被辖区外的记录使用 / the code is taken outside your jurisdiction: 换一个编码")]


def _position(
    ctx: Context, row: Values, before: Values | None, place: Callable[[], tuple[float, float] | None], on: str
) -> list[tuple[str, str]]:
    """Without coordinates, place the row with `place()` (the compound or building it names); then check the
    point (inside the 街道 and the uploader's jurisdiction) unless it is where the database has it already."""
    if row.get("lon") is None or row.get("lat") is None:
        target = place()
        if target is None:
            return [("_unplaced", "没有坐标，也找不到所在小区/楼栋 / no coordinates and no compound or building found: "
                     "请在地图上选点后填入经纬度")]  # fmt: skip
        row["lon"], row["lat"] = target
        row["_placed_on"] = on  # reported by the preview: its point is to be checked on the map
    if before is not None and abs(before["lon"] - row["lon"]) <= 1e-6 and abs(before["lat"] - row["lat"]) <= 1e-6:
        row["_cell_code"], row["_community_id"] = before["_cell_code"], before["_community_id"]
        return []
    return check_point(ctx, row)


# --- buildings -------------------------------------------------------------------------------------------


def _load_buildings(ctx: Context) -> dict[Key, Values]:
    rows = ctx.session.execute(
        select(
            Building,
            Compound.code,
            Compound.name,
            func.ST_X(func.ST_Centroid(Building.geom)),
            func.ST_Y(func.ST_Centroid(Building.geom)),
        ).join(Compound, Compound.id == Building.compound_id)
    ).all()
    return {
        (b.code,): {
            "code": b.code,
            "name": b.name,
            "compound": compound,
            "compound_name": compound_name,
            "households": b.households,
            "floors": b.floors,
            "party_group_leader": b.party_group_leader,
            "party_member_households": list(b.party_member_households or []),
            "lon": round(float(x), 6),
            "lat": round(float(y), 6),
            "_cell_code": b.cell_code,
            "_community_id": None,
        }
        for b, compound, compound_name, x, y in rows
        if ctx.in_scope(b.code, b.cell_code, compound)
    }


def _check_building(ctx: Context, row: Values, before: Values | None) -> list[tuple[str, str]]:
    x = compounds_by_code(ctx).get(row["compound"])
    if x is None:
        return [("compound", f"小区 {row['compound']} 不存在 / unknown compound: 请核对小区编码")]
    row["_compound_id"] = x.id
    if before is None and (taken := _taken(ctx, Building, row["code"])):
        return taken
    names: dict[tuple[int, str], str] = ctx.lookup(
        "building_names",
        lambda: {
            (c, n): code
            for c, n, code in ctx.session.execute(select(Building.compound_id, Building.name, Building.code))
        },
    )
    same_name = names.get((x.id, row["name"]))
    if same_name and same_name != row["code"]:
        return [
            ("name", f"小区 {x.name} 已有楼栋“{row['name']}”（{same_name}） / the compound has a building of that name")
        ]
    if before is None and not ctx.in_scope(row["code"], x.code, community_codes(ctx).get(x.community_id)):
        return [("code", f"楼栋 {row['code']} 不在你的辖区 / outside your jurisdiction")]
    return _position(ctx, row, before, lambda: compound_point(ctx, x), f"小区 {x.name}")


def _write_building(ctx: Context, row: Values, before: Values | None) -> None:
    b = ctx.session.scalar(select(Building).where(Building.code == row["code"]))
    lon, lat = row["lon"], row["lat"]
    half = BUILDING_HALF_M / METRES_PER_DEGREE
    if b is None:
        b = Building(code=row["code"])
        ctx.session.add(b)
        b.geom = "SRID=4326;" + box(lon - half * 1.25, lat - half, lon + half * 1.25, lat + half).wkt
    elif before is not None and (abs(before["lon"] - lon) > 1e-6 or abs(before["lat"] - lat) > 1e-6):
        dx, dy = lon - before["lon"], lat - before["lat"]  # the footprint moves with its point
        ctx.session.execute(
            update(Building).where(Building.id == b.id).values(geom=func.ST_Translate(Building.geom, dx, dy))
        )
    b.name = row["name"]
    b.compound_id = row["_compound_id"]
    b.cell_code = row["_cell_code"]
    b.households = row.get("households") or 0
    b.floors = row.get("floors")
    b.party_group_leader = row.get("party_group_leader")
    b.party_member_households = list(row.get("party_member_households") or [])


BUILDINGS = register(
    Sheet(
        name="buildings",
        title="楼栋信息",
        columns=[
            Column("code", "楼栋编码", "唯一编码，如 小区编码-01", required=True, max_len=24),
            Column("name", "楼栋名称", "如 3号楼；同一小区内不重名", required=True, max_len=40),
            Column("compound", "所属小区编码", "", required=True, max_len=20),
            Column("compound_name", "小区名称", "", info=True),
            Column("households", "户数", "", kind="int", minimum=0, maximum=5000, default=0),
            Column("floors", "层数", "", kind="int", minimum=1, maximum=200),
            Column("party_group_leader", "楼栋党小组长", "", max_len=40),
            Column("party_member_households", "党员中心户", "户的门牌（如 3-2-301），多个用“、”分隔", kind="list",
                   max_len=40),
            lon_column(),
            lat_column(),
        ],
        key=("code",),
        load=_load_buildings,
        check=_check_building,
        write=_write_building,
        roles=("admin", "manager"),
        table="buildings",
    )
)  # fmt: skip


# --- resources (服务资源台账) --------------------------------------------------------------------------------


def _load_resources(ctx: Context) -> dict[Key, Values]:
    rows = ctx.session.execute(
        select(
            ServiceResource, AdminArea.code, func.ST_X(ServiceResource.geom), func.ST_Y(ServiceResource.geom)
        ).outerjoin(AdminArea, AdminArea.id == ServiceResource.community_id)
    ).all()
    return {
        (r.code,): {
            "code": r.code,
            "type": r.type,
            "name": r.name,
            "address": r.address,
            "phone": r.phone,
            "opening_hours": r.osm_hours or r.opening_hours,  # OSM; an older free text until it is imported again
            "features": list(r.features or []),
            "community": community,
            "lon": round(float(x), 6),
            "lat": round(float(y), 6),
            "_cell_code": r.cell_code,
            "_community_id": r.community_id,
        }
        for r, community, x, y in rows
        if ctx.in_scope(community, r.cell_code)
    }


def _place_by_name(ctx: Context, name: str | None) -> tuple[float, float] | None | str:
    """The point of the compound (code or name) or building (code) a row names; an error text when ambiguous."""
    if not name:
        return None
    by_code = compounds_by_code(ctx).get(name)
    named = [x for x in compounds_by_code(ctx).values() if x.name == name]
    if by_code is None and len(named) > 1:
        return f"有 {len(named)} 个小区叫“{name}”（{'、'.join(x.code for x in named)}），请填小区编码"
    x = by_code or (named[0] if named else None)
    if x is not None:
        return compound_point(ctx, x)
    b = ctx.session.execute(
        select(
            func.ST_X(func.ST_PointOnSurface(Building.geom)), func.ST_Y(func.ST_PointOnSurface(Building.geom))
        ).where(Building.code == name)
    ).first()
    return (round(float(b[0]), 6), round(float(b[1]), 6)) if b else None


def _check_resource(ctx: Context, row: Values, before: Values | None) -> list[tuple[str, str]]:
    if before is None and (taken := _taken(ctx, ServiceResource, row["code"])):
        return taken
    target = _place_by_name(ctx, row.get("place"))
    if isinstance(target, str):
        return [("place", target)]
    if row.get("place") and target is None and row.get("lon") is None:
        return [("_unplaced", f"找不到小区或楼栋“{row['place']}” / no compound or building of that name or code: "
                 "请核对，或在地图上选点后填入经纬度")]  # fmt: skip
    return _position(ctx, row, before, lambda: target if isinstance(target, tuple) else None, f"{row.get('place')}")


def _write_resource(ctx: Context, row: Values, before: Values | None) -> None:
    """Through gis.reference.resources: its checks, the OSM hours (营业中/休息中 and the Chinese text derived
    there) and its audit rows."""
    fields = ("type", "name", "address", "phone", "opening_hours", "features")
    if before is None:
        resources.create_resource(
            ctx.session, actor=ctx.actor, code=row["code"], type=row["type"], name=row["name"], lon=row["lon"],
            lat=row["lat"], address=row.get("address"), phone=row.get("phone"),
            opening_hours=row.get("opening_hours"), features=row.get("features"),
        )  # fmt: skip
        return
    changes = {k: row.get(k) for k in fields if before.get(k) != row.get(k)}
    if abs(before["lon"] - row["lon"]) > 1e-6 or abs(before["lat"] - row["lat"]) > 1e-6:
        changes |= {"lon": row["lon"], "lat": row["lat"]}
    if changes:
        resources.update_resource(ctx.session, row["code"], changes, actor=ctx.actor)


RESOURCES = register(
    Sheet(
        name="resources",
        title="服务资源台账",
        columns=[
            Column("code", "资源编码", "唯一编码：字母、数字、-_，如 ST-canteen-01", required=True, max_len=24),
            Column("type", "类型", "服务资源的类型", required=True, kind="choice", choices=RESOURCE_TYPES),
            Column("name", "名称", "", required=True),
            Column("address", "地址", "", max_len=200),
            Column("phone", "电话", "", kind="phone"),
            Column("opening_hours", "营业时间", "OpenStreetMap 格式，如“Mo-Fr 08:30-17:30; Sa 09:00-12:00; PH off”"
                   "（PH 法定节假日）；也可写“周一至周五 08:30-17:30；周六 09:00-12:00”“全天开放”，"
                   "导入时转为 OSM 格式；营业中/休息中据此计算", kind="hours", max_len=255, aliases=("开放时间",)),
            Column("features", "服务特色", "多项用“、”分隔", kind="list", max_len=60),
            Column("community", "所属社区编码", "由坐标确定", info=True),
            Column("place", "所在小区/楼栋", "没有经纬度时，填小区编码或名称、楼栋编码，放在其中心", max_len=80),
            lon_column(),
            lat_column(),
        ],
        key=("code",),
        load=_load_resources,
        check=_check_resource,
        write=_write_resource,
        roles=("admin", "manager"),
        not_compared=("place",),
        table="service_resources",
        audited=True,
    )
)  # fmt: skip
