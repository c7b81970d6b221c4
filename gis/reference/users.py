"""Accounts as reference data: create with a role, an organization and a jurisdiction (community, cell or
compound codes), change them, disable / re-enable, reset a password. Passwords, tokens and the disable rule
itself are `gis.auth`'s; this module adds the checks, the jurisdiction rule and the audit row.

Admins manage every account. A manager (社区) manages the grid workers of their community only: the accounts
they create or change must be grid workers whose jurisdiction lies inside the manager's communities."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis import auth
from gis.errors import Conflict, Forbidden, NotFound
from gis.models import ROLES, Organization, User
from gis.reference import audit, checks
from gis.reference.organizations import organization_by_code

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,60}$")
MANAGER_MAY_CREATE = ("grid_worker",)
ROLE_LABELS = {  # the console's and the sheets' words for the roles (a sheet's 角色 column takes them)
    "admin": "街道管理员",
    "planner": "规划员",
    "manager": "社区管理员",
    "grid_worker": "网格员",
    "department": "职能部门人员",
    "property": "物业人员",
    "resident": "居民",
}
_ORG_KIND_FOR_ROLE = {"department": "department", "property": "property_company"}


def _communities_of(session: Session, codes: list[str]) -> set[str | None]:
    return {checks.community_of_code(session, code) for code in codes}


def _check_manager_reach(session: Session, actor: User, role: str, codes: list[str]) -> None:
    """A manager may only hand out grid-worker accounts inside their own communities."""
    if actor.role == "admin":
        return
    checks.require_writer(actor, "账号 / accounts")
    if role not in MANAGER_MAY_CREATE:
        raise Forbidden(
            f"社区管理员只能管理网格员账号，{ROLE_LABELS.get(role, role)} 账号请联系街道管理员 / a manager manages "
            f"grid-worker accounts only; ask the subdistrict admin for a {role!r} account"
        )
    scope = set(checks.writable_communities(session, actor) or [])
    if not codes:
        raise checks.bad("jurisdiction", "请为网格员选择辖区（网格或小区）/ give the grid worker a jurisdiction")
    outside = sorted(c for c in codes if checks.community_of_code(session, c) not in scope)
    if outside:
        raise Forbidden(
            f"辖区 {'、'.join(outside)} 不在您的社区内 / jurisdiction {', '.join(outside)} is outside your "
            f"communities ({', '.join(sorted(scope)) or 'none'})",
            detail={"field": "jurisdiction"},
        )


def _organization(session: Session, role: str, code: str | None) -> Organization | None:
    org = organization_by_code(session, code)
    wanted = _ORG_KIND_FOR_ROLE.get(role)
    if wanted is not None and (org is None or org.kind != wanted):
        raise checks.bad(
            "organization",
            f"{ROLE_LABELS[role]} 账号须属于一个{'职能部门' if wanted == 'department' else '物业公司'} / a {role!r} "
            f"account needs an organization of kind {wanted!r} (it sees that organization's tickets)",
        )
    return org


def _community_code(session: Session, user: User) -> str | None:
    communities = _communities_of(session, list(user.jurisdiction or []))
    return next(iter(communities)) if len(communities) == 1 else None


def get_account(session: Session, username: str, *, actor: User) -> User:
    """An account `actor` may manage (managers: the grid workers of their communities)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"没有用户 {username!r} / no user {username!r}")
    if actor.role != "admin":
        if actor.role != "manager" or user.role not in MANAGER_MAY_CREATE:
            raise NotFound(f"没有用户 {username!r} / no user {username!r} in your jurisdiction")
        scope = set(checks.writable_communities(session, actor) or [])
        if not user.jurisdiction or not _communities_of(session, list(user.jurisdiction)) <= scope:
            raise NotFound(f"没有用户 {username!r} / no user {username!r} in your jurisdiction")
    return user


def list_accounts(session: Session, *, actor: User) -> list[User]:
    """The accounts `actor` manages."""
    checks.require_writer(actor, "账号 / accounts")
    users = list(session.scalars(select(User).order_by(User.username)))
    if actor.role == "admin":
        return users
    scope = set(checks.writable_communities(session, actor) or [])
    return [
        u
        for u in users
        if u.role in MANAGER_MAY_CREATE and u.jurisdiction and _communities_of(session, list(u.jurisdiction)) <= scope
    ]


def create_account(
    session: Session,
    *,
    actor: User,
    username: str,
    password: str,
    full_name: str,
    role: str,
    phone: str | None = None,
    organization: str | None = None,
    jurisdiction: list[str] | None = None,
) -> User:
    """A new account (organization by code, jurisdiction by community / cell / compound codes)."""
    checks.require_writer(actor, "账号 / accounts")
    if not _USERNAME.match(username or ""):
        raise checks.bad(
            "username",
            f"用户名只能用字母、数字和 _.@-（2–60 位）：{username!r} / username must be 2-60 letters, digits, _.@-",
        )
    if role not in ROLES:
        raise checks.bad("role", f"未知的角色 {role!r}，可选 {', '.join(ROLES)} / unknown role {role!r}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username!r} 已被使用 / username {username!r} is taken", detail={"field": "username"})
    codes = checks.jurisdiction_codes(session, jurisdiction or [])
    _check_manager_reach(session, actor, role, codes)
    org = _organization(session, role, organization)
    if len(password or "") < auth.MIN_PASSWORD_LEN:
        raise checks.bad(
            "password", f"密码至少 {auth.MIN_PASSWORD_LEN} 位 / password needs {auth.MIN_PASSWORD_LEN}+ characters"
        )
    user = auth.create_user(
        session,
        username=username,
        password=password,
        full_name=checks.text(full_name, "full_name", max_len=60, required=True) or username,
        role=role,
        phone=checks.phone(phone),
        organization_id=org.id if org else None,
        jurisdiction=codes,
    )
    audit.record(
        session, actor, "users", user, action="create", before=None, community_code=_community_code(session, user)
    )
    return user


ACCOUNT_FIELDS = ("full_name", "phone", "role", "organization", "jurisdiction")


def update_account(session: Session, username: str, changes: dict[str, Any], *, actor: User) -> User:
    """Change an account's name, phone, role, organization (code) or jurisdiction (codes)."""
    unknown = sorted(set(changes) - set(ACCOUNT_FIELDS))
    if unknown:
        raise checks.bad(unknown[0], f"不能修改的字段 {unknown} / fields that cannot be changed: {unknown}")
    user = get_account(session, username, actor=actor)
    before = audit.snapshot(session, "users", user)
    role = changes.get("role", user.role)
    if role not in ROLES:
        raise checks.bad("role", f"未知的角色 {role!r}，可选 {', '.join(ROLES)} / unknown role {role!r}")
    if user.id == actor.id and role != user.role:
        raise Forbidden("不能修改自己的角色 / you cannot change your own role")
    codes = (
        checks.jurisdiction_codes(session, changes["jurisdiction"] or [])
        if "jurisdiction" in changes
        else list(user.jurisdiction or [])
    )
    _check_manager_reach(session, actor, role, codes)
    if "organization" in changes or role != user.role:
        current = session.get(Organization, user.organization_id) if user.organization_id else None
        org = _organization(session, role, changes.get("organization", current.code if current else None))
        user.organization_id = org.id if org else None
    if "full_name" in changes:
        user.full_name = checks.text(changes["full_name"], "full_name", max_len=60, required=True) or user.full_name
    if "phone" in changes:
        user.phone = checks.phone(changes["phone"])
    user.role = role
    user.jurisdiction = codes
    audit.record(
        session, actor, "users", user, action="update", before=before, community_code=_community_code(session, user)
    )
    return user


def set_account_active(session: Session, username: str, *, active: bool, actor: User) -> User:
    """Disable (its tokens stop working at once) or re-enable an account."""
    user = get_account(session, username, actor=actor)
    if user.id == actor.id and not active:
        raise Forbidden("不能停用自己的账号 / you cannot disable your own account")
    before = audit.snapshot(session, "users", user)
    if user.is_active != active:
        auth.set_active(session, user, active=active)
        audit.record(
            session, actor, "users", user, action="enable" if active else "disable", before=before,
            community_code=_community_code(session, user),
        )  # fmt: skip
    return user


def reset_account_password(session: Session, username: str, new_password: str, *, actor: User) -> User:
    """Set a new password (a forgotten one): the account's sessions end. Audited without the password."""
    user = get_account(session, username, actor=actor)
    before = audit.snapshot(session, "users", user)
    auth.set_password(session, user, new_password)
    row = audit.record(
        session, actor, "users", user, action="update", before={**before, "password": "—"},
        community_code=_community_code(session, user),
    )  # fmt: skip
    if row is not None and row.after is not None:
        row.after = {**row.after, "password": "reset"}
    return user
