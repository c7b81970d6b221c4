"""The 15-minute walking reach of a compound (R4) and the walk to each resource around it.

With a street graph (`streets`: source/target node ids, length_m) and pgRouting, the reach is every
street piece within 1000 m of walking from the street nodes at the compound's edge
(pgr_drivingDistance, undirected), widened by a short walk off the street. Without them it is a
1000 m buffer around the compound. `Reach.method` says which one a page shows.

The compound page is public, so the routed reach is kept in this process (security review L17: anonymous
visits must not run pgRouting each time): per database, compound and distance, together with a fingerprint of
the compound's outline and of the streets the routing reads, checked on every visit (one cheap query), so a
changed street or outline is routed again; entries also expire after REACH_TTL_S.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis.errors import NotFound
from gis.mapdata.common import REACH_M, Reach, resource_out
from gis.models import Compound, Street
from gis.spatial import METRES_PER_DEGREE

log = logging.getLogger(__name__)

OFF_STREET_M = 60.0  # how far either side of a reached street piece still counts as reached
START_WITHIN_M = 60.0  # street nodes this close to the compound's edge are its (unmapped) gates

# The edges pgRouting reads: a constant query. The area it covers arrives through a transaction-local
# setting written with a bound value (set_config), so no SQL is ever built from values.
EDGES_SQL = (
    "SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM streets "
    "WHERE geom && ST_GeomFromEWKT(current_setting('gridgov.reach_envelope'))"
)

_SET_ENVELOPE = text(
    "SELECT set_config('gridgov.reach_envelope', ST_AsEWKT(ST_Expand(geom, :deg)), true) FROM compounds WHERE id = :cid"
)

_STARTS_SQL = text(
    """
    WITH c AS (SELECT geom FROM compounds WHERE id = :cid),
    n AS (
        SELECT s.source AS id, ST_StartPoint(s.geom) AS g FROM streets s, c
        WHERE s.geom && ST_Expand(c.geom, :near_deg)
        UNION
        SELECT s.target, ST_EndPoint(s.geom) FROM streets s, c WHERE s.geom && ST_Expand(c.geom, :near_deg)
    ),
    d AS (SELECT n.id, ST_Distance(n.g::geography, c.geom::geography) AS m FROM n, c)
    SELECT id FROM d WHERE m <= GREATEST(:within_m, (SELECT min(m) FROM d) + 1) ORDER BY m, id LIMIT 16
    """
)

_REACH_SQL = text(
    """
    WITH c AS (SELECT geom FROM compounds WHERE id = :cid),
    env AS (SELECT ST_GeomFromEWKT(current_setting('gridgov.reach_envelope')) AS e),
    cost AS (
        SELECT node, min(agg_cost) AS cost
        FROM pgr_drivingDistance(:edges_sql, CAST(:starts AS bigint[]), :limit_m, false, false)
        GROUP BY node
    ),
    edge AS (  -- fa / fb: the share of an edge walkable from its source / target within the reach
        SELECT s.geom,
               COALESCE(LEAST(1, GREATEST(0, (:reach_m - a.cost) / NULLIF(s.length_m, 0))), 0) AS fa,
               COALESCE(LEAST(1, GREATEST(0, (:reach_m - b.cost) / NULLIF(s.length_m, 0))), 0) AS fb
        FROM streets s
        CROSS JOIN env
        LEFT JOIN cost a ON a.node = s.source
        LEFT JOIN cost b ON b.node = s.target
        WHERE s.geom && env.e AND (a.cost < :reach_m OR b.cost < :reach_m)
    ),
    pieces AS (
        SELECT geom FROM edge WHERE fa + fb >= 1
        UNION ALL SELECT ST_LineSubstring(geom, 0, fa) FROM edge WHERE fa + fb < 1 AND fa > 0
        UNION ALL SELECT ST_LineSubstring(geom, 1 - fb, 1) FROM edge WHERE fa + fb < 1 AND fb > 0
    ),
    area AS (
        SELECT ST_Union(ST_Buffer(ST_Collect(p.geom)::geography, :off_street_m)::geometry, (SELECT geom FROM c)) AS g
        FROM pieces p
    )
    SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(g, 0.00002), 7) AS reach,
           (SELECT jsonb_object_agg(node, round(cost::numeric, 1)) FROM cost) AS costs
    FROM area
    """
)

_RESOURCES_SQL = text(
    """
    WITH c AS (SELECT geom FROM compounds WHERE id = :cid),
    cost AS (SELECT key::bigint AS node, value::float8 AS cost FROM jsonb_each_text(CAST(:costs AS jsonb)))
    SELECT r.code, r.type, r.name, r.address, r.phone, r.opening_hours, r.hours, r.osm_hours, r.features,
           r.photo_url,
           ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
           ST_Distance(c.geom::geography, r.geom::geography) AS distance_m,
           CASE WHEN ST_Covers(c.geom, r.geom) THEN 0
                WHEN :network THEN GREATEST(
                    ST_Distance(c.geom::geography, r.geom::geography),
                    LEAST(a.cost + e.f * e.length_m, b.cost + (1 - e.f) * e.length_m) + e.snap_m)
           END AS walk_m
    FROM service_resources r
    CROSS JOIN c
    LEFT JOIN LATERAL (  -- the street a resource is reached from: its nearest one
        SELECT s.source, s.target, s.length_m, ST_LineLocatePoint(s.geom, r.geom) AS f,
               ST_Distance(s.geom::geography, r.geom::geography) AS snap_m
        FROM streets s WHERE :network ORDER BY s.geom <-> r.geom LIMIT 1
    ) e ON true
    LEFT JOIN cost a ON a.node = e.source
    LEFT JOIN cost b ON b.node = e.target
    WHERE r.geom && ST_Expand(c.geom, :radius_deg)
      AND ST_DWithin(c.geom::geography, r.geom::geography, :radius_m)
    ORDER BY distance_m, r.code
    LIMIT :limit
    """
)


# What the routed reach depends on: the compound's outline, and each street (id, ends, length) the routing reads.
_FINGERPRINT_SQL = text(
    """
    SELECT md5(ST_AsEWKB(c.geom)) || ':' || COALESCE((
        SELECT md5(string_agg(concat_ws(',', s.id, s.source, s.target, s.length_m), ';' ORDER BY s.id))
        FROM streets s WHERE s.geom && ST_Expand(c.geom, :deg)
    ), '')
    FROM compounds c WHERE c.id = :cid
    """
)

REACH_TTL_S = 600.0
_REACH_CACHE_SIZE = 2000  # compounds (a 街道 has a few hundred)
_cache: dict[tuple[str, int, float], tuple[str, float, Reach, dict[str, float]]] = {}
_cache_lock = threading.Lock()


def forget_reaches() -> None:
    """Drop every kept reach (tests; an operator who reloaded the street graph need not: fingerprints change)."""
    with _cache_lock:
        _cache.clear()


def _kept_network_reach(session: Session, compound_id: int, reach_m: float) -> tuple[Reach, dict[str, float]] | None:
    """The routed reach, from the cache when the compound and its streets are as they were."""
    bind = session.get_bind()
    key = (bind.engine.url.render_as_string(hide_password=True), compound_id, reach_m)
    fingerprint = session.scalar(_FINGERPRINT_SQL, {"cid": compound_id, "deg": _degrees(2 * reach_m)}) or ""
    now = time.monotonic()
    with _cache_lock:
        kept = _cache.get(key)
    if kept is not None and kept[0] == fingerprint and kept[1] > now:
        return kept[2], dict(kept[3])
    with session.begin_nested():  # a broken graph must not break the page: the caller falls back to the buffer
        found = _network_reach(session, compound_id, reach_m)
    if found is not None:
        with _cache_lock:
            if len(_cache) >= _REACH_CACHE_SIZE:
                _cache.pop(min(_cache, key=lambda k: _cache[k][1]))
            _cache[key] = (fingerprint, now + REACH_TTL_S, found[0], dict(found[1]))
    return found


def has_walking_network(session: Session) -> bool:
    """pgRouting is installed and a street graph is loaded."""
    if session.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'pgr_drivingdistance')")) is not True:
        return False
    return session.scalar(select(Street.id).limit(1)) is not None


def _degrees(metres: float) -> float:
    # longitude degrees are shorter than latitude ones (×1.25 covers China south of 37°N; more is harmless)
    return 1.3 * metres / METRES_PER_DEGREE


def _network_reach(session: Session, compound_id: int, reach_m: float) -> tuple[Reach, dict[str, float]] | None:
    session.execute(_SET_ENVELOPE, {"deg": _degrees(2 * reach_m), "cid": compound_id})
    starts = list(
        session.scalars(_STARTS_SQL, {"cid": compound_id, "near_deg": _degrees(reach_m), "within_m": START_WITHIN_M})
    )
    if not starts:
        return None
    row = session.execute(
        _REACH_SQL,
        {
            "cid": compound_id,
            "edges_sql": EDGES_SQL,
            "starts": starts,
            "limit_m": 2 * reach_m,
            "reach_m": reach_m,
            "off_street_m": OFF_STREET_M,
        },
    ).one()
    if row.reach is None:
        return None
    costs = {str(k): float(v) for k, v in (row.costs or {}).items()}
    return Reach("network", reach_m, json.loads(row.reach)), costs


def walking_reach(session: Session, compound_id: int, *, reach_m: float = REACH_M) -> tuple[Reach, dict[str, float]]:
    """The 15-minute reach of a compound and the walking cost (metres) to each street node within 2 × reach."""
    if has_walking_network(session):
        try:
            found = _kept_network_reach(session, compound_id, reach_m)
        except DBAPIError as exc:
            log.warning("walking reach of compound %s failed, using a buffer: %s", compound_id, exc.orig)
            found = None
        if found is not None:
            return found
    buffered = func.geometry(func.ST_Buffer(func.geography(Compound.geom), reach_m))
    geom = session.scalar(
        select(func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(buffered, 0.00002), 7)).where(
            Compound.id == compound_id
        )
    )
    if geom is None:
        raise NotFound(f"no compound with id {compound_id}")
    return Reach("buffer", reach_m, json.loads(geom)), {}


def resources_around(
    session: Session, compound_id: int, reach: Reach, costs: dict[str, float], *, limit: int = 500
) -> list[dict[str, Any]]:
    """Resources within 2 × reach (straight line) of a compound, nearest first, with the walk to each
    along the streets when the reach came from the network."""
    network = reach.method == "network"
    rows = session.execute(
        _RESOURCES_SQL,
        {
            "cid": compound_id,
            "costs": json.dumps(costs),
            "network": network,
            "radius_m": 2 * reach.reach_m,
            "radius_deg": _degrees(2 * reach.reach_m),
            "limit": limit,
        },
    ).all()
    return [resource_out(r, reach.reach_m, network=network) for r in rows]
