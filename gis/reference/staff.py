"""Cell staff (网格长, 专职/兼职网格员): who works which grid cell, with the number published for the duty.

A manager assigns staff only to the cells of their communities; the person must hold a manager or grid-worker
account (their jurisdiction then includes the cell through `cell_staff`, gis.access)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Conflict, NotFound
from gis.models import CellStaff, GridCell, User
from gis.reference import audit, checks

DUTIES = {"manager": "网格长", "worker": "网格员"}
EMPLOYMENTS = {"full_time": "专职", "part_time": "兼职"}
STAFF_ROLES = ("manager", "grid_worker")


def _cell_in_scope(session: Session, actor: User, cell_code: str) -> GridCell:
    cell = checks.live_cell(session, cell_code)
    checks.ensure_community(session, actor, cell.community.code, "网格人员 / cell staff")
    return cell


def _person(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise checks.bad(
            "username", f"没有用户 {username!r}，请先创建账号 / no user {username!r}: create the account first"
        )
    if user.role not in STAFF_ROLES:
        raise checks.bad(
            "username",
            f"{username} 的角色是 {user.role}，网格人员须是网格长或网格员账号 / {username!r} has role {user.role!r}: "
            "cell staff must be manager or grid_worker accounts",
        )
    if not user.is_active:
        raise checks.bad("username", f"账号 {username} 已停用 / account {username!r} is disabled")
    return user


def _duty(duty: str, employment: str | None) -> tuple[str, str | None]:
    if duty not in DUTIES:
        raise checks.bad(
            "duty", f"未知的职责 {duty!r}：网格长 manager 或网格员 worker / duty must be manager or worker"
        )
    if employment is not None and employment not in EMPLOYMENTS:
        raise checks.bad(
            "employment", f"未知的用工类型 {employment!r}：专职 full_time 或兼职 part_time / use full_time or part_time"
        )
    return duty, employment


def assign_staff(
    session: Session,
    *,
    actor: User,
    cell_code: str,
    username: str,
    duty: str,
    duty_phone: str | None = None,
    employment: str | None = None,
) -> CellStaff:
    """Put a person on a cell (one row per cell and person; assigning again changes duty, phone, employment).

    A cell has at most one 网格长: naming a new one is refused until the current one is removed."""
    cell = _cell_in_scope(session, actor, cell_code)
    user = _person(session, username)
    duty, employment = _duty(duty, employment)
    phone = checks.phone(duty_phone, "duty_phone")
    row = session.scalar(select(CellStaff).where(CellStaff.cell_code == cell.code, CellStaff.user_id == user.id))
    if duty == "manager":
        other = session.scalar(
            select(User.username)
            .join(CellStaff, CellStaff.user_id == User.id)
            .where(CellStaff.cell_code == cell.code, CellStaff.duty == "manager", CellStaff.user_id != user.id)
        )
        if other is not None:
            raise Conflict(
                f"网格 {cell.code} 已有网格长 {other}，请先移除 / cell {cell.code} already has a manager ({other}): "
                "remove that assignment first",
                detail={"field": "duty"},
            )
    before = audit.snapshot(session, "cell_staff", row) if row is not None else None
    if row is None:
        row = CellStaff(cell_code=cell.code, user_id=user.id, user=user)
        session.add(row)
    row.duty, row.duty_phone, row.employment = duty, phone, employment
    session.flush()
    audit.record(
        session, actor, "cell_staff", row, action="create" if before is None else "update", before=before,
        community_code=cell.community.code,
    )  # fmt: skip
    return row


def remove_staff(session: Session, *, actor: User, cell_code: str, username: str) -> None:
    """Take a person off a cell (audited: the assignment can be restored from the audit log)."""
    cell = _cell_in_scope(session, actor, cell_code)
    row = session.scalar(
        select(CellStaff)
        .join(User, User.id == CellStaff.user_id)
        .where(CellStaff.cell_code == cell.code, User.username == username)
    )
    if row is None:
        raise NotFound(f"{username} 不在网格 {cell.code} / {username!r} does not work cell {cell.code}")
    before = audit.snapshot(session, "cell_staff", row)
    audit.record(session, actor, "cell_staff", row, action="delete", before=before, community_code=cell.community.code)
    session.delete(row)
    session.flush()


def list_staff(
    session: Session, *, actor: User, community: str | None = None, cell: str | None = None
) -> list[CellStaff]:
    """Staff of the live cells `actor` manages, optionally of one community or cell."""
    checks.require_writer(actor, "网格人员 / cell staff")
    stmt = (
        select(CellStaff)
        .join(User, User.id == CellStaff.user_id)
        .order_by(CellStaff.cell_code, CellStaff.duty, User.username)
    )
    scope = checks.writable_communities(session, actor)
    prefixes = [community] if community else (scope if scope is not None else None)
    rows = list(session.scalars(stmt if cell is None else stmt.where(CellStaff.cell_code == cell)))
    if prefixes is None:
        return rows
    allowed = set(prefixes) & set(scope) if scope is not None else set(prefixes)
    return [r for r in rows if any(r.cell_code.startswith(p) for p in allowed)]
