"""A day's GPS fixes as Mapbox vector tiles (/tiles/patrol_fixes/{z}/{x}/{y}.pbf?date=…).

Whose fixes a reader gets follows the patrol track endpoints (/v1/patrols/tracks, gis.patrol.derive): an admin
every worker's (or one community's, or one worker's), a manager their community's workers (the workers assigned
there at the day's end, as the patrol map shows them) or one worker in their jurisdiction, a grid worker only
their own; every other role 403, and never without a token.

A 街道's day is ~2 M fixes (700 workers × 2,880), so a tile is thinned per zoom before it is capped: below zoom 16
a fix is kept when its 10-second slot falls on the zoom's sampling step (one fix every 30 s at z15 … 5 min at
z12; deterministic, the same fixes on every request), flagged fixes always; then at most MAX_FEATURES per tile
(by patrol, then time). `truncated` says the cap cut the tile.

The query reads the day's patrols of those workers first and their fixes by the primary key (patrol_id, t), then
keeps the fixes in the tile; there is no spatial index on patrol_fixes. Measured (bench/patrol_tiles.py,
docs/patrols.md "Patrol tiles"): a community's or one worker's tile costs 4–150 ms this way and 40–850 ms with a
GiST index on geom (the planner then takes the index and reads every day's fixes under the tile); only an admin's
every-worker tile at z16 gains (≈1–3 s → 0.1 s), and a GiST index slows ingest (W9) and grows with history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from gis import auth, tiles
from gis.db import ReadBind, read_row, read_session
from gis.errors import Forbidden, InvalidInput
from gis.models import User
from gis.patrol import access
from gis.patrol.derive import _community_assignments, require_worker_reader

LAYER = "patrol_fixes"
MIN_ZOOM = 12
MAX_ZOOM = tiles.MAX_ZOOM
MAX_FEATURES = 20_000
EXTENT = 4096
BUFFER = 64
FIX_INTERVAL_S = 10  # the field app's GPS interval: fixes are sampled in slots of this many seconds
# sampling step per zoom, in seconds (a fix kept every …); zoom 16 and above: every fix
SAMPLE_S = {12: 300, 13: 180, 14: 60, 15: 30}
FIELDS = {"worker_id": "Number", "patrol_id": "Number", "t": "Number", "accuracy": "Number", "flags": "Number"}
READ_ROLES = ("admin", "manager", "grid_worker")
EARLIEST = date(2000, 1, 1)


def sample_s(z: int) -> int:
    return SAMPLE_S.get(z, FIX_INTERVAL_S if z > max(SAMPLE_S) else SAMPLE_S[min(SAMPLE_S)])


def _sql(users: bool) -> str:
    who = "p.user_id = ANY(%(users)s)" if users else "true"
    return f"""
WITH env AS MATERIALIZED (  -- once: a generic plan would transform the envelope again for every fix
    SELECT e, ST_Transform(e, 4326) AS e4326 FROM (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e) AS t
),
c AS (
    SELECT ST_AsMVTGeom(ST_Transform(x.geom, 3857), env.e, {EXTENT}, {BUFFER}, true) AS geom,
           p.user_id AS worker_id, x.patrol_id, extract(epoch FROM x.t)::bigint AS t,
           x.accuracy_m AS accuracy, x.flags
    FROM env, patrols AS p JOIN patrol_fixes AS x ON x.patrol_id = p.id
    WHERE {who} AND p.started_at < %(end)s AND (p.ended_at IS NULL OR p.ended_at >= %(start)s)
      AND x.t >= %(start)s AND x.t < %(end)s
      AND x.geom && env.e4326
      AND (x.flags <> 0 OR (extract(epoch FROM x.t)::bigint / {FIX_INTERVAL_S}) %% %(every)s = 0)
    ORDER BY x.patrol_id, x.t
    LIMIT %(cap1)s
)
SELECT (SELECT ST_AsMVT(m, '{LAYER}', {EXTENT}, 'geom') FROM (SELECT * FROM c LIMIT %(cap)s) AS m),
       (SELECT count(*) FROM c)
"""


SQL_ALL, SQL_USERS = _sql(False), _sql(True)


@dataclass(frozen=True)
class FixTile:
    data: bytes
    features: int
    truncated: bool  # more fixes matched than MAX_FEATURES: zoom in or pick a worker
    sample_s: int


def check_day(day: date, today: date) -> None:
    if not EARLIEST <= day <= today + timedelta(days=1):
        raise InvalidInput(f"日期超出范围 / date {day} out of range {EARLIEST}..{today + timedelta(days=1)}")


def check_tile(z: int, x: int, y: int) -> None:
    tiles.check_tile(z, x, y)
    if z < MIN_ZOOM:
        raise InvalidInput(f"请放大地图 / zoom in: the {LAYER} layer starts at zoom {MIN_ZOOM}")


def readable_workers(
    session: Session, user: User, *, day: date, worker_id: int | None, community: str | None
) -> list[int] | None:
    """The workers whose fixes `user` reads in the tiles (None: every worker, an admin without a filter); the
    rules of /v1/patrols/tracks and the patrol map (Forbidden / NotFound otherwise)."""
    auth.require_role(user, *READ_ROLES)
    if user.role == "grid_worker":
        if worker_id not in (None, user.id):
            raise Forbidden("网格员只能查看本人的轨迹 / grid workers read only their own fixes")
        return [user.id]  # whatever the community: their own fixes are all they read
    if worker_id is not None and worker_id != user.id:
        require_worker_reader(session, user, worker_id)  # admins; managers: a worker of their jurisdiction
    if community is None:
        if worker_id is not None:
            return [worker_id]
        if user.role in access.WIDE_ROLES:
            return None
        access.require_reader(session, user, None)  # a manager must name their community: 403 with the reason
    assert community is not None
    access.require_reader(session, user, community)
    access.community_id(session, community)  # 404 for an unknown community
    assigned = sorted({int(r[0]) for r in _community_assignments(session, community, day)})
    if worker_id is not None:
        return [worker_id] if worker_id in assigned or worker_id == user.id else []
    return assigned


_workers: dict[tuple[str, date, int | None, str | None], tuple[float, list[int] | None]] = {}
auth.on_account_change(_workers.clear)


def fix_tile(
    bind: ReadBind,
    token: str,
    *,
    day: date,
    z: int,
    x: int,
    y: int,
    worker_id: int | None = None,
    community: str | None = None,
) -> FixTile:
    """One tile of the fixes of `day` that the user of `token` may read. One statement for the tile; whose
    fixes is worked out once per token and filter and kept as long as `gis.auth` keeps the token."""
    check_tile(z, x, y)
    key = (auth.token_digest(token), day, worker_id, community)
    hit = _workers.get(key)
    if hit is None or hit[0] < time.monotonic():
        with read_session(bind) as session:
            user = auth.user_for_token(session, token)
            users = readable_workers(session, user, day=day, worker_id=worker_id, community=community)
        hit = _workers[key] = (time.monotonic() + auth.TOKEN_CACHE_S, users)
    users = hit[1]
    every = sample_s(z)
    if users == []:
        return FixTile(b"", 0, False, every)
    start, end = access.day_bounds(day)
    params = {
        "z": z, "x": x, "y": y, "start": start, "end": end, "every": every // FIX_INTERVAL_S,
        "cap": MAX_FEATURES, "cap1": MAX_FEATURES + 1,
    }  # fmt: skip
    if users is not None:
        params["users"] = users
    row = read_row(bind, SQL_ALL if users is None else SQL_USERS, params)
    data, n = (row[0], int(row[1])) if row is not None else (None, 0)
    return FixTile(bytes(data or b""), min(n, MAX_FEATURES), n > MAX_FEATURES, every)
