"""The sheets of places: compounds (小区信息), contacts (责任公示牌), buildings (楼栋) and resources (服务资源台账).

Compound boundaries come from boundary files (`gridgov plans import`); this sheet fills in what a boundary file
does not carry. Buildings and resources are placed by their coordinates (WGS84); without them, on the compound
or building they name — rows that cannot be placed are listed (`unplaced`) for the user to place on the map.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from gis.models import AdminArea, Compound, Organization
from gis.reference import compounds
from gis.sheets.columns import Column
from gis.sheets.engine import Context, Key, Sheet, Values, register
from gis.spatial import COVERING_CELL_SQL, POINT_SQL, at_param, covering_sql

KINDS = compounds.KINDS
CONTACT_DUTIES = compounds.DUTIES
_WHERE = text(
    f"""
    SELECT (SELECT count(*) FROM admin_areas WHERE level = 'subdistrict' AND ST_Covers(geom, {POINT_SQL})) AS inside,
           (SELECT code FROM ({COVERING_CELL_SQL.format(point=POINT_SQL)}) c) AS cell_code,
           (SELECT id FROM ({covering_sql("admin_areas", POINT_SQL, where="cov.level = 'community'")}) a)
               AS community_id,
           (SELECT code FROM ({covering_sql("admin_areas", POINT_SQL, where="cov.level = 'community'")}) a)
               AS community_code
    """
).bindparams(at_param())


def _where(ctx: Context, lon: float, lat: float) -> Any:
    return ctx.session.execute(_WHERE, {"lon": lon, "lat": lat}).one()


def check_point(ctx: Context, row: Values) -> list[tuple[str, str]]:
    """Check a row's point: inside the 街道 and the uploader's jurisdiction; sets _cell_code / _community_id."""
    where = _where(ctx, row["lon"], row["lat"])
    if not where.inside:
        return [
            (
                "lon",
                f"坐标 ({row['lon']}, {row['lat']}) 不在本街道内 / outside the 街道: 请核对经纬度（WGS84，经度在前）",
            )
        ]
    if not ctx.in_scope(where.community_code, where.cell_code):
        return [("lon", f"坐标在社区 {where.community_code}，不在你的辖区 / outside your jurisdiction")]
    row["_cell_code"], row["_community_id"] = where.cell_code, where.community_id
    return []


def compounds_by_code(ctx: Context) -> dict[str, Compound]:
    found: dict[str, Compound] = ctx.lookup(
        "compounds", lambda: {c.code: c for c in ctx.session.scalars(select(Compound))}
    )
    return found


def compound_point(ctx: Context, compound: Compound) -> tuple[float, float]:
    p = ctx.session.execute(
        select(
            func.ST_X(func.ST_PointOnSurface(Compound.geom)), func.ST_Y(func.ST_PointOnSurface(Compound.geom))
        ).where(Compound.id == compound.id)
    ).one()
    return round(float(p[0]), 6), round(float(p[1]), 6)


def community_codes(ctx: Context) -> dict[int, str]:
    found: dict[int, str] = ctx.lookup(
        "communities", lambda: dict(ctx.session.execute(select(AdminArea.id, AdminArea.code)).tuples().all())
    )
    return found


# --- compounds (小区信息) ----------------------------------------------------------------------------------


def _load_compounds(ctx: Context) -> dict[Key, Values]:
    company = aliased(Organization)
    rows = ctx.session.execute(
        select(Compound, AdminArea.code, company.code)
        .join(AdminArea, AdminArea.id == Compound.community_id)
        .outerjoin(company, company.id == Compound.property_company_id)
    ).all()
    return {
        (x.code,): {
            "code": x.code,
            "name": x.name,
            "community": community,
            "kind": x.kind,
            "address": x.address,
            "households": x.households,
            "built_year": x.built_year,
            "property_company": company_code,
            "party_branch": x.party_branch,
            "wechat_group": x.wechat_group,
        }
        for x, community, company_code in rows
        if ctx.in_scope(x.code, community, x.cell_code)
    }


def _check_compound(ctx: Context, row: Values, before: Values | None) -> list[tuple[str, str]]:
    if before is None:
        known = compounds_by_code(ctx).get(row["code"])
        if known is not None:
            return [("code", f"小区 {row['code']} 不在你的辖区 / outside your jurisdiction")]
        return [
            (
                "code",
                f"小区 {row['code']} 不存在 / unknown compound: 小区边界请先用 gridgov plans import 导入"
                "（或在规划编辑器中绘制），再用本表补充信息",
            )
        ]
    return []  # the property company and the values: gis.reference.compounds, when the row is written


def _write_compound(ctx: Context, row: Values, before: Values | None) -> None:
    """Through gis.reference.compounds.update_compound (its checks and audit row); only changed columns."""
    if not row.get("kind"):
        row["kind"] = before["kind"] if before else None
    if row.get("households") is None:
        row["households"] = 0
    fields = ("name", "kind", "address", "households", "built_year", "property_company", "party_branch",
              "wechat_group")  # fmt: skip
    changes = {k: row.get(k) for k in fields if before is None or before.get(k) != row.get(k)}
    if changes:
        compounds.update_compound(ctx.session, row["code"], changes, actor=ctx.actor)


COMPOUNDS = register(
    Sheet(
        name="compounds",
        title="小区信息",
        columns=[
            Column("code", "小区编码", "已导入边界的小区编码", required=True, max_len=20),
            Column("name", "小区名称", "", required=True, max_len=80),
            Column("community", "所属社区编码", "", info=True),
            Column("kind", "小区类型", "封闭式小区有围墙门岗；开放式为老旧街坊", kind="choice", choices=KINDS,
                   default="closed"),
            Column("address", "地址", "", max_len=200),
            Column("households", "户数", "", kind="int", minimum=0, maximum=100000, default=0),
            Column("built_year", "建成年份", "", kind="int", minimum=1900, maximum=2100),
            Column("property_company", "物业公司编码", "单位名单中类型为物业公司的编码；无物业空着", max_len=40),
            Column("party_branch", "小区党支部", "", max_len=120),
            Column("wechat_group", "小区微信群", "群名称", max_len=120),
        ],
        key=("code",),
        load=_load_compounds,
        check=_check_compound,
        write=_write_compound,
        roles=("admin", "manager"),
        table="compounds",
        audited=True,
    )
)  # fmt: skip


# --- contacts (责任公示牌) ----------------------------------------------------------------------------------


def _load_contacts(ctx: Context) -> dict[Key, Values]:
    out: dict[Key, Values] = {}
    for x in compounds_by_code(ctx).values():
        if not ctx.in_scope(x.code, x.cell_code, community_codes(ctx).get(x.community_id)):
            continue
        for c in x.contacts or []:
            out[(x.code, c.get("duty"))] = {
                "compound": x.code,
                "compound_name": x.name,
                "duty": c.get("duty"),
                "name": c.get("name"),
                "phone": c.get("phone"),
                "photo_url": c.get("photo_url"),
            }
    return out


def _check_contact(ctx: Context, row: Values, before: Values | None) -> list[tuple[str, str]]:
    x = compounds_by_code(ctx).get(row["compound"])
    if x is None:
        return [("compound", f"小区 {row['compound']} 不存在 / unknown compound: 请核对小区编码")]
    if not ctx.in_scope(x.code, x.cell_code, community_codes(ctx).get(x.community_id)):
        return [("compound", f"小区 {row['compound']} 不在你的辖区 / outside your jurisdiction")]
    url = row.get("photo_url")
    if url and not (url.startswith("/") or url.startswith("https://")):
        return [("photo_url", "照片地址应以 / 或 https:// 开头 / a photo URL starts with / or https://")]
    return []


def _write_contact(ctx: Context, row: Values, before: Values | None) -> None:
    x = compounds_by_code(ctx)[row["compound"]]
    entry = {
        "duty": row["duty"],
        "title": CONTACT_DUTIES[row["duty"]],
        "name": row["name"],
        "phone": row.get("phone"),
        "photo_url": row.get("photo_url"),
    }
    board = {c.get("duty"): c for c in x.contacts or []}
    board[row["duty"]] = {**board.get(row["duty"], {}), **entry}
    order = list(CONTACT_DUTIES)
    x.contacts = sorted(board.values(), key=lambda c: order.index(c["duty"]) if c["duty"] in order else 99)


CONTACTS = register(
    Sheet(
        name="contacts",
        title="责任公示牌",
        columns=[
            Column("compound", "小区编码", "", required=True, max_len=20),
            Column("compound_name", "小区名称", "", info=True),
            Column("duty", "职责", "公示牌的四项职责，每项一行", required=True, kind="choice", choices=CONTACT_DUTIES),
            Column("name", "姓名", "", required=True, max_len=40),
            Column("phone", "电话", "公示的联系电话", kind="phone"),
            Column("photo_url", "照片地址", "照片的网址（/ 或 https:// 开头）；空着显示姓氏头像", max_len=300),
        ],
        key=("compound", "duty"),
        load=_load_contacts,
        check=_check_contact,
        write=_write_contact,
        roles=("admin", "manager"),
        table="compounds",
        audit_key=lambda key: str(key[0]),
    )
)  # fmt: skip
