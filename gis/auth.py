"""Users, passwords (argon2) and bearer tokens; jurisdiction rules for reads."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from gis.models import ROLES, ApiToken, User

_hasher = PasswordHasher()
MIN_PASSWORD_LEN = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LEN:
        raise InvalidInput(f"password too short: use at least {MIN_PASSWORD_LEN} characters")
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    full_name: str,
    role: str,
    phone: str | None = None,
    organization_id: int | None = None,
    jurisdiction: list[str] | None = None,
) -> User:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        username=username,
        password_hash=hash_password(password),
        full_name=full_name,
        role=role,
        phone=phone,
        organization_id=organization_id,
        jurisdiction=jurisdiction or [],
    )
    session.add(user)
    session.flush()
    return user


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(session: Session, *, username: str, password: str, ttl_hours: int = 12) -> tuple[str, User]:
    """Check the password and issue a new bearer token (returned once, stored hashed)."""
    user = session.scalar(select(User).where(User.username == username))
    bad = Unauthorized("用户名或密码错误 / wrong username or password")
    if user is None or not user.is_active:
        _hasher.hash("timing-equaliser")
        raise bad
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        raise bad from exc
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=ttl_hours)
    session.add(ApiToken(token_sha256=_sha(token), user_id=user.id, expires_at=expires))
    session.flush()
    return token, user


def user_for_token(session: Session, token: str) -> User:
    row = session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == _sha(token))
    ).first()
    if row is None:
        raise Unauthorized("invalid token: log in again at POST /v1/auth/login")
    user, tok = row
    if tok.revoked or tok.expires_at <= datetime.now(UTC) or not user.is_active:
        raise Unauthorized("token expired or revoked: log in again at POST /v1/auth/login")
    return user


def revoke_token(session: Session, token: str) -> None:
    tok = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha(token)))
    if tok is not None:
        tok.revoked = True


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden(f"role {user.role!r} may not do this; needs one of: {', '.join(roles)}")


# Roles that read the whole subdistrict; others are limited to their jurisdiction codes.
WIDE_ROLES = frozenset({"admin", "planner", "department"})


def scope_codes(user: User) -> list[str] | None:
    """Codes limiting what a user may read (community, cell or compound codes); None = everything."""
    if user.role in WIDE_ROLES:
        return None
    return list(user.jurisdiction or [])
