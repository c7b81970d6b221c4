"""Client-generated idempotency keys: replaying a request returns the first answer and creates nothing.

The key is reserved with INSERT … ON CONFLICT DO NOTHING, so two concurrent requests with the same key
cannot both do the work: the second waits for the first transaction and then reads its answer.
The same key with a different body is a client bug and gets 409.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput
from gis.tickets.models import IdempotencyKey

MAX_KEY_LEN = 100
SCOPE_LEN = 40  # scopes are stored truncated to the column width


def body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim_key(session: Session, scope: str, key: str, body: Any) -> dict[str, Any] | None:
    """Reserve `key` for this request; return the stored answer if it was already used with this body."""
    if not key or len(key) > MAX_KEY_LEN:
        raise InvalidInput(f"idempotency key must be 1–{MAX_KEY_LEN} characters")
    sha = body_hash(body)
    stmt = (
        insert(IdempotencyKey)
        .values(scope=scope[:SCOPE_LEN], key=key, request_sha256=sha, response={})
        .on_conflict_do_nothing(constraint="uq_idempotency_scope_key")
        .returning(IdempotencyKey.id)
    )
    if session.execute(stmt).scalar() is not None:
        return None
    return check_replay(session, scope, key, sha)


def check_replay(session: Session, scope: str, key: str, sha: str) -> dict[str, Any]:
    """A key already used: its stored answer when the body (`sha`) is the same, else 409."""
    row = session.execute(
        select(IdempotencyKey.request_sha256, IdempotencyKey.response).where(
            IdempotencyKey.scope == scope[:SCOPE_LEN], IdempotencyKey.key == key
        )
    ).one()
    if row.request_sha256 != sha:
        raise Conflict(
            f"幂等键 {key!r} 已用于不同的请求 / idempotency key {key!r} was already used with a different body; "
            "generate a new key for a new ticket or event",
            detail={"key": key},
        )
    response: dict[str, Any] = row.response
    return response


def remember(session: Session, scope: str, key: str, response: dict[str, Any]) -> None:
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.scope == scope[:SCOPE_LEN], IdempotencyKey.key == key)
        .values(response=response)
    )
