"""Account lifecycle: change your password; an admin lists, disables, re-enables and resets accounts.

Disabling an account or changing its password revokes every token it holds."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import CurrentUser, SessionDep
from api.schemas.common import error_responses
from api.schemas.users import AccountPublic, PasswordChange, PasswordReset
from gis import auth
from gis.errors import Forbidden
from gis.models import User


def admin_only(user: CurrentUser) -> User:
    auth.require_role(user, "admin")
    return user


router = APIRouter(tags=["users"], responses=error_responses(401, 422))
admin = APIRouter(
    prefix="/v1/users",
    tags=["users"],
    dependencies=[Depends(admin_only)],
    responses=error_responses(401, 403, 404, 422),
)


@router.post("/v1/auth/password", status_code=204)
def change_own_password(body: PasswordChange, user: CurrentUser, session: SessionDep) -> None:
    """Change your own password; all your tokens (this one included) stop working: log in again."""
    auth.change_password(session, user, old_password=body.old_password, new_password=body.new_password)


@admin.get("", response_model=list[AccountPublic])
def list_accounts(session: SessionDep) -> list[User]:
    """Every account (admin only)."""
    return auth.list_users(session)


@admin.post("/{username}/disable", response_model=AccountPublic)
def disable_account(username: str, user: CurrentUser, session: SessionDep) -> User:
    """Disable an account: it can no longer log in, and its tokens stop working at once."""
    target = auth.get_user(session, username)
    if target.id == user.id:
        raise Forbidden("不能停用自己的账号 / you cannot disable your own account")
    auth.set_active(session, target, active=False)
    return target


@admin.post("/{username}/enable", response_model=AccountPublic)
def enable_account(username: str, session: SessionDep) -> User:
    """Re-enable a disabled account (it logs in again with its password)."""
    target = auth.get_user(session, username)
    auth.set_active(session, target, active=True)
    return target


@admin.post("/{username}/password", response_model=AccountPublic)
def reset_password(username: str, body: PasswordReset, session: SessionDep) -> User:
    """Set a new password for an account (e.g. a forgotten one); its sessions end."""
    target = auth.get_user(session, username)
    auth.set_password(session, target, body.new_password)
    return target


router.include_router(admin)
