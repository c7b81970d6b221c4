"""Users, passwords (argon2) and bearer tokens; jurisdiction rules for reads."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, delete, event, func, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from gis.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts, Unauthorized
from gis.models import ROLES, ApiToken, LoginAttempt, User

# OWASP's argon2id minimum (19 MiB, 2 passes): a login costs ~20 ms and 19 MiB, not the library's 64 MiB,
# and at most HASH_SLOTS hashes run at once, so a login flood queues instead of exhausting memory.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
HASH_SLOTS = 4
_slots = threading.BoundedSemaphore(HASH_SLOTS)
MIN_PASSWORD_LEN = 8

# Failed logins tolerated in THROTTLE_WINDOW before further attempts get 429 (per account, per address).
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_IP = 50


@contextmanager
def _hash_slot() -> Iterator[None]:
    with _slots:
        yield


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LEN:
        raise InvalidInput(f"password too short: use at least {MIN_PASSWORD_LEN} characters")
    with _hash_slot():
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    with _hash_slot():
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


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


# Verified against when the username is unknown, so that both answers take the same time.
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_throttle(session: Session, *, username: str, ip: str) -> None:
    """Refuse (429) an account or an address with too many recent failed logins, before any hashing."""
    since = datetime.now(UTC) - THROTTLE_WINDOW
    for column, value, limit in (
        (LoginAttempt.username, username, MAX_FAILURES_PER_ACCOUNT),
        (LoginAttempt.ip, ip, MAX_FAILURES_PER_IP),
    ):
        row = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(column == value, LoginAttempt.at > since)
        ).one()
        if row[0] >= limit:
            retry = max(1, int((row[1] + THROTTLE_WINDOW - datetime.now(UTC)).total_seconds()) + 1)
            raise TooManyAttempts(
                f"登录失败次数过多，请 {retry // 60 + 1} 分钟后再试 / too many failed logins: try again in "
                f"{retry} s, or ask an administrator to reset the password",
                retry_after_s=retry,
            )


def _record_failure(session: Session, *, username: str, ip: str) -> None:
    """Kept although the login fails: the login's transaction (which wrote nothing) is ended and the attempt
    committed on its own, so the error raised next cannot roll it back."""
    session.rollback()
    session.add(LoginAttempt(username=username[:60], ip=ip[:64]))
    session.commit()


def login(
    session: Session, *, username: str, password: str, ttl_hours: int = 12, ip: str = "unknown"
) -> tuple[str, User]:
    """Check the password and issue a new bearer token (returned once, stored hashed).

    Throttled: after MAX_FAILURES_PER_ACCOUNT failures for an account (or MAX_FAILURES_PER_IP from one
    address) within THROTTLE_WINDOW, attempts are refused with 429, even with the right password."""
    check_throttle(session, username=username, ip=ip)
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash, password) if user is not None else verify_password(_DUMMY_HASH, password)
    if user is None or not user.is_active or not ok:
        _record_failure(session, username=username, ip=ip)
        raise Unauthorized("用户名或密码错误 / wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):  # hashes made with older, costlier parameters
        user.password_hash = hash_password(password) if len(password) >= MIN_PASSWORD_LEN else user.password_hash
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.username == username)  # a success clears the count
    )
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=ttl_hours)
    session.add(ApiToken(token_sha256=_sha(token), user_id=user.id, expires_at=expires))
    session.flush()
    return token, user


# Bearer tokens are looked up once per TOKEN_CACHE_S per process, not on every request. A change this process
# makes to an account or a token (logout, disable, password, role, jurisdiction) empties the cache when it is
# flushed and again when it is committed, so it takes effect at once here; another worker process sees it within
# TOKEN_CACHE_S (docs/serving.md).
TOKEN_CACHE_S = 5.0
_token_cache: dict[str, tuple[float, User, datetime]] = {}
_token_cache_lock = threading.Lock()


_on_change: list[Callable[[], None]] = []


def on_account_change(forget: Callable[[], None]) -> None:
    """Call `forget` whenever the token cache is emptied (caches built on what a user may read)."""
    _on_change.append(forget)


def forget_tokens() -> None:
    """Empty the token cache (every account, token or staffing change does; see `_watch_account_changes`)."""
    with _token_cache_lock:
        _token_cache.clear()
    for forget in _on_change:
        forget()


def token_digest(token: str) -> str:
    """What a token is known by (cache keys, the api_tokens table): its SHA-256."""
    return _sha(token)


def _digest_query(digest: str) -> Select[User, ApiToken]:
    return select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_sha256 == digest)


def _lookup(session: Session, digest: str) -> tuple[User, datetime]:
    return _checked(session.execute(_digest_query(digest)).first())


def _checked(row: Any) -> tuple[User, datetime]:
    if row is None:
        raise Unauthorized("invalid token: log in again at POST /v1/auth/login")
    user, tok = row[0], row[1]
    if tok.revoked or tok.expires_at <= datetime.now(UTC) or not user.is_active:
        raise Unauthorized("token expired or revoked: log in again at POST /v1/auth/login")
    return user, tok.expires_at


def user_for_token(session: Session, token: str) -> User:
    """The active user of a live token (Unauthorized otherwise), attached to `session`; cached briefly."""
    digest = _sha(token)
    now = time.monotonic()
    hit = _token_cache.get(digest)
    if hit is not None and hit[0] > now and hit[2] > datetime.now(UTC):
        return session.merge(hit[1], load=False)  # a copy in this session: lazy loads and changes work as usual
    user, expires_at = _lookup(session, digest)
    session.expunge(user)  # the cached snapshot belongs to no session; this request works on a merged copy
    with _token_cache_lock:
        _token_cache[digest] = (now + TOKEN_CACHE_S, user, expires_at)
    return session.merge(user, load=False)


# what a user may read follows from these (cell_staff: a grid worker's cells)
_ACCOUNT_TABLES = frozenset({"users", "api_tokens", "cell_staff"})


@event.listens_for(Session, "after_flush")
def _watch_account_changes(session: Session, _flush_context: Any) -> None:
    if any(
        getattr(o, "__tablename__", None) in _ACCOUNT_TABLES for o in (*session.new, *session.dirty, *session.deleted)
    ):
        forget_tokens()
        session.info["gridgov_forget_tokens"] = True


@event.listens_for(Session, "do_orm_execute")
def _watch_account_statements(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    table = getattr(mapper.persist_selectable, "name", None) if mapper is not None else None
    if (state.is_update or state.is_delete) and table in _ACCOUNT_TABLES:
        forget_tokens()
        state.session.info["gridgov_forget_tokens"] = True


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    # a request that read the old rows between the flush and the commit may have cached them again
    if session.info.pop("gridgov_forget_tokens", False):
        forget_tokens()


def revoke_token(session: Session, token: str) -> None:
    tok = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha(token)))
    if tok is not None:
        tok.revoked = True
    forget_tokens()


def revoke_all_tokens(session: Session, user_id: int) -> int:
    """Revoke every token of a user (on disable and password change); returns how many were live."""
    result = session.execute(
        update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False)).values(revoked=True)
    )
    forget_tokens()
    return int(getattr(result, "rowcount", 0) or 0)


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def set_active(session: Session, user: User, *, active: bool) -> None:
    """Disable (or re-enable) an account; disabling ends all its sessions at once."""
    user.is_active = active
    if not active:
        revoke_all_tokens(session, user.id)
    session.flush()


def set_password(session: Session, user: User, new_password: str) -> None:
    """Reset a password (admin) or set a changed one: every existing token of the user stops working."""
    user.password_hash = hash_password(new_password)
    revoke_all_tokens(session, user.id)
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == user.username))
    session.flush()


def change_password(session: Session, user: User, *, old_password: str, new_password: str) -> None:
    """A user changes their own password (the old one is required)."""
    if not verify_password(user.password_hash, old_password):
        raise Forbidden("原密码错误 / the current password is wrong")
    if old_password == new_password:
        raise InvalidInput("新密码不能与原密码相同 / choose a password different from the current one")
    set_password(session, user, new_password)


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden(f"role {user.role!r} may not do this; needs one of: {', '.join(roles)}")
