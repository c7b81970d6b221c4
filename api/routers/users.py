"""Accounts: change your own password; admins (the whole 街道) and managers (the grid workers of their
community) list, create, change, disable, re-enable accounts and reset passwords (gis/reference/users.py,
every change audited).

Disabling an account or changing its password revokes every token it holds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, status
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep
from api.schemas.common import error_responses
from api.schemas.reference import AccountCreate, AccountDetailPublic, AccountListPublic, AccountUpdate
from api.schemas.users import PasswordChange, PasswordReset
from gis import access, auth
from gis.models import Organization, User
from gis.reference import checks
from gis.reference import users as accounts


def admin_only(user: CurrentUser) -> User:
    auth.require_role(user, "admin")
    return user


def reference_writer(user: CurrentUser) -> User:
    """Admins and managers write reference data (managers: in their community; the domain checks where)."""
    checks.require_writer(user, "基础数据 / reference data")
    return user


router = APIRouter(tags=["users"], responses=error_responses(401, 422))
manage = APIRouter(
    prefix="/v1/users",
    tags=["users"],
    dependencies=[Depends(reference_writer)],
    responses=error_responses(401, 403, 404, 409, 422),
)


def account_out(session: Session, user: User) -> dict[str, Any]:
    org = session.get(Organization, user.organization_id) if user.organization_id else None
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "organization_id": user.organization_id,
        "organization": org.code if org else None,
        "jurisdiction": list(user.jurisdiction or []),
        "phone": user.phone,
        "is_active": user.is_active,
    }


@router.post("/v1/auth/password", status_code=204)
def change_own_password(body: PasswordChange, user: CurrentUser, session: SessionDep) -> None:
    """Change your own password; all your tokens (this one included) stop working: log in again."""
    auth.change_password(session, user, old_password=body.old_password, new_password=body.new_password)


@manage.get("", response_model=list[AccountListPublic])
def list_accounts(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """The accounts you manage (admin: every one; manager: the grid workers of your communities)."""
    return [account_out(session, u) for u in accounts.list_accounts(session, actor=user)]


@manage.post("", status_code=status.HTTP_201_CREATED, response_model=AccountDetailPublic)
def create_account(body: AccountCreate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Create an account with a role, an organization (code) and a jurisdiction (community/cell/compound codes)."""
    created = accounts.create_account(session, actor=user, **body.model_dump())
    return account_out(session, created)


@manage.get("/{username}", response_model=AccountDetailPublic)
def get_account(username: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """One account with its phone (the read is logged in the personal-data audit)."""
    target = accounts.get_account(session, username, actor=user)
    if target.phone:
        access.record_read(session, user, subject="user", ref=target.username, fields=["phone"])
    return account_out(session, target)


@manage.patch("/{username}", response_model=AccountDetailPublic)
def update_account(username: str, body: AccountUpdate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Change name, phone, role, organization or jurisdiction (only the fields sent)."""
    changed = accounts.update_account(session, username, body.model_dump(exclude_unset=True), actor=user)
    return account_out(session, changed)


@manage.post("/{username}/disable", response_model=AccountDetailPublic)
def disable_account(username: str, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Disable an account: it can no longer log in, and its tokens stop working at once."""
    return account_out(session, accounts.set_account_active(session, username, active=False, actor=user))


@manage.post("/{username}/enable", response_model=AccountDetailPublic)
def enable_account(username: str, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Re-enable a disabled account (it logs in again with its password)."""
    return account_out(session, accounts.set_account_active(session, username, active=True, actor=user))


@manage.post("/{username}/password", response_model=AccountDetailPublic)
def reset_password(username: str, body: PasswordReset, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Set a new password for an account (e.g. a forgotten one); its sessions end."""
    return account_out(session, accounts.reset_account_password(session, username, body.new_password, actor=user))


router.include_router(manage)
