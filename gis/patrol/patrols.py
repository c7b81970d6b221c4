"""A patrol's life: start, stream GPS fixes in batches, end; close the ones never ended.

Every write is idempotent: a patrol on (user, client_key), a batch on its batch_key (the shared
idempotency-key table, scope "patrol:<id>"), a fix on (patrol, t). A batch is ONE statement
(gis/patrol/ingest.py); the whole batch commits or nothing does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.auth import require_role
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.models import User, utcnow
from gis.patrol import access, ingest
from gis.patrol.models import Patrol, PatrolFix


@dataclass(frozen=True)
class Fix:
    t: datetime
    lon: float
    lat: float
    crs: str = "wgs84"
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None


def start_patrol(session: Session, user: User, *, client_key: str, at: datetime | None = None) -> Patrol:
    """Start (or, with a used client_key, return) a patrol of `user`."""
    require_role(user, *access.PATROL_ROLES)
    if not client_key or len(client_key) > 100:
        raise InvalidInput("client_key must be 1–100 characters")
    stmt = (
        insert(Patrol)
        .values(user_id=user.id, client_key=client_key, started_at=at or utcnow())
        .on_conflict_do_nothing(constraint="uq_patrol_client_key")
    )
    session.execute(stmt)
    patrol = session.scalar(select(Patrol).where(Patrol.user_id == user.id, Patrol.client_key == client_key))
    if patrol is None:  # pragma: no cover - the row exists after the upsert
        raise NotFound("patrol vanished")
    return patrol


def own_patrol(session: Session, user: User, patrol_id: int, *, lock: bool = False) -> Patrol:
    """The patrol, if it is `user`'s (403 for someone else's, 404 for none)."""
    stmt = select(Patrol).where(Patrol.id == patrol_id)
    patrol = session.scalar(stmt.with_for_update() if lock else stmt)
    if patrol is None:
        raise NotFound(f"没有巡查 {patrol_id} / no patrol {patrol_id}")
    if patrol.user_id != user.id:
        raise Forbidden("这不是您的巡查 / this patrol belongs to someone else")
    return patrol


def add_fixes(
    session: Session, user: User, patrol_id: int, *, batch_key: str, fixes: list[Fix], now: datetime | None = None
) -> dict[str, int]:
    """Store a batch of fixes of `user`'s patrol → {"accepted", "duplicates", "flagged"}; a replayed batch_key
    stores nothing (another body under it: 409). One statement (gis/patrol/ingest.py), in `session`'s
    transaction; the API runs the same statement for the bearer of a token."""
    prep = ingest.prepare(batch_key, patrol_id, ingest.columns_of(fixes), now=now or utcnow())
    return ingest.store_sync(session.connection().connection.driver_connection, prep, user_id=user.id)


def end_patrol(session: Session, user: User, patrol_id: int, *, at: datetime | None = None) -> Patrol:
    """End a patrol (idempotent: an ended patrol keeps its first end time)."""
    patrol = own_patrol(session, user, patrol_id, lock=True)
    if patrol.ended_at is None:
        end = at or utcnow()
        if end < patrol.started_at:
            raise InvalidInput("a patrol cannot end before it started")
        patrol.ended_at = end
        session.flush()
    return patrol


def close_stale(session: Session, *, now: datetime | None = None) -> list[int]:
    """Patrols never ended: closed at the end of their local day (or their last fix), flagged auto_closed."""
    now = now or utcnow()
    today_start, _ = access.day_bounds(access.local_day(now))
    stale = list(
        session.scalars(
            select(Patrol)
            .where(Patrol.ended_at.is_(None), Patrol.started_at < today_start)
            .with_for_update(skip_locked=True)
        )
    )
    for p in stale:
        _, day_end = access.day_bounds(access.local_day(p.started_at))
        last = session.scalar(select(PatrolFix.t).where(PatrolFix.patrol_id == p.id).order_by(PatrolFix.t.desc()))
        session.execute(
            update(Patrol).where(Patrol.id == p.id).values(ended_at=min(last or day_end, day_end), auto_closed=True)
        )
    return [p.id for p in stale]


def patrol_summary(p: Patrol) -> dict[str, Any]:
    return {"id": p.id, "started_at": p.started_at, "ended_at": p.ended_at, "auto_closed": p.auto_closed}
