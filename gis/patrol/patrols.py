"""A patrol's life: start, stream GPS fixes in batches, end; close the ones never ended.

Every write is idempotent: a patrol on (user, client_key), a batch on its batch_key (the shared
idempotency-key table, scope "patrol:<id>"), a fix on (patrol, t). A batch is written by ONE statement
that claims its key and inserts its fixes (sent as one JSON array) flagging those far outside the worker's
cells; the whole batch commits or nothing does. See docs/patrols.md "Ingest" for what this costs and why.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import bindparam, column, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session
from sqlalchemy.types import Boolean, DateTime, Float, Integer, String

from gis.auth import checked_token_user, require_role, token_query
from gis.crs import check_lonlat, to_wgs84
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


# One statement per batch: claim the batch key, then (only if it was claimed) insert the fixes, flagging those
# far outside the worker's cells (ST_Intersects first: a fix inside is never measured; the geography distance
# only for the ones outside). The fixes arrive as one JSON array (cheaper to send than seven typed arrays).
_INSERT_FIXES = text(
    """
WITH claim AS (
    INSERT INTO idempotency_keys (scope, key, request_sha256, response, created_at)
    VALUES (:scope, :key, :sha, '{}', now())
    ON CONFLICT ON CONSTRAINT uq_idempotency_scope_key DO NOTHING
    RETURNING id
), j AS (
    SELECT ST_Union(geom) AS g FROM grid_cells
    WHERE valid_to IS NULL AND :worker
      AND (code = ANY(:jur) OR code IN (SELECT cell_code FROM cell_staff WHERE user_id = :uid))
), f AS (
    SELECT * FROM jsonb_to_recordset(CAST(:fixes AS jsonb))
        AS u(t timestamptz, x float8, y float8, a real, s real, h real, fl smallint)
), ins AS (
    INSERT INTO patrol_fixes (patrol_id, t, geom, accuracy_m, speed_mps, heading_deg, flags)
    SELECT :pid, f.t, p.pt, f.a, f.s, f.h,
           f.fl | CASE WHEN j.g IS NULL OR ST_Intersects(j.g, p.pt)
                         OR ST_DWithin(Geography(j.g), Geography(p.pt), :far) THEN 0 ELSE :outside END
    FROM f CROSS JOIN j CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(f.x, f.y), 4326) AS pt) AS p
    WHERE EXISTS (SELECT FROM claim)
    ON CONFLICT (patrol_id, t) DO NOTHING
    RETURNING flags
)
SELECT (SELECT count(*) FROM claim), count(*), count(*) FILTER (WHERE flags <> 0) FROM ins
"""
).bindparams(
    bindparam("scope", type_=String()),
    bindparam("key", type_=String()),
    bindparam("sha", type_=String()),
    bindparam("worker", type_=Boolean()),
    bindparam("jur", type_=ARRAY(String())),
    bindparam("uid", type_=Integer()),
    bindparam("fixes", type_=String()),
    bindparam("pid", type_=Integer()),
    bindparam("far", type_=Float()),
    bindparam("outside", type_=Integer()),
)

# The patrol's owner and the last good fix stored before the batch (for the speed-jump check), in one trip.
_PATROL_CONTEXT = text(
    """
SELECT p.user_id AS owner, g.t AS t, ST_X(g.geom) AS x, ST_Y(g.geom) AS y
FROM patrols AS p LEFT JOIN LATERAL (
    SELECT x.t, x.geom FROM patrol_fixes AS x
    WHERE x.patrol_id = p.id AND x.t < :before AND x.flags = 0 ORDER BY x.t DESC LIMIT 1
) AS g ON true
WHERE p.id = :pid
"""
).bindparams(bindparam("pid", type_=Integer()), bindparam("before", type_=DateTime(timezone=True)))


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance (enough for telling a walk from a GPS jump)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def _wgs84(f: Fix) -> tuple[float, float]:
    if f.crs in ("wgs84", "cgcs2000"):  # the phones' (browser geolocation) case: no transform
        check_lonlat(f.lon, f.lat)
        return f.lon, f.lat
    return to_wgs84(f.lon, f.lat, f.crs)


def clean_batch(fixes: list[Fix], limits: FixLimits, *, now: datetime, previous: tuple[datetime, float, float] | None
                ) -> list[tuple[Fix, int]]:  # fmt: skip
    """Sorted, deduplicated (first fix of a timestamp wins), WGS84, flagged for accuracy and speed jumps.

    A speed jump is judged against the last good fix before it (`previous` is the stored one preceding the
    batch), so one wild fix does not flag the good fix after it. Future timestamps refuse the batch."""
    _check_times(fixes, now + timedelta(seconds=limits.future_skew_s), now)
    out: list[tuple[Fix, int]] = []
    seen: set[datetime] = set()
    max_acc, max_speed = limits.max_accuracy_m, limits.max_speed_mps
    for f in sorted(fixes, key=attrgetter("t")):
        if f.t in seen:
            continue
        seen.add(f.t)
        lon, lat = _wgs84(f)
        flags = FLAG_ACCURACY if f.accuracy_m is not None and f.accuracy_m > max_acc else 0
        if previous is not None and not flags:
            dt = (f.t - previous[0]).total_seconds()
            if dt > 0 and _metres(previous[1], previous[2], lon, lat) / dt > max_speed:
                flags |= FLAG_SPEED
        if not flags:
            previous = (f.t, lon, lat)
        out.append((Fix(f.t, lon, lat, "wgs84", f.accuracy_m, f.speed_mps, f.heading_deg), flags))
    return out


def _check_times(fixes: list[Fix], horizon: datetime, now: datetime) -> None:
    for f in fixes:
        if f.t.tzinfo is None:
            raise InvalidInput("fix timestamps must carry a timezone (e.g. 2024-05-01T08:00:00+08:00)")
        if f.t > horizon:
            raise InvalidInput(
                f"定位时间在未来 / a fix is timestamped in the future ({f.t.isoformat()}); check the phone's clock",
                detail={"t": f.t.isoformat(), "now": now.isoformat()},
            )


def _first(fixes: list[Fix], now: datetime) -> datetime:
    return min((f.t for f in fixes if f.t.tzinfo is not None), default=now)


def add_fixes_for_token(
    session: Session, token: str, patrol_id: int, *, batch_key: str, fixes: list[Fix], now: datetime | None = None
) -> dict[str, int]:
    """`add_fixes` for the bearer of `token` (the API's hot path): the token check and the patrol context
    (owner, last good fix) in one round trip; 401 for a bad token before anything else."""
    now = now or utcnow()
    ctx = (
        _PATROL_CONTEXT.columns(
            column("owner", Integer()), column("t", DateTime(timezone=True)), column("x", Float()), column("y", Float())
        )
        .subquery("ctx")
    )  # fmt: skip
    stmt = token_query(token).add_columns(ctx.c.owner, ctx.c.t, ctx.c.x, ctx.c.y).outerjoin(ctx, true())
    row = session.execute(stmt, {"pid": patrol_id, "before": _first(fixes, now)}).first()
    user = checked_token_user(row)
    assert row is not None
    return add_fixes(session, user, patrol_id, batch_key=batch_key, fixes=fixes, now=now, context=tuple(row[2:]))


def add_fixes(
    session: Session, user: User, patrol_id: int, *, batch_key: str, fixes: list[Fix], now: datetime | None = None,
    context: tuple[Any, ...] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Store a batch of fixes → {"accepted", "duplicates", "flagged"}; a replayed batch_key stores nothing.

    Three round trips: the patrol's owner with the last good fix before the batch (`context`, when the caller
    read it with the token: `add_fixes_for_token`); the batch (key claim and insert in one statement); on a
    replay only, the stored key's body hash (same body: nothing; else 409)."""
    limits = load_config().fixes
    now = now or utcnow()
    if not batch_key or len(batch_key) > idempotency.MAX_KEY_LEN:
        raise InvalidInput(f"batch_key must be 1–{idempotency.MAX_KEY_LEN} characters")
    _check_times(fixes, now + timedelta(seconds=limits.future_skew_s), now)
    if context is None:
        context = session.execute(_PATROL_CONTEXT, {"pid": patrol_id, "before": _first(fixes, now)}).first()
    row = context
    if row is None or row[0] is None:
        raise NotFound(f"没有巡查 {patrol_id} / no patrol {patrol_id}")
    if row[0] != user.id:
        raise Forbidden("这不是您的巡查 / this patrol belongs to someone else")
    if len(fixes) > limits.max_batch:
        raise InvalidInput(f"at most {limits.max_batch} fixes per batch, got {len(fixes)}")
    previous = (row[1], float(row[2]), float(row[3])) if row[1] is not None else None
    cleaned = clean_batch(fixes, limits, now=now, previous=previous)
    sha = hashlib.sha256(
        orjson.dumps([(f.t, f.lon, f.lat, f.crs, f.accuracy_m, f.speed_mps, f.heading_deg) for f in fixes])
    ).hexdigest()
    payload = orjson.dumps(
        [
            {"t": f.t, "x": f.lon, "y": f.lat, "a": f.accuracy_m, "s": f.speed_mps, "h": f.heading_deg, "fl": fl}
            for f, fl in cleaned
        ]  # fmt: skip
    ).decode()
    scope = f"patrol:{patrol_id}"
    claimed, accepted, flagged = session.execute(
        _INSERT_FIXES,
        {
            "scope": scope[: idempotency.SCOPE_LEN],
            "key": batch_key,
            "sha": sha,
            "worker": user.role == "grid_worker",
            "jur": list(user.jurisdiction or []),
            "uid": user.id,
            "fixes": payload,
            "pid": patrol_id,
            "far": limits.far_outside_m,
            "outside": FLAG_OUTSIDE,
        },
    ).one()
    if not claimed:
        idempotency.check_replay(session, scope, batch_key, sha)
        return {"accepted": 0, "duplicates": len(fixes), "flagged": 0}
    return {"accepted": int(accepted), "duplicates": len(fixes) - int(accepted), "flagged": int(flagged)}


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
