"""The data of the managers' patrol map (/maps/patrols): one community's day in one object, handed to
maps/patrol_map.py (which never queries). Managers read their community, admins any (or all).

Built from the same figures the API answers (derive.rule_report, derive.coverage, derive.unvisited, the
tracks query), so the map, the table, its Excel export and /v1/patrols/* always agree. Geometry is GeoJSON
built by PostGIS; Python only adds per-feature properties.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import DateTime, Integer, String

from gis.models import User
from gis.patrol import access, derive
from gis.patrol.config import load_config
from gis.spatial import CELL_VERSION_SQL, at_param

_FC = "json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(f), '[]'::json))"

_CELLS = text(
    f"""
SELECT {_FC} FROM (
    SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(cov.geom, 7)::json,
        'properties', json_build_object('code', cov.code, 'name', cov.name)) AS f
    FROM grid_cells AS cov JOIN admin_areas AS a ON a.id = cov.community_id
    WHERE (:community IS NULL OR a.code = :community) AND {CELL_VERSION_SQL}
    ORDER BY cov.code
) AS q
"""
).bindparams(bindparam("community", type_=String()), at_param())

_COMPOUNDS = text(
    f"""
SELECT {_FC} FROM (
    SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(k.geom, 7)::json,
        'properties', json_build_object('code', k.code, 'name', k.name)) AS f
    FROM compounds AS k JOIN admin_areas AS a ON a.id = k.community_id
    WHERE :community IS NULL OR a.code = :community
    ORDER BY k.code
) AS q
"""
).bindparams(bindparam("community", type_=String()))

_BOUNDS = text(
    """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
    SELECT ST_Extent(k.geom) AS e FROM compounds AS k JOIN admin_areas AS a ON a.id = k.community_id
    WHERE :community IS NULL OR a.code = :community
) AS q
"""
).bindparams(bindparam("community", type_=String()))

# 五必查 answers "problem" on the day, at the visit's point
_PROBLEMS = text(
    f"""
SELECT {_FC} FROM (
    SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(v.geom, 7)::json,
        'properties', json_build_object('item', a.item, 'note', a.note, 'ticket_id', a.ticket_id,
            'worker_id', v.user_id, 'compound_code', v.compound_code, 't', v.t)) AS f
    FROM patrol_answers AS a JOIN patrol_visits AS v ON v.id = a.visit_id
    WHERE a.status = 'problem' AND v.t >= :start AND v.t < :end AND v.user_id = ANY(:users)
    ORDER BY v.t, a.id
) AS q
"""
).bindparams(
    bindparam("start", type_=DateTime(timezone=True)),
    bindparam("end", type_=DateTime(timezone=True)),
    bindparam("users", type_=ARRAY(Integer())),
)


@dataclass
class PatrolDayMap:
    """One community's (or, for an admin, every) patrol day."""

    day: date
    community: str | None
    unvisited_days: int
    bounds: tuple[float, float, float, float] | None
    workers: dict[int, str]  # id -> label (name, with the account when names repeat): the assigned workers
    rule: list[dict[str, Any]]  # derive.rule_report rows
    tracks: dict[str, Any]  # tracks (LineString per patrol) and check-ins, with worker_name
    problems: dict[str, Any]  # 五必查 problems
    cells: dict[str, Any]  # cells with `share` covered by the day's tracks
    compounds: dict[str, Any]  # compounds with `assigned`, `met`, `below_rule`, `unvisited`, `last_visit`


def _named(fc: dict[str, Any], names: dict[int, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    for f in fc["features"]:
        p = f["properties"]
        p["worker_name"] = names.get(p.get("worker_id", -1), "")
        if labels is not None:
            p["item_label"] = labels.get(p["item"], p["item"])
    return fc


def _labels(session: Session, names: dict[int, str]) -> dict[int, str]:
    """Worker labels for the map and table: the name, plus the account when two workers share a name."""
    shared = {n for n in names.values() if list(names.values()).count(n) > 1}
    if not shared:
        return names
    accounts = dict(session.execute(select(User.id, User.username).where(User.id.in_(list(names)))).tuples().all())
    return {i: f"{n}（{accounts.get(i, i)}）" if n in shared else n for i, n in names.items()}


def patrol_day_map(
    session: Session, user: User, *, day: date, community: str | None, unvisited_days: int = 7
) -> PatrolDayMap:
    """Everything the patrol map shows for `day`: tracks by worker, check-ins, 五必查 problems, cell coverage,
    compounds below the 定岗 rule or not visited for `unvisited_days`, and the rule table."""
    access.require_reader(session, user, community)  # managers: their community only
    rule = derive.rule_report(session, user, day=day, community=community)
    workers = _labels(session, {r["worker_id"]: r["worker_name"] for r in rule})
    users = sorted(workers) or [-1]  # an empty list would mean "everyone" to the tracks query
    start, end = access.day_bounds(day)
    span = {"start": start, "end": end, "users": users}
    # the tracks query of /v1/patrols/tracks, for all the community's workers at once
    tracks = _named(session.execute(derive._TRACKS, span).scalar_one(), workers)
    subdistrict = None
    if community is not None:
        subdistrict = access.subdistrict_of_community(session, access.community_id(session, community))
    labels = {i.code: i.label for i in load_config().checklist_for(subdistrict)}
    problems = _named(session.execute(_PROBLEMS, span).scalar_one(), workers, labels)

    shares = {c["cell_code"]: c["share"] for c in derive.coverage(session, user, day=day, community=community)}
    cells = session.execute(_CELLS, {"community": community, "at": end - timedelta(microseconds=1)}).scalar_one()
    for f in cells["features"]:
        f["properties"]["share"] = shares.get(f["properties"]["code"], 0.0)

    unvisited = {
        u["compound_code"]: u["last_visit"]
        for u in derive.unvisited(session, user, days=unvisited_days, community=community)
    }
    compounds = session.execute(_COMPOUNDS, {"community": community}).scalar_one()
    for f in compounds["features"]:
        p = f["properties"]
        rows = [r for r in rule if r["compound_code"] == p["code"]]
        p["assigned"] = len(rows)
        p["met"] = sum(r["met"] for r in rows)
        p["below_rule"] = any(not r["met"] for r in rows)
        p["unvisited"] = p["code"] in unvisited
        last = unvisited.get(p["code"])
        p["last_visit"] = last.isoformat() if last is not None else None

    box = session.execute(_BOUNDS, {"community": community}).one()
    bounds = None if box[0] is None else (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    return PatrolDayMap(day, community, unvisited_days, bounds, workers, rule, tracks, problems, cells, compounds)


RULE_COLUMNS = (
    ("worker_name", "网格员"),
    ("worker_username", "账号"),
    ("cell_name", "网格"),
    ("cell_code", "网格编码"),
    ("compound_name", "小区"),
    ("compound_code", "小区编码"),
    ("minutes", "在岗分钟"),
    ("required_minutes", "要求分钟"),
    ("met", "是否达标"),
)


def rule_workbook(rows: list[dict[str, Any]], day: date) -> bytes:
    """The 定岗 rule table of a day as an Excel workbook (Chinese headers)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"定岗 {day.isoformat()}")
    ws.append(["日期", *(label for _, label in RULE_COLUMNS)])
    for r in rows:
        values = [round(r[k], 1) if k == "minutes" else ("达标" if r[k] else "未达标") if k == "met" else r[k] or ""
                  for k, _ in RULE_COLUMNS]  # fmt: skip
        ws.append([day.isoformat(), *values])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
