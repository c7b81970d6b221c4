"""Who may do what in participation, in one place.

- admin: everything, every community.
- manager (社区): confirms the members of their communities, forms teams, publishes items, confirms hours,
  records points and redemptions, appoints compound bodies, records 联席会议; reads all of it for their communities.
- grid_worker: records points (weighing at the sorting point) in their communities and reads balances there.
- a member (any user with a confirmed member profile, usually a resident): claims, signs in and out, reads their
  own claims and hours; a team leader also claims for and reads their team.
- a resident reads their own points; a 物业服务监督员 (compound_roles) rates that compound's property company.
- the published items are public.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from gis.access import community_codes
from gis.errors import Conflict, Forbidden, NotFound
from gis.models import AdminArea, User
from gis.participation.models import Member

COMMUNITY_ROLES = ("admin", "manager")
LEDGER_ROLES = ("admin", "manager", "grid_worker")


def scope(session: Session, user: User) -> list[str] | None:
    """Community codes `user` answers for in participation (None: every one; []: none)."""
    if user.role == "admin":
        return None
    if user.role not in ("manager", "grid_worker"):
        return []
    return community_codes(session, user) or []


def in_scope(session: Session, user: User, community: str) -> bool:
    codes = scope(session, user)
    return codes is None or community in codes


def require_community(
    session: Session, user: User, community: str, *, roles: tuple[str, ...] = COMMUNITY_ROLES
) -> None:
    """`user` acts for `community`: an admin, or a manager (or, for `roles`, a grid worker) whose jurisdiction
    covers it."""
    if user.role not in roles:
        raise Forbidden(
            f"角色 {user.role} 不能办理此事 / role {user.role!r} may not do this; needs one of: {', '.join(roles)}"
        )
    if not in_scope(session, user, community):
        raise Forbidden(f"社区 {community} 不在您的辖区 / community {community} is outside your jurisdiction")


def community_name(session: Session, code: str) -> str:
    """The name of a community; 404 for an unknown code."""
    name = session.scalar(select(AdminArea.name).where(AdminArea.code == code, AdminArea.level == "community"))
    if name is None:
        raise NotFound(f"没有社区 {code} / no community {code}")
    return name


def member_of(session: Session, user: User) -> Member | None:
    return session.scalar(select(Member).where(Member.user_id == user.id))


def require_member(session: Session, user: User) -> Member:
    """The confirmed member profile of `user` (403 when not registered, 409 while not confirmed)."""
    member = member_of(session, user)
    if member is None:
        raise Forbidden(
            "您还没有登记为党员或志愿者 / register first (POST /v1/participation/members) and wait for your "
            "community to confirm you"
        )
    if member.status != "confirmed":
        raise Conflict(
            f"您的登记尚未经社区确认（{member.status}）/ your registration is {member.status}: the community "
            "confirms it first"
        )
    return member


def community_filter(session: Session, user: User, column: Any, community: str | None) -> ColumnElement[bool]:
    """The rows of `column` (a community code) `user` reads: the named community (checked), else all of theirs."""
    if community is not None:
        require_community(session, user, community)
        return column == community  # type: ignore[no-any-return]
    codes = scope(session, user)
    return true() if codes is None else column.in_(codes)
