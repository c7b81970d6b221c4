"""GPS fix ingest (W9): a batch is ONE statement — token → user, patrol owner, batch-key claim, the last good
fix stored before the batch (speed check), far outside the worker's cells, the insert — over arrays sent as
parameters. See docs/patrols.md "Ingest" for what the profile showed.

The caller hands over the batch as columns (`FixColumns`); `prepare` does what the database need not: checks
(batch key and size, future timestamps, coordinates), GCJ-02/BD-09 converted in bulk, the body hash of the
idempotency key, sort and dedupe, the accuracy and speed flags walked from the batch's first good fix (the
statement walks again from the stored fix only when that first good fix is a jump from it).
The statement runs on a sync DB-API connection (tests, CLI, demo: inside the caller's transaction) or on an
async psycopg connection in autocommit (the API's hot path: one round trip, no thread hop).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson

from gis.crs import check_lonlat, to_wgs84_arrays
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from gis.patrol.config import FixLimits, load_config
from gis.patrol.models import FLAG_ACCURACY, FLAG_OUTSIDE, FLAG_SPEED
from gis.tickets import idempotency

PLAIN_CRS = frozenset({"wgs84", "cgcs2000"})


@dataclass
class FixColumns:
    """A batch as columns (one entry per fix, in the order sent). `t_text` is what PostgreSQL parses (ISO 8601
    with an offset); `crs` is None when every fix is WGS84/CGCS2000."""

    t: list[datetime]
    t_text: list[str]
    lon: list[float]
    lat: list[float]
    crs: list[str] | None
    accuracy_m: list[float | None]
    speed_mps: list[float | None]
    heading_deg: list[float | None]

    def __len__(self) -> int:
        return len(self.t)


def columns_of(fixes: list[Any]) -> FixColumns:
    """Columns of `Fix`-like objects (t, lon, lat, crs, accuracy_m, speed_mps, heading_deg)."""
    crs = [f.crs for f in fixes]
    return FixColumns(
        t=[f.t for f in fixes],
        t_text=[f.t.isoformat() for f in fixes],
        lon=[float(f.lon) for f in fixes],
        lat=[float(f.lat) for f in fixes],
        crs=None if all(c in PLAIN_CRS for c in crs) else crs,
        accuracy_m=[None if f.accuracy_m is None else float(f.accuracy_m) for f in fixes],
        speed_mps=[None if f.speed_mps is None else float(f.speed_mps) for f in fixes],
        heading_deg=[None if f.heading_deg is None else float(f.heading_deg) for f in fixes],
    )


# The one statement. `who`: the token's user (or, from the domain, a user id); `pat`: the patrol's owner;
# `claim`: the batch key, taken only for the owner; `stored`: the key's body hash if it was used before;
# `b`: the batch, sorted and one fix per timestamp, with the accuracy and speed flags `prepare` computed walking
# it from its first accuracy-good fix (each fix against the last good one); `prev`: the last good fix stored
# before the batch (within a day: a jump needs > 15 m/s). Those flags hold unless the batch's first good fix is
# itself a jump from `prev` (`resync`): only then does `chain` walk the fixes again from `prev`, recursively.
_SQL = """
WITH RECURSIVE
tok AS ({who}),
who AS (SELECT * FROM tok WHERE live),
pat AS (SELECT p.user_id FROM patrols AS p WHERE p.id = %(pid)s),
claim AS (
    INSERT INTO idempotency_keys (scope, key, request_sha256, response, created_at)
    SELECT %(scope)s, %(key)s, %(sha)s, '{{}}', now() FROM who JOIN pat ON pat.user_id = who.id
    ON CONFLICT ON CONSTRAINT uq_idempotency_scope_key DO NOTHING
    RETURNING id
),
stored AS (SELECT request_sha256 FROM idempotency_keys WHERE scope = %(scope)s AND key = %(key)s),
b AS (
    SELECT * FROM unnest(CAST(%(t)s AS timestamptz[]), CAST(%(x)s AS float8[]), CAST(%(y)s AS float8[]),
                         CAST(%(a)s AS real[]), CAST(%(s)s AS real[]), CAST(%(h)s AS real[]), CAST(%(f)s AS int[]))
         AS u(t, x, y, a, s, h, f)
),
prev AS (
    SELECT f.t, ST_X(f.geom) AS x, ST_Y(f.geom) AS y FROM patrol_fixes AS f
    WHERE f.patrol_id = %(pid)s AND f.t < %(t0)s AND f.t > %(t0)s - interval '1 day' AND f.flags = 0
    ORDER BY f.t DESC LIMIT 1
),
resync AS (SELECT 1 FROM prev WHERE {jump_first}),
g AS (SELECT row_number() OVER (ORDER BY t) AS i, t, x, y FROM b WHERE f & {f_acc} = 0),
ga AS MATERIALIZED (
    SELECT array_agg(t ORDER BY i) AS ts, array_agg(x ORDER BY i) AS xs, array_agg(y ORDER BY i) AS ys FROM g
),
chain(i, t, x, y, jump) AS (
    SELECT 0::bigint, p.t, p.x, p.y, false FROM prev AS p WHERE EXISTS (SELECT FROM resync)
  UNION ALL
    SELECT c.i + 1, CASE WHEN q.j THEN c.t ELSE ga.ts[c.i + 1] END, CASE WHEN q.j THEN c.x ELSE ga.xs[c.i + 1] END,
           CASE WHEN q.j THEN c.y ELSE ga.ys[c.i + 1] END, q.j
    FROM chain AS c CROSS JOIN ga
    CROSS JOIN LATERAL (SELECT {jump_chain} AS j) AS q
    WHERE c.i < cardinality(ga.ts)
),
jumped AS (SELECT g.t FROM chain JOIN g ON g.i = chain.i WHERE chain.jump),
j AS (  -- the worker's cells: their codes first (an OR per cell read every live cell: 27 ms at 10,000 cells)
    SELECT ST_Union(c.geom) AS geom
    FROM who
    CROSS JOIN LATERAL (
        SELECT CAST(who.jurisdiction AS text[])
               || ARRAY(SELECT CAST(s.cell_code AS text) FROM cell_staff AS s WHERE s.user_id = who.id) AS codes
    ) AS k
    JOIN grid_cells AS c ON c.code = ANY(k.codes) AND c.valid_to IS NULL
    WHERE who.role = 'grid_worker'
),
ins AS (
    INSERT INTO patrol_fixes (patrol_id, t, geom, accuracy_m, speed_mps, heading_deg, flags)
    SELECT %(pid)s, b.t, p.pt, b.a, b.s, b.h,
           CASE WHEN NOT EXISTS (SELECT FROM resync) THEN b.f
                ELSE b.f & {f_acc} | CASE WHEN b.t IN (SELECT t FROM jumped) THEN {f_speed} ELSE 0 END END
           | CASE WHEN j.geom IS NULL OR ST_Intersects(j.geom, p.pt)
                    OR ST_DWithin(Geography(j.geom), Geography(p.pt), %(far)s) THEN 0 ELSE {f_outside} END
    FROM b CROSS JOIN j CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(b.x, b.y), 4326) AS pt) AS p
    WHERE EXISTS (SELECT FROM claim)
    ON CONFLICT (patrol_id, t) DO NOTHING
    RETURNING flags
)
SELECT (SELECT count(*) FROM tok), (SELECT count(*) FROM who), (SELECT user_id FROM pat), (SELECT id FROM who),
       (SELECT count(*) FROM claim), (SELECT request_sha256 FROM stored), count(*), count(*) FILTER (WHERE flags <> 0)
FROM ins
"""


def _metres_sql(x1: str, y1: str, x2: str, y2: str) -> str:
    """Haversine metres in SQL (the same formula the Python check used)."""
    return (
        f"2 * 6371008.8 * asin(least(1.0, sqrt(sin(radians({y2} - {y1}) / 2) ^ 2 + cos(radians({y1})) "
        f"* cos(radians({y2})) * sin(radians({x2} - {x1}) / 2) ^ 2)))"
    )


def _jump(t1: str, x1: str, y1: str, t2: str, x2: str, y2: str) -> str:
    return (
        f"({t1} IS NOT NULL AND {t2} > {t1} AND {_metres_sql(x1, y1, x2, y2)} "
        f"> %(max_speed)s * date_part('epoch', {t2} - {t1}))"
    )


def _statement(who: str) -> str:
    return _SQL.format(
        who=who,
        jump_first=_jump("prev.t", "prev.x", "prev.y", "%(t1)s", "%(x1)s", "%(y1)s"),
        jump_chain=_jump("c.t", "c.x", "c.y", "ga.ts[c.i + 1]", "ga.xs[c.i + 1]", "ga.ys[c.i + 1]"),
        f_acc=FLAG_ACCURACY,
        f_speed=FLAG_SPEED,
        f_outside=FLAG_OUTSIDE,
    )


# the bearer of a token (the API) or a user the caller has already checked (the domain, demo, tests)
BY_TOKEN = _statement(
    "SELECT u.id, u.role, u.jurisdiction, NOT k.revoked AND k.expires_at > now() AND u.is_active AS live "
    "FROM api_tokens AS k JOIN users AS u ON u.id = k.user_id WHERE k.token_sha256 = %(digest)s"
)
BY_USER = _statement("SELECT u.id, u.role, u.jurisdiction, u.is_active AS live FROM users AS u WHERE u.id = %(uid)s")


@dataclass(frozen=True)
class Prepared:
    params: dict[str, Any]
    scope: str
    key: str
    sha: str
    count: int


def _literal(values: list[float | None] | list[float]) -> str:
    """A PostgreSQL array literal: orjson writes floats as repr does (shortest round trip) and null, which
    PostgreSQL reads as NULL in an array."""
    return "{" + orjson.dumps(values)[1:-1].decode() + "}"


def prepare(batch_key: str, patrol_id: int, cols: FixColumns, *, now: datetime, limits: FixLimits | None = None
            ) -> Prepared:  # fmt: skip
    """Check what needs no database (batch key, size, timestamps with a zone and not in the future, coordinates),
    convert GCJ-02/BD-09 to WGS84 in bulk, hash the body (the same hash as before: a replay across an upgrade
    is still a replay), sort, dedupe and flag, and build the statement's parameters."""
    limits = limits or load_config().fixes
    if not batch_key or len(batch_key) > idempotency.MAX_KEY_LEN:
        raise InvalidInput(f"batch_key must be 1–{idempotency.MAX_KEY_LEN} characters")
    n = len(cols)
    if n > limits.max_batch:
        raise InvalidInput(f"at most {limits.max_batch} fixes per batch, got {n}")
    horizon = now + timedelta(seconds=limits.future_skew_s)
    for t in cols.t:
        if t.tzinfo is None:
            raise InvalidInput("fix timestamps must carry a timezone (e.g. 2024-05-01T08:00:00+08:00)")
        if t > horizon:
            raise InvalidInput(
                f"定位时间在未来 / a fix is timestamped in the future ({t.isoformat()}); check the phone's clock",
                detail={"t": t.isoformat(), "now": now.isoformat()},
            )
    crs = cols.crs or ["wgs84"] * n
    sha = hashlib.sha256(
        orjson.dumps(
            list(zip(cols.t, cols.lon, cols.lat, crs, cols.accuracy_m, cols.speed_mps, cols.heading_deg, strict=True))
        )  # fmt: skip
    ).hexdigest()
    lon, lat = cols.lon, cols.lat
    if n and (min(lon) < -180 or max(lon) > 180 or min(lat) < -90 or max(lat) > 90):
        bad = next(k for k in range(n) if not (-180 <= lon[k] <= 180 and -90 <= lat[k] <= 90))
        check_lonlat(lon[bad], lat[bad])
    if cols.crs is not None:
        lon, lat = _to_wgs84(lon, lat, cols.crs)
    # sorted, one fix per timestamp (the first sent wins: the sort is stable), flagged walking from the first
    # accuracy-good fix; the statement checks that fix against the stored one before the batch (`resync`)
    keep, last = [], None
    for k in sorted(range(n), key=cols.t.__getitem__):
        if cols.t[k] != last:
            keep.append(k)
            last = cols.t[k]
    flags, first = _flags(keep, cols, lon, lat, limits)
    scope = f"patrol:{patrol_id}"[: idempotency.SCOPE_LEN]
    f1 = keep[first] if first is not None else None
    params = {
        "pid": patrol_id,
        "scope": scope,
        "key": batch_key,
        "sha": sha,
        "t": "{" + ",".join([cols.t_text[k] for k in keep]) + "}",
        "x": _literal([lon[k] for k in keep]),
        "y": _literal([lat[k] for k in keep]),
        "a": _literal([cols.accuracy_m[k] for k in keep]),
        "s": _literal([cols.speed_mps[k] for k in keep]),
        "h": _literal([cols.heading_deg[k] for k in keep]),
        "f": _literal(flags),  # type: ignore[arg-type]
        "t0": cols.t[keep[0]] if n else now,
        "t1": None if f1 is None else cols.t[f1],
        "x1": None if f1 is None else lon[f1],
        "y1": None if f1 is None else lat[f1],
        "max_speed": limits.max_speed_mps,
        "far": limits.far_outside_m,
    }
    return Prepared(params, scope, batch_key, sha, n)


def _flags(keep: list[int], cols: FixColumns, lon: list[float], lat: list[float], limits: FixLimits
           ) -> tuple[list[int], int | None]:  # fmt: skip
    """Accuracy and speed-jump flags of the sorted fixes `keep`, each fix judged against the last good one
    before it in the batch; and the position of the first accuracy-good fix."""
    max_acc, max_speed = limits.max_accuracy_m, limits.max_speed_mps
    flags = [0] * len(keep)
    first: int | None = None
    last: tuple[float, float, float] | None = None
    for pos, k in enumerate(keep):
        acc = cols.accuracy_m[k]
        if acc is not None and acc > max_acc:
            flags[pos] = FLAG_ACCURACY
            continue
        e, x, y = cols.t[k].timestamp(), lon[k], lat[k]
        if last is None:
            first = pos
        elif e > last[0] and _metres(last[1], last[2], x, y) > max_speed * (e - last[0]):
            flags[pos] = FLAG_SPEED
            continue
        last = (e, x, y)
    return flags, first


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine metres (the statement's `_metres_sql`)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def _to_wgs84(lon: list[float], lat: list[float], crs: list[str]) -> tuple[list[float], list[float]]:
    x, y = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    kinds = np.asarray(crs)
    for kind in ("gcj02", "bd09"):
        sel = kinds == kind
        if sel.any():
            x[sel], y[sel] = to_wgs84_arrays(x[sel], y[sel], kind)
    other = ~np.isin(kinds, ["wgs84", "cgcs2000", "gcj02", "bd09"])
    if other.any():
        raise InvalidInput(f"unknown crs {kinds[other][0]!r}; use one of wgs84, cgcs2000, gcj02, bd09")
    return x.tolist(), y.tolist()


def outcome(prep: Prepared, row: Any) -> dict[str, int] | None:
    """The answer from the statement's row; None when the key was claimed meanwhile by a concurrent request
    (the caller then reads the stored hash: `check_replay`). Raises the refusal otherwise."""
    found, live, owner, uid, claimed, stored_sha, accepted, flagged = row
    if not found:
        raise Unauthorized("invalid token: log in again at POST /v1/auth/login")
    if not live:
        raise Unauthorized("token expired or revoked: log in again at POST /v1/auth/login")
    if owner is None:
        raise NotFound(f"没有巡查 {prep.params['pid']} / no patrol {prep.params['pid']}")
    if owner != uid:
        raise Forbidden("这不是您的巡查 / this patrol belongs to someone else")
    if claimed:
        return {"accepted": int(accepted), "duplicates": prep.count - int(accepted), "flagged": int(flagged)}
    if stored_sha is None:
        return None
    if stored_sha != prep.sha:
        raise Conflict(
            f"幂等键 {prep.key!r} 已用于不同的请求 / idempotency key {prep.key!r} was already used with a different "
            "body; generate a new key for a new ticket or event",
            detail={"key": prep.key},
        )
    return {"accepted": 0, "duplicates": prep.count, "flagged": 0}


_REPLAY = "SELECT request_sha256 FROM idempotency_keys WHERE scope = %(scope)s AND key = %(key)s"


def _raced(prep: Prepared, stored: Any) -> dict[str, int]:
    return outcome(prep, (1, 1, 0, 0, 0, stored[0] if stored else "", 0, 0)) or {}


def store_sync(dbapi_conn: Any, prep: Prepared, *, digest: str | None = None, user_id: int | None = None
               ) -> dict[str, int]:  # fmt: skip
    """Run the batch on a DB-API (psycopg) connection, inside the caller's transaction."""
    sql, params = _bind(prep, digest, user_id)
    with dbapi_conn.cursor() as cur:
        cur.execute(sql, params)
        result = outcome(prep, cur.fetchone())
        if result is None:
            cur.execute(_REPLAY, prep.params)
            return _raced(prep, cur.fetchone())
    return result


async def store_async(aconn: Any, prep: Prepared, *, digest: str) -> dict[str, int]:
    """Run the batch on an async psycopg connection in autocommit: the statement is its own transaction."""
    sql, params = _bind(prep, digest, None)
    cur = await aconn.execute(sql, params)
    result = outcome(prep, await cur.fetchone())
    if result is None:
        cur = await aconn.execute(_REPLAY, prep.params)
        return _raced(prep, await cur.fetchone())
    return result


def _bind(prep: Prepared, digest: str | None, user_id: int | None) -> tuple[str, dict[str, Any]]:
    if digest is not None:
        return BY_TOKEN, {**prep.params, "digest": digest}
    return BY_USER, {**prep.params, "uid": user_id}
