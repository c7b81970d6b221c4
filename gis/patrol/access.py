"""Who may do what with patrols: workers patrol; managers assign and read their community; admins all.

Scopes reuse the ticket rules (gis.tickets.access.area_codes: jurisdiction codes plus cell_staff rows);
codes are hierarchical, so "under a code" is a prefix test."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.access import area_codes
from gis.auth import require_role
from gis.errors import Forbidden, NotFound
from gis.models import AdminArea, Compound, User
from gis.tickets.sla import SHANGHAI

PATROL_ROLES = ("grid_worker", "manager")  # 定岗 社区工作者 and 网格员 patrol
READ_ROLES = ("admin", "manager")  # rule, coverage, tracks of others
WIDE_ROLES = frozenset({"admin"})


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[00:00, 24:00) of a local (Asia/Shanghai) day."""
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


def local_day(t: datetime) -> date:
    return t.astimezone(SHANGHAI).date()


def under(code: str | None, scope: list[str]) -> bool:
    return code is not None and any(code.startswith(s) for s in scope)


def require_code_in_scope(session: Session, user: User, code: str) -> None:
    """A manager (or worker) may only touch codes under their jurisdiction; admins anything."""
    if user.role in WIDE_ROLES:
        return
    if not under(code, area_codes(session, user)):
        raise Forbidden(f"{code} 不在您的辖区 / {code} is outside your jurisdiction")


def require_reader(session: Session, user: User, community: str | None) -> None:
    """Managers read their own community's patrol data; admins any (a community is then optional)."""
    require_role(user, *READ_ROLES)
    if user.role in WIDE_ROLES:
        return
    if community is None:
        raise Forbidden("managers must name their community (?community=)")
    require_code_in_scope(session, user, community)


def compound(session: Session, code: str) -> Compound:
    row = session.scalar(select(Compound).where(Compound.code == code))
    if row is None:
        raise NotFound(f"没有小区 {code} / no compound {code}")
    return row


def subdistrict_of_community(session: Session, community_id: int) -> str | None:
    parent = session.scalar(select(AdminArea.parent_id).where(AdminArea.id == community_id))
    if parent is None:
        return None
    return session.scalar(select(AdminArea.code).where(AdminArea.id == parent))


def community_id(session: Session, code: str) -> int:
    cid = session.scalar(select(AdminArea.id).where(AdminArea.code == code, AdminArea.level == "community"))
    if cid is None:
        raise NotFound(f"没有社区 {code} / no community {code}")
    return cid
