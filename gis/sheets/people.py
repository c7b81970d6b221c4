"""The sheets of people and units: organizations (单位), users (账号) and staff (网格员名单)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gis.auth import MIN_PASSWORD_LEN
from gis.models import CellStaff, GridCell, Organization, User
from gis.reference import organizations, staff, users
from gis.sheets.columns import Column
from gis.sheets.engine import Context, Key, Sheet, Values, register

ORG_KINDS = organizations.ORG_KIND_LABELS
ROLE_LABELS = users.ROLE_LABELS
DUTIES = staff.DUTIES


def _orgs(ctx: Context) -> dict[str, Organization]:
    found: dict[str, Organization] = ctx.lookup(
        "orgs", lambda: {o.code: o for o in ctx.session.scalars(select(Organization))}
    )
    return found


# --- organizations --------------------------------------------------------------------------------------


def _load_orgs(ctx: Context) -> dict[Key, Values]:
    return {
        (o.code,): {
            "code": o.code,
            "name": o.name,
            "kind": o.kind,
            "unit_type": o.unit_type,
            "phone": o.phone,
            "address": o.address,
        }
        for o in ctx.session.scalars(select(Organization))
    }


def _check_org(ctx: Context, row: Values, before: Values | None) -> list[tuple[str, str]]:
    if before is not None and before["kind"] != row["kind"]:
        return [("kind", f"单位类型不能修改（现为{ORG_KINDS.get(before['kind'], before['kind'])}） / the kind of an "
                 "organization cannot be changed: create a new one and disable this one")]  # fmt: skip
    return []


def _changed(row: Values, before: Values | None, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: row.get(k) for k in keys if before is None or before.get(k) != row.get(k)}


def _write_org(ctx: Context, row: Values, before: Values | None) -> None:
    """Through gis.reference.organizations: its checks (unit types routing reads) and its audit rows."""
    fields = ("name", "unit_type", "phone", "address")
    if before is None:
        org = organizations.create_organization(
            ctx.session, actor=ctx.actor, code=row["code"], kind=row["kind"], **_changed(row, None, fields)
        )
        _orgs(ctx)[org.code] = org
    else:
        organizations.update_organization(ctx.session, row["code"], _changed(row, before, fields), actor=ctx.actor)


ORGANIZATIONS = register(
    Sheet(
        name="organizations",
        title="单位名单",
        columns=[
            Column("code", "单位编码", "唯一编码，如 CG-01（城管中队）、WY-03（物业）", required=True, max_len=40),
            Column("name", "单位名称", "全称", required=True),
            Column("kind", "单位类型", "职能部门接派单；物业公司管理小区", required=True, kind="choice",
                   choices=ORG_KINDS),
            Column("unit_type", "业务类别", "职能部门类别（如 urban_management 城管、police 公安）", max_len=40),
            Column("phone", "电话", "对外服务电话", kind="phone"),
            Column("address", "地址", "办公地址", max_len=200),
        ],
        key=("code",),
        load=_load_orgs,
        check=_check_org,
        write=_write_org,
        table="organizations",
        audited=True,
    )
)  # fmt: skip


# --- users ----------------------------------------------------------------------------------------------


def _load_users(ctx: Context) -> dict[Key, Values]:
    rows = ctx.session.execute(select(User, Organization.code).outerjoin(Organization)).all()
    return {
        (u.username,): {
            "username": u.username,
            "full_name": u.full_name,
            "role": u.role,
            "organization": org,
            "jurisdiction": list(u.jurisdiction or []),
            "phone": u.phone,
            "is_active": u.is_active,
        }
        for u, org in rows
    }


def _check_user(ctx: Context, row: Values, before: Values | None) -> list[tuple[str, str]]:
    """Nothing of its own: gis.reference.users checks the row when it is written (the preview writes it in a
    transaction it rolls back), so a sheet and a form get the same messages."""
    return []


def _write_user(ctx: Context, row: Values, before: Values | None) -> None:
    """Through gis.reference.users: its checks (organization kinds, jurisdiction codes) and its audit rows."""
    fields = ("full_name", "role", "organization", "jurisdiction", "phone")
    if before is None:
        users.create_account(
            ctx.session, actor=ctx.actor, username=row["username"], password=row.get("password") or "",
            full_name=row["full_name"], role=row["role"], phone=row.get("phone"),
            organization=row.get("organization"), jurisdiction=list(row.get("jurisdiction") or []),
        )  # fmt: skip
    elif changes := _changed(row, before, fields):
        users.update_account(ctx.session, row["username"], changes, actor=ctx.actor)
    active = row.get("is_active", True) is not False
    if active != (before["is_active"] if before is not None else True):
        users.set_account_active(ctx.session, row["username"], active=active, actor=ctx.actor)


USERS = register(
    Sheet(
        name="users",
        title="账号名单",
        columns=[
            Column("username", "用户名", "登录名：字母、数字、_ . @ -", required=True, max_len=60),
            Column("full_name", "姓名", "真实姓名（公示牌、工单上显示）", required=True, max_len=60),
            Column("role", "角色", "管理员看全街道；社区管理员、网格员看辖区；部门、物业看本单位工单", required=True,
                   kind="choice", choices=ROLE_LABELS),
            Column("organization", "所属单位编码", "职能部门人员、物业人员必填（单位名单中的编码）", max_len=40),
            Column("jurisdiction", "辖区编码", "社区管理员、网格员的社区/网格/小区编码，多个用“、”分隔", kind="list",
                   max_len=20),
            Column("phone", "手机", "本人手机（不公示；公示电话填在网格员名单）", kind="phone"),
            Column("is_active", "启用", "“否”则停用账号；空着为“是”", kind="bool", default=True),
            Column("password", "初始密码", f"仅新账号必填，至少 {MIN_PASSWORD_LEN} 位；已有账号忽略（在控制台重置）",
                   write_only=True, max_len=200),
        ],
        key=("username",),
        load=_load_users,
        check=_check_user,
        write=_write_user,
        personal=("full_name", "phone"),
        table="users",
        audited=True,
    )
)  # fmt: skip


# --- staff (网格员名单) ------------------------------------------------------------------------------------


def _live_cells(ctx: Context) -> dict[str, GridCell]:
    found: dict[str, GridCell] = ctx.lookup(
        "cells", lambda: {c.code: c for c in ctx.session.scalars(select(GridCell).where(GridCell.valid_to.is_(None)))}
    )
    return found


def _load_staff(ctx: Context) -> dict[Key, Values]:
    rows = ctx.session.execute(
        select(CellStaff, User.username, User.full_name, GridCell.name)
        .join(User, User.id == CellStaff.user_id)
        .outerjoin(GridCell, (GridCell.code == CellStaff.cell_code) & GridCell.valid_to.is_(None))
    ).all()
    return {
        (s.cell_code, username): {
            "cell_code": s.cell_code,
            "cell_name": cell_name,
            "duty": s.duty,
            "username": username,
            "full_name": full_name,
            "duty_phone": s.duty_phone,
            "_employment": s.employment,
        }
        for s, username, full_name, cell_name in rows
        if ctx.in_scope(s.cell_code)
    }


def _check_staff(ctx: Context, row: Values, before: Values | None) -> list[tuple[str, str]]:
    """The uploader's reach (as the export shows it); the cell, the person and the duty are checked by
    gis.reference.staff when the row is written."""
    if not ctx.in_scope(row["cell_code"]):
        return [("cell_code", f"网格 {row['cell_code']} 不在你的辖区 / outside your jurisdiction")]
    return []


def _write_staff(ctx: Context, row: Values, before: Values | None) -> None:
    """Through gis.reference.staff (one 网格长 a cell, the jurisdiction rule, the audit row)."""
    staff.assign_staff(
        ctx.session, actor=ctx.actor, cell_code=row["cell_code"], username=row["username"], duty=row["duty"],
        duty_phone=row.get("duty_phone"), employment=before.get("_employment") if before else None,
    )  # fmt: skip


STAFF = register(
    Sheet(
        name="staff",
        title="网格员名单",
        columns=[
            Column("cell_code", "网格编码", "15 位网格编码", required=True, max_len=15),
            Column("cell_name", "网格名称", "", info=True),
            Column("duty", "职责", "每个网格一名网格长，若干网格员", required=True, kind="choice", choices=DUTIES),
            Column("username", "用户名", "账号名单中的用户名（角色为社区管理员或网格员）", required=True, max_len=60),
            Column("full_name", "姓名", "", info=True),
            Column("duty_phone", "公示电话", "公示牌、地图上公布的工作电话（不是本人手机）", kind="phone"),
        ],
        key=("cell_code", "username"),
        load=_load_staff,
        check=_check_staff,
        write=_write_staff,
        roles=("admin", "manager"),
        table="cell_staff",
        audited=True,
    )
)  # fmt: skip
