"""Checks shared by every reference-data write: who may write where (jurisdiction), phone formats, places.

Each failure is a `GridError` whose message says, in Chinese and English, what is wrong and how to fix it;
`detail={"field": ...}` names the input field, so a form or an imported sheet can point at the cell."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from gis import access
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.models import AdminArea, Compound, GridCell, User
from gis.spatial import point_sql

# 手机 (optionally +86), 固话 (区号-号码, optional 分机), 400/800 numbers, short public service numbers
_MOBILE = re.compile(r"^(?:\+?86-?)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(?:\(?0\d{2,3}\)?-?)?[2-9]\d{6,7}(?:(?:-|转|ext)\d{1,6})?$")
_SERVICE = re.compile(r"^(?:[48]00-?\d{3}-?\d{4}|1\d{2}|1\d{4}|9\d{4})$")

REFERENCE_WRITERS = ("admin", "manager")


def bad(field: str, message: str) -> InvalidInput:
    """An input error naming its field (forms and sheets show it next to that field or column)."""
    return InvalidInput(message, detail={"field": field})


def phone(value: str | None, field: str = "phone") -> str | None:
    """A Chinese mobile, landline, 400/800 or public service number, spaces removed; None for blank."""
    if value is None or not value.strip():
        return None
    compact = re.sub(r"[\s\u3000]", "", value).replace("（", "(").replace("）", ")")
    if _MOBILE.match(compact) or _LANDLINE.match(compact) or _SERVICE.match(compact):
        return compact
    raise bad(
        field,
        f"电话号码格式不对：{value!r}。请填写 11 位手机号（如 13812345678）或带区号的固定电话（如 0531-86001234） / "
        f"{field}: {value!r} is not a Chinese mobile (11 digits starting with 1) or landline number "
        "(area code-number, e.g. 0531-86001234)",
    )


def text(value: str | None, field: str, *, max_len: int, required: bool = False) -> str | None:
    """A trimmed free-text value within `max_len` characters."""
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise bad(field, f"{field} 不能为空 / {field} is required")
        return None
    if len(cleaned) > max_len:
        raise bad(field, f"{field} 过长（最多 {max_len} 字） / {field} is longer than {max_len} characters")
    return cleaned


def count(value: int | None, field: str, *, maximum: int = 1_000_000) -> int | None:
    if value is None:
        return None
    if not 0 <= value <= maximum:
        raise bad(field, f"{field} 须在 0 到 {maximum} 之间 / {field} must be between 0 and {maximum}")
    return value


# --- who may write where ------------------------------------------------------------------------------


def require_writer(actor: User, what: str) -> None:
    """Reference data is written by admins (the whole 街道) and managers (their community)."""
    if actor.role not in REFERENCE_WRITERS:
        raise Forbidden(f"角色 {actor.role} 不能修改{what} / role {actor.role!r} may not change {what}")


def require_admin(actor: User, what: str) -> None:
    if actor.role != "admin":
        raise Forbidden(f"只有街道管理员能修改{what} / only an admin may change {what}")


def writable_communities(session: Session, actor: User) -> list[str] | None:
    """Community codes `actor` may write reference data in (None: every one)."""
    if actor.role == "admin":
        return None
    if actor.role == "manager":
        return access.community_codes(session, actor) or []
    return []


def ensure_community(session: Session, actor: User, community_code: str | None, what: str) -> None:
    """Forbidden unless `actor` answers for `community_code` (admins answer for the whole 街道)."""
    require_writer(actor, what)
    scope = writable_communities(session, actor)
    if scope is None:
        return
    if community_code is None or community_code not in scope:
        mine = "、".join(scope) or "无"
        raise Forbidden(
            f"{community_code or '街道级对象'} 不在您的辖区（{mine}） / {what} in "
            f"{community_code or 'the whole subdistrict'} "
            f"is outside your jurisdiction ({', '.join(scope) or 'none'}): ask the subdistrict admin"
        )


# --- places --------------------------------------------------------------------------------------------


def community(session: Session, code: str, *, field: str | None = "community_code") -> AdminArea:
    """The community with `code`: an input error (field given) or NotFound when there is none."""
    area = session.scalar(select(AdminArea).where(AdminArea.code == code, AdminArea.level == "community"))
    if area is None:
        message = f"未知的社区编码 {code!r} / unknown community {code!r}: see GET /v1/communities"
        raise bad(field, message) if field else NotFound(message)
    return area


def compound(session: Session, code: str, *, field: str | None = None) -> Compound:
    row = session.scalar(select(Compound).where(Compound.code == code))
    if row is None:
        message = f"未知的小区编码 {code!r} / unknown compound {code!r}: see GET /v1/compounds"
        raise bad(field, message) if field else NotFound(message)
    return row


def live_cell(session: Session, code: str, *, field: str | None = "cell_code") -> GridCell:
    row = session.scalar(select(GridCell).where(GridCell.code == code, GridCell.valid_to.is_(None)))
    if row is None:
        message = f"未知的网格编码 {code!r} / unknown (or retired) grid cell {code!r}: see GET /v1/cells"
        raise bad(field, message) if field else NotFound(message)
    return row


def community_of_code(session: Session, code: str) -> str | None:
    """The community a community, cell or compound code lies in (codes are hierarchical: a prefix)."""
    return session.scalar(
        select(AdminArea.code)
        .where(AdminArea.level == "community", func.starts_with(code, AdminArea.code))
        .order_by(func.length(AdminArea.code).desc())
        .limit(1)
    )


def jurisdiction_codes(session: Session, codes: list[str], field: str = "jurisdiction") -> list[str]:
    """Each code must name a community, a live cell or a compound; duplicates dropped, order kept."""
    seen: list[str] = []
    for raw in codes:
        code = raw.strip()
        if not code or code in seen:
            continue
        known = (
            session.scalar(select(AdminArea.id).where(AdminArea.code == code, AdminArea.level == "community"))
            or session.scalar(select(GridCell.id).where(GridCell.code == code, GridCell.valid_to.is_(None)))
            or session.scalar(select(Compound.id).where(Compound.code == code))
        )
        if known is None:
            raise bad(
                field,
                f"未知的辖区编码 {code!r}：请填写社区、网格或小区编码 / unknown jurisdiction code {code!r}: "
                "use community, cell or compound codes",
            )
        seen.append(code)
    return seen


def point_in_street(session: Session, lon: float, lat: float, field: str = "location") -> None:
    """The point must lie inside the 街道 (its subdistrict polygon or one of its communities)."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise bad(field, f"坐标无效 / ({lon}, {lat}) is not a WGS84 longitude, latitude")
    inside = session.scalar(
        select(AdminArea.id)
        .where(AdminArea.level.in_(("subdistrict", "community")), func.ST_Covers(AdminArea.geom, point_sql(lon, lat)))
        .limit(1)
    )
    if inside is None:
        raise bad(
            field,
            f"坐标 ({lon:.6f}, {lat:.6f}) 不在本街道范围内：请在地图上街道边界内选点 / "
            f"the point ({lon:.6f}, {lat:.6f}) lies outside the subdistrict: "
            "pick it on the map inside the boundary (WGS84 lon, lat)",
        )


def in_scope_filter(session: Session, actor: User, column: Any) -> Any:
    """A WHERE clause on a community-code column: what `actor` may read in the console (admins: all)."""
    scope = writable_communities(session, actor)
    return true() if scope is None else column.in_(scope)
