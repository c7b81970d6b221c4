"""Derived patrol figures, computed in PostGIS from the fixes: minutes on site per worker × compound × day
(the 定岗 rule), distance walked, cell coverage, compounds nobody visited, tracks as GeoJSON.

Why per-fix windows and not clipped LINESTRING M trajectories for on-site time: clipping a trajectory by a
compound (ST_Intersection) goes through GEOS, which drops the M (time) ordinate, and a clip cannot carry the
hysteresis that keeps a phone jittering at the gate from accruing phantom time. So each good fix is placed
once (nearest compound within `exit_m`, lowest code on a tie), and window functions walk each patrol in
time order:
- a fix is *deep* in a compound when it is inside and at least max(enter_m, its accuracy) from the edge;
- a stay starts after `enter_fixes` deep fixes and lasts while fixes stay within `exit_m` of that compound;
- the time between two consecutive fixes of a stay counts, unless the gap exceeds `max_gap_s`.

How a fix is placed, set-based (W10: a 街道 day is ~2 M fixes): fixes and compounds meet in a hash join on
a ~200 m grid key (each compound lists the keys its bounding box + exit_m touches), not one GiST probe per
fix; distances are planar metres in a frame local to each compound (metres per degree of the WGS84
ellipsoid at its centroid: millimetres from the geodesic at these distances), not geography per fix. The
answers equal the earlier geography version's on the W10 data (docs/patrols.md).

Trajectories (LINESTRING M, M = epoch seconds) are built for what lines are good at: distance walked,
coverage buffers and the track map. Cells are taken in the version in force at the end of the day, so a
redraw after that day does not rewrite its figures.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import DateTime, Float, Integer, String

from gis.access import area_codes
from gis.auth import require_role
from gis.errors import Forbidden
from gis.models import AdminArea, Compound, GridCell, User, utcnow
from gis.patrol import access
from gis.patrol.assignments import in_force
from gis.patrol.config import Rule, load_config
from gis.patrol.models import PatrolAssignment, PatrolFix, PatrolSiteDay
from gis.spatial import CELL_VERSION_SQL, at_param

ENTER_FIXES = 2  # deep fixes needed to start a stay: one wild fix at the gate does not
GRID_DEG = 0.002  # the hash grid pairing fixes with nearby compounds (~200 m: a few keys per compound)

_SAVE_SETTINGS = text(
    "SELECT current_setting('work_mem'), current_setting('jit'), "
    "set_config('work_mem', '256MB', true), set_config('jit', 'off', true)"
)
_RESTORE_SETTINGS = text("SELECT set_config('work_mem', :w, true), set_config('jit', :j, true)")

_SITE_MINUTES = text(
    """
WITH f AS (
    SELECT p.user_id, x.patrol_id, x.t, ST_X(x.geom) AS lon, ST_Y(x.geom) AS lat, coalesce(x.accuracy_m, 0) AS acc
    FROM patrols AS p JOIN patrol_fixes AS x ON x.patrol_id = p.id
    WHERE p.started_at < :end AND (p.ended_at IS NULL OR p.ended_at >= :start)
      AND x.t >= :start AND x.t < :end AND x.flags = 0
      AND (cardinality(:users) = 0 OR p.user_id = ANY(:users))
), k AS MATERIALIZED (
    SELECT code, lon0, lat0, kx, ky, gm, ST_Boundary(gm) AS bm,
           ST_XMin(geom) - :exit_m / kx AS x0, ST_XMax(geom) + :exit_m / kx AS x1,
           ST_YMin(geom) - :exit_m / ky AS y0, ST_YMax(geom) + :exit_m / ky AS y1
    FROM compounds
    CROSS JOIN LATERAL (SELECT ST_X(ST_Centroid(geom)) AS lon0, ST_Y(ST_Centroid(geom)) AS lat0) AS c
    CROSS JOIN LATERAL (  -- metres per degree of longitude and latitude at the compound (WGS84 ellipsoid)
        SELECT 111412.84 * cos(radians(lat0)) - 93.5 * cos(radians(3 * lat0)) AS kx,
               111132.954 - 559.822 * cos(radians(2 * lat0)) + 1.175 * cos(radians(4 * lat0)) AS ky
    ) AS s
    CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_Affine(geom, kx, 0, 0, ky, -lon0 * kx, -lat0 * ky), 0) AS gm) AS m
), kk AS MATERIALIZED (
    SELECT k.*, gx, gy FROM k
    CROSS JOIN LATERAL unnest(ARRAY(SELECT generate_series(floor(x0 / :grid)::int, floor(x1 / :grid)::int))) AS gx
    CROSS JOIN LATERAL unnest(ARRAY(SELECT generate_series(floor(y0 / :grid)::int, floor(y1 / :grid)::int))) AS gy
), q AS (
    SELECT f.user_id, f.patrol_id, f.t, f.acc, kk.code, ST_Distance(kk.gm, m.pm) AS dp, ST_Distance(kk.bm, m.pm) AS db
    FROM f LEFT JOIN kk ON kk.gx = floor(f.lon / :grid)::int AND kk.gy = floor(f.lat / :grid)::int
                       AND f.lon BETWEEN kk.x0 AND kk.x1 AND f.lat BETWEEN kk.y0 AND kk.y1
    LEFT JOIN LATERAL (SELECT ST_MakePoint((f.lon - kk.lon0) * kk.kx, (f.lat - kk.lat0) * kk.ky) AS pm) AS m ON true
), z AS (
    SELECT DISTINCT ON (patrol_id, t) user_id, patrol_id, t,
           CASE WHEN dp <= :exit_m THEN code END AS band,
           coalesce(dp = 0 AND db >= greatest(:enter_m, acc), false) AS deep
    FROM q ORDER BY patrol_id, t, dp <= :exit_m IS NOT TRUE, dp, code
), r1 AS (
    SELECT z.*, lag(band) OVER w AS prev_band, count(*) FILTER (WHERE deep) OVER w AS cum_deep
    FROM z WINDOW w AS (PARTITION BY patrol_id ORDER BY t)
), r2 AS (
    -- deep fixes so far in this run = cum_deep minus cum_deep before the run's first fix (the running max
    -- of that base, as cum_deep never decreases): one window order for every step, no sort per run
    SELECT r1.*, band IS NOT NULL
           AND cum_deep - max(CASE WHEN band IS DISTINCT FROM prev_band THEN cum_deep - deep::int END) OVER w
               >= :enter_fixes AS inside
    FROM r1 WINDOW w AS (PARTITION BY patrol_id ORDER BY t)
), r4 AS (
    SELECT r2.*, lead(t) OVER w AS t_next, lead(inside) OVER w AS next_inside, lead(band) OVER w AS next_band
    FROM r2 WINDOW w AS (PARTITION BY patrol_id ORDER BY t)
)
SELECT user_id, band, sum(extract(epoch FROM t_next - t)) / 60.0 AS minutes
FROM r4
WHERE inside AND next_inside AND next_band = band AND t_next - t <= make_interval(secs => :max_gap)
GROUP BY user_id, band
"""
).bindparams(
    bindparam("start", type_=DateTime(timezone=True)),
    bindparam("end", type_=DateTime(timezone=True)),
    bindparam("users", type_=ARRAY(Integer())),
    bindparam("exit_m", type_=Float()),
    bindparam("enter_m", type_=Float()),
    bindparam("grid", type_=Float()),
    bindparam("enter_fixes", type_=Integer()),
    bindparam("max_gap", type_=Float()),
)


def site_minutes(
    session: Session, day: date, *, user_ids: list[int] | None = None, rule: Rule | None = None
) -> dict[tuple[int, str], float]:
    """Minutes on site per (worker, compound) on a local day, from unflagged fixes; for a day without any fix
    left (its partition dropped past the retention: gis/patrol/partitions.py), the minutes the nightly job
    stored then."""
    start, end = access.day_bounds(day)
    if session.scalar(select(PatrolFix.patrol_id).where(PatrolFix.t >= start, PatrolFix.t < end).limit(1)) is None:
        stored = select(PatrolSiteDay.user_id, PatrolSiteDay.compound_code, PatrolSiteDay.minutes).where(
            PatrolSiteDay.day == day
        )
        if user_ids:
            stored = stored.where(PatrolSiteDay.user_id.in_(user_ids))
        return {(int(u), str(c)): float(m) for u, c, m in session.execute(stored)}
    rule = rule or load_config().rule
    # a 街道 day sorts ~2 M rows once: in memory, not in temporary files; JIT spent ~1.4 s compiling this plan
    # (EXPLAIN ANALYZE, 100-worker W10 data) for a query that runs once. Both for this statement only.
    saved = session.execute(_SAVE_SETTINGS).one()
    rows = session.execute(
        _SITE_MINUTES,
        {
            "start": start,
            "end": end,
            "users": list(user_ids or []),
            "exit_m": rule.exit_m,
            "enter_m": rule.enter_m,
            "grid": GRID_DEG,
            "enter_fixes": ENTER_FIXES,
            "max_gap": float(rule.max_gap_s),
        },
    ).all()
    # (on an error the transaction is aborted and its local settings go with it: nothing to restore)
    session.execute(_RESTORE_SETTINGS, {"w": saved[0], "j": saved[1]})
    return {(int(u), str(c)): round(float(m), 1) for u, c, m in rows}


# one LINESTRING M per patrol and day (M = epoch seconds), good fixes only
_TRAJECTORIES = """
SELECT p.id AS patrol_id, p.user_id,
       ST_MakeLine(ST_MakePointM(ST_X(x.geom), ST_Y(x.geom), extract(epoch FROM x.t)) ORDER BY x.t) AS line
FROM patrols AS p JOIN patrol_fixes AS x ON x.patrol_id = p.id
WHERE p.started_at < :end AND (p.ended_at IS NULL OR p.ended_at >= :start)
  AND x.t >= :start AND x.t < :end AND x.flags = 0
  AND (cardinality(:users) = 0 OR p.user_id = ANY(:users))
GROUP BY p.id, p.user_id
HAVING count(*) > 1
"""

_DISTANCE = text(
    f"WITH tr AS ({_TRAJECTORIES}) SELECT user_id, sum(ST_Length(Geography(ST_Force2D(line)))) FROM tr GROUP BY user_id"
).bindparams(
    bindparam("start", type_=DateTime(timezone=True)),
    bindparam("end", type_=DateTime(timezone=True)),
    bindparam("users", type_=ARRAY(Integer())),
)


def distance_m(session: Session, day: date, *, user_ids: list[int] | None = None) -> dict[int, float]:
    """Metres walked per worker on a local day (good fixes, per patrol)."""
    start, end = access.day_bounds(day)
    rows = session.execute(_DISTANCE, {"start": start, "end": end, "users": list(user_ids or [])}).all()
    return {int(u): round(float(m), 1) for u, m in rows}


def _community_assignments(session: Session, community: str | None, day: date) -> list[tuple[Any, ...]]:
    """The assignments in force at the day's last instant (a worker replaced that day is judged no more), with
    the worker's account and the compound's cell in the version in force then."""
    _, end = access.day_bounds(day)
    at = end - timedelta(microseconds=1)
    cell = aliased(GridCell)
    stmt = (
        select(
            PatrolAssignment.user_id,
            User.full_name,
            User.username,
            PatrolAssignment.compound_code,
            Compound.name,
            Compound.cell_code,
            cell.name,
        )  # fmt: skip
        .join(User, User.id == PatrolAssignment.user_id)
        .join(Compound, Compound.code == PatrolAssignment.compound_code)
        .outerjoin(
            cell,
            and_(
                cell.code == Compound.cell_code, cell.valid_from <= at, or_(cell.valid_to.is_(None), cell.valid_to > at)
            ),
        )
        .where(in_force(at))
        .order_by(PatrolAssignment.compound_code, PatrolAssignment.user_id)
    )
    if community is not None:
        stmt = stmt.join(AdminArea, AdminArea.id == Compound.community_id).where(AdminArea.code == community)
    return [tuple(r) for r in session.execute(stmt).tuples()]


def rule_report(session: Session, user: User, *, day: date, community: str | None) -> list[dict[str, Any]]:
    """定岗 rule per assigned worker × compound on a day: minutes on site, required, met (with the worker's
    account and the compound's cell, so that two workers of the same name are told apart)."""
    access.require_reader(session, user, community)
    cfg = load_config()
    rows = _community_assignments(session, community, day)
    sub = None
    if community is not None:
        sub = access.subdistrict_of_community(session, access.community_id(session, community))
    rule = cfg.rule_for(sub)
    minutes = site_minutes(session, day, user_ids=sorted({r[0] for r in rows}), rule=rule) if rows else {}
    return [
        {
            "worker_id": uid,
            "worker_name": name,
            "worker_username": username,
            "compound_code": code,
            "compound_name": cname,
            "cell_code": cell_code,
            "cell_name": cell_name,
            "minutes": minutes.get((uid, code), 0.0),
            "required_minutes": rule.required_minutes,
            "met": minutes.get((uid, code), 0.0) >= rule.required_minutes,
        }
        for uid, name, username, code, cname, cell_code, cell_name in rows
    ]


def rule_misses(session: Session, day: date) -> list[dict[str, Any]]:
    """Every assigned worker × compound below the 定岗 minutes on `day` (each 街道's rule; for notifications)."""
    rows = _community_assignments(session, None, day)
    if not rows:
        return []
    cfg = load_config()
    minutes = site_minutes(session, day, user_ids=sorted({r[0] for r in rows}))
    out = []
    for uid, name, _username, code, cname, _cell_code, _cell_name in rows:
        required = cfg.rule_for(code[:9]).required_minutes  # codes are hierarchical: the 街道 is the first 9
        got = minutes.get((uid, code), 0.0)
        if got < required:
            out.append({"worker_id": uid, "worker_name": name, "compound_code": code, "compound_name": cname,
                        "minutes": got, "required_minutes": required})  # fmt: skip
    return out


_COVERAGE = text(
    f"""
WITH cells AS (
    SELECT cov.code, cov.name, cov.geom FROM grid_cells AS cov JOIN admin_areas AS a ON a.id = cov.community_id
    WHERE (:community IS NULL OR a.code = :community) AND {CELL_VERSION_SQL}
), tr AS ({_TRAJECTORIES}), buf AS (
    SELECT ST_Union(Geometry(ST_Buffer(Geography(ST_Force2D(tr.line)), :m))) AS g
    FROM tr WHERE tr.line && (SELECT ST_Expand(ST_Extent(geom), 0.01) FROM cells)
)
SELECT c.code, c.name,
       coalesce(ST_Area(Geography(ST_Intersection(c.geom, buf.g))) / nullif(ST_Area(Geography(c.geom)), 0), 0)
FROM cells AS c CROSS JOIN buf
ORDER BY c.code
"""
).bindparams(
    bindparam("start", type_=DateTime(timezone=True)),
    bindparam("end", type_=DateTime(timezone=True)),
    bindparam("users", type_=ARRAY(Integer())),
    bindparam("community", type_=String()),
    bindparam("m", type_=Float()),
    at_param(),
)


def coverage(session: Session, user: User, *, day: date, community: str | None) -> list[dict[str, Any]]:
    """Share of each cell's area (version in force that day) within coverage_m of the day's tracks."""
    access.require_reader(session, user, community)
    start, end = access.day_bounds(day)
    rule = load_config().rule
    rows = session.execute(
        _COVERAGE,
        # the cells in force at the day's last instant (gis.spatial's version rule)
        {
            "start": start,
            "end": end,
            "users": [],
            "community": community,
            "m": rule.coverage_m,
            "at": end - timedelta(microseconds=1),
        },  # fmt: skip
    ).all()
    return [{"cell_code": c, "cell_name": n, "share": round(float(s), 4)} for c, n, s in rows]


_UNVISITED = text(
    """
SELECT k.code, k.name, greatest(v.last_t, s.last_day) AS last_visit
FROM compounds AS k JOIN admin_areas AS a ON a.id = k.community_id
LEFT JOIN LATERAL (SELECT max(t) AS last_t FROM patrol_visits WHERE compound_code = k.code) AS v ON true
LEFT JOIN LATERAL (
    SELECT (max(day) + time '23:59:59') AT TIME ZONE 'Asia/Shanghai' AS last_day
    FROM patrol_site_days WHERE compound_code = k.code AND minutes > 0
) AS s ON true
WHERE (:community IS NULL OR a.code = :community)
  AND coalesce(greatest(v.last_t, s.last_day), '-infinity') < :since
ORDER BY last_visit NULLS FIRST, k.code
"""
).bindparams(bindparam("since", type_=DateTime(timezone=True)), bindparam("community", type_=String()))


def unvisited(
    session: Session, user: User, *, days: int, community: str | None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Compounds with no check-in and no time on site in the last `days` local days."""
    access.require_reader(session, user, community)
    today = access.local_day(now or utcnow())
    since, _ = access.day_bounds(today - timedelta(days=days - 1))
    rows = session.execute(_UNVISITED, {"since": since, "community": community}).all()
    return [{"compound_code": c, "compound_name": n, "last_visit": t} for c, n, t in rows]


_TRACKS = text(
    f"""
WITH tr AS ({_TRAJECTORIES})
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(f), '[]'::json))
FROM (
    SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(ST_Force2D(tr.line), 7)::json,
        'properties', json_build_object('kind', 'track', 'patrol_id', tr.patrol_id, 'worker_id', tr.user_id,
            'started_at', to_timestamp(ST_M(ST_StartPoint(tr.line))),
            'ended_at', to_timestamp(ST_M(ST_EndPoint(tr.line))),
            'distance_m', round(ST_Length(Geography(ST_Force2D(tr.line)))::numeric, 1))) AS f
    FROM tr
    UNION ALL
    SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(v.geom, 7)::json,
        'properties', json_build_object('kind', 'checkin', 'visit_id', v.id, 'patrol_id', v.patrol_id,
            'worker_id', v.user_id, 'compound_code', v.compound_code, 't', v.t))
    FROM patrol_visits AS v
    WHERE v.t >= :start AND v.t < :end AND (cardinality(:users) = 0 OR v.user_id = ANY(:users))
) AS q
"""
).bindparams(
    bindparam("start", type_=DateTime(timezone=True)),
    bindparam("end", type_=DateTime(timezone=True)),
    bindparam("users", type_=ARRAY(Integer())),
)


def tracks(session: Session, user: User, *, day: date, worker_id: int) -> dict[str, Any]:
    """GeoJSON FeatureCollection of a worker's tracks (LineString per patrol) and check-ins on a day."""
    if worker_id != user.id:
        require_worker_reader(session, user, worker_id)
    start, end = access.day_bounds(day)
    fc: dict[str, Any] = session.execute(_TRACKS, {"start": start, "end": end, "users": [worker_id]}).scalar_one()
    return fc


def require_worker_reader(session: Session, user: User, worker_id: int) -> None:
    """Another worker's tracks and logs: admins, and managers whose jurisdiction covers one of the worker's cells."""
    require_role(user, *access.READ_ROLES)
    if user.role in access.WIDE_ROLES:
        return
    worker = session.get(User, worker_id)
    scope = area_codes(session, user)
    if worker is None or not any(access.under(c, scope) for c in area_codes(session, worker)):
        raise Forbidden("该网格员不在您的辖区 / this worker is outside your jurisdiction")


def store_site_days(session: Session, day: date) -> int:
    """Write (replace) the day's minutes on site for every worker: the basis of `unvisited` and the logs."""
    minutes = site_minutes(session, day)
    session.execute(delete(PatrolSiteDay).where(PatrolSiteDay.day == day))
    if minutes:
        session.execute(
            insert(PatrolSiteDay),
            [{"day": day, "user_id": u, "compound_code": c, "minutes": m} for (u, c), m in minutes.items()],
        )
    return len(minutes)
