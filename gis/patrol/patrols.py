"""A patrol's life: start, stream GPS fixes in batches, end; close the ones never ended.

Every write is idempotent: a patrol on (user, client_key), a batch on its batch_key (the shared
idempotency-key table, scope "patrol:<id>"), a fix on (patrol, t). A batch is written by one INSERT …
SELECT FROM unnest(…) that also flags fixes far outside the worker's cells; the whole batch commits or
nothing does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session
from sqlalchemy.types import DateTime, Float, Integer, SmallInteger, String

from gis.access import area_codes
from gis.auth import require_role
from gis.crs import to_wgs84
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.models import User, utcnow
from gis.patrol import access
from gis.patrol.config import FixLimits, load_config
from gis.patrol.models import FLAG_ACCURACY, FLAG_OUTSIDE, FLAG_SPEED, Patrol, PatrolFix
from gis.tickets import idempotency


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


_INSERT_FIXES = text(
    """
WITH j AS (SELECT ST_Union(geom) AS g FROM grid_cells WHERE code = ANY(:cells) AND valid_to IS NULL),
f AS (SELECT * FROM unnest(:t, :lon, :lat, :acc, :spd, :hdg, :flags) AS u(t, lon, lat, acc, spd, hdg, flags)),
ins AS (
    INSERT INTO patrol_fixes (patrol_id, t, geom, accuracy_m, speed_mps, heading_deg, flags)
    SELECT :pid, f.t, p.pt, f.acc, f.spd, f.hdg,
           f.flags | CASE WHEN j.g IS NULL OR ST_Intersects(j.g, p.pt)
                            OR ST_DWithin(Geography(j.g), Geography(p.pt), :far) THEN 0 ELSE :outside END
    FROM f CROSS JOIN j CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326) AS pt) AS p
    ON CONFLICT (patrol_id, t) DO NOTHING
    RETURNING flags
)
SELECT count(*), count(*) FILTER (WHERE flags <> 0) FROM ins
"""
).bindparams(
    bindparam("cells", type_=ARRAY(String())),
    bindparam("t", type_=ARRAY(DateTime(timezone=True))),
    bindparam("lon", type_=ARRAY(Float())),
    bindparam("lat", type_=ARRAY(Float())),
    bindparam("acc", type_=ARRAY(Float())),
    bindparam("spd", type_=ARRAY(Float())),
    bindparam("hdg", type_=ARRAY(Float())),
    bindparam("flags", type_=ARRAY(SmallInteger())),
    bindparam("pid", type_=Integer()),
    bindparam("far", type_=Float()),
    bindparam("outside", type_=Integer()),
)


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance (enough for telling a walk from a GPS jump)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def clean_batch(fixes: list[Fix], limits: FixLimits, *, now: datetime, previous: tuple[datetime, float, float] | None
                ) -> list[tuple[Fix, int]]:  # fmt: skip
    """Sorted, deduplicated (first fix of a timestamp wins), WGS84, flagged for accuracy and speed jumps.

    A speed jump is judged against the last good fix before it (`previous` is the stored one preceding the
    batch), so one wild fix does not flag the good fix after it. Future timestamps refuse the batch."""
    horizon = now + timedelta(seconds=limits.future_skew_s)
    out: list[tuple[Fix, int]] = []
    seen: set[datetime] = set()
    for f in sorted(fixes, key=lambda f: f.t):
        if f.t.tzinfo is None:
            raise InvalidInput("fix timestamps must carry a timezone (e.g. 2024-05-01T08:00:00+08:00)")
        if f.t > horizon:
            raise InvalidInput(
                f"定位时间在未来 / a fix is timestamped in the future ({f.t.isoformat()}); check the phone's clock",
                detail={"t": f.t.isoformat(), "now": now.isoformat()},
            )
        if f.t in seen:
            continue
        seen.add(f.t)
        lon, lat = to_wgs84(f.lon, f.lat, f.crs)
        flags = FLAG_ACCURACY if f.accuracy_m is not None and f.accuracy_m > limits.max_accuracy_m else 0
        if previous is not None and not flags:
            dt = (f.t - previous[0]).total_seconds()
            if dt > 0 and _metres(previous[1], previous[2], lon, lat) / dt > limits.max_speed_mps:
                flags |= FLAG_SPEED
        if not flags:
            previous = (f.t, lon, lat)
        out.append((Fix(f.t, lon, lat, "wgs84", f.accuracy_m, f.speed_mps, f.heading_deg), flags))
    return out


def _previous_good(session: Session, patrol_id: int, before: datetime) -> tuple[datetime, float, float] | None:
    row = session.execute(
        text(
            "SELECT t, ST_X(geom), ST_Y(geom) FROM patrol_fixes WHERE patrol_id = :p AND t < :t AND flags = 0 "
            "ORDER BY t DESC LIMIT 1"
        ),
        {"p": patrol_id, "t": before},
    ).first()
    return (row[0], float(row[1]), float(row[2])) if row is not None else None


def _real(x: float | None) -> float | None:
    return None if x is None else float(x)


def add_fixes(
    session: Session, user: User, patrol_id: int, *, batch_key: str, fixes: list[Fix], now: datetime | None = None
) -> dict[str, int]:
    """Store a batch of fixes → {"accepted", "duplicates", "flagged"}; a replayed batch_key stores nothing."""
    limits = load_config().fixes
    now = now or utcnow()
    patrol = own_patrol(session, user, patrol_id)
    if len(fixes) > limits.max_batch:
        raise InvalidInput(f"at most {limits.max_batch} fixes per batch, got {len(fixes)}")
    body = [(f.t.isoformat(), f.lon, f.lat, f.crs, f.accuracy_m, f.speed_mps, f.heading_deg) for f in fixes]
    stored = idempotency.claim_key(session, f"patrol:{patrol.id}", batch_key, body)
    if stored is not None:
        return {"accepted": 0, "duplicates": len(fixes), "flagged": 0}
    cleaned = clean_batch(fixes, limits, now=now, previous=_previous_good(session, patrol.id, min(
        (f.t for f in fixes), default=now)))  # fmt: skip
    accepted, flagged = 0, 0
    if cleaned:
        accepted, flagged = session.execute(
            _INSERT_FIXES,
            {
                "cells": area_codes(session, user) if user.role == "grid_worker" else [],
                "t": [f.t for f, _ in cleaned],
                "lon": [f.lon for f, _ in cleaned],
                "lat": [f.lat for f, _ in cleaned],
                "acc": [_real(f.accuracy_m) for f, _ in cleaned],
                "spd": [_real(f.speed_mps) for f, _ in cleaned],
                "hdg": [_real(f.heading_deg) for f, _ in cleaned],
                "flags": [fl for _, fl in cleaned],
                "pid": patrol.id,
                "far": limits.far_outside_m,
                "outside": FLAG_OUTSIDE,
            },
        ).one()
    answer = {"accepted": int(accepted), "duplicates": len(fixes) - int(accepted), "flagged": int(flagged)}
    idempotency.remember(session, f"patrol:{patrol.id}", batch_key, answer)
    return answer


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
