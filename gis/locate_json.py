"""`locate` as one SQL statement whose JSON is made in PostgreSQL: the hot path of GET /v1/locate.

It wraps the very statements `gis.locate.locate` runs (the by-location rule of `gis.spatial`, the covering
compound, the cell's staff, the nearest resource of each type), so both answer alike
(tests/api/test_locate_fast.py compares them); here they are one round trip on an autocommit connection, and the
answer leaves the database as the response's bytes: no ORM objects, no pydantic validation, no commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, text

from gis.db import ReadBind, driver_sql, read_value
from gis.locate import _NEAREST_SQL, _WHERE_AT_SQL, _WHERE_SQL  # the statements locate() runs, wrapped as they are
from gis.resources import RESOURCE_TYPES, SHANGHAI, open_now, open_now_params, open_now_sql
from gis.spatial import outside_service_area

_PERSON = "json_build_object('name', p->'name', 'phone', p->'phone', 'photo_url', p->'photo_url')"
_CONTACT = (
    "json_build_object('duty', k->'duty', 'title', k->'title', 'name', k->'name', 'phone', k->'phone', "
    "'photo_url', k->'photo_url')"
)

_LOCATE_JSON_TEMPLATE = f"""
    WITH w AS ({{where}}),
    res AS ({_NEAREST_SQL.text})
    SELECT json_build_object(
        'lon', CAST(:lon AS float8), 'lat', CAST(:lat AS float8), 'source_crs', CAST(:source_crs AS text),
        'subdistrict', CASE WHEN w.subdistrict_code IS NULL THEN NULL ELSE json_build_object(
            'code', w.subdistrict_code, 'name', w.subdistrict_name, 'party_org', NULL, 'secretary', NULL,
            'phone', NULL) END,
        'community', json_build_object('code', w.community_code, 'name', w.community_name,
            'party_org', w.party_org, 'secretary', w.secretary, 'phone', w.community_phone),
        'cell', json_build_object(
            'code', w.code, 'name', w.name, 'cell_type', w.cell_type,
            'cell_type_label', CASE WHEN w.cell_type = 'basic' THEN '基础网格' ELSE '专属网格' END,
            'households', w.households,
            'valid_from', (to_json(w.valid_from AT TIME ZONE 'UTC') #>> '{{}}') || 'Z',
            'manager', (SELECT {_PERSON} FROM json_array_elements(w.staff) WITH ORDINALITY AS e(p, i)
                        WHERE p->>'duty' = 'manager' ORDER BY i LIMIT 1),
            'workers', coalesce((SELECT json_agg({_PERSON} ORDER BY i)
                                 FROM json_array_elements(w.staff) WITH ORDINALITY AS e(p, i)
                                 WHERE p->>'duty' = 'worker'), '[]'::json)),
        'compound', CASE WHEN w.compound IS NULL THEN NULL ELSE json_build_object(
            'code', w.compound->'code', 'name', w.compound->'name', 'kind', w.compound->'kind',
            'kind_label', CASE WHEN w.compound->>'kind' = 'closed' THEN '封闭式小区' ELSE '开放式小区' END,
            'address', w.compound->'address', 'households', w.compound->'households',
            'party_branch', w.compound->'party_branch',
            'property_company', CASE WHEN w.compound->>'company_code' IS NULL THEN NULL ELSE json_build_object(
                'code', w.compound->'company_code', 'name', w.compound->'company_name',
                'phone', w.compound->'company_phone') END,
            'wechat_group', w.compound->'wechat_group',
            'contacts', coalesce((SELECT json_agg({_CONTACT} ORDER BY i)
                                  FROM json_array_elements(w.compound->'contacts') WITH ORDINALITY AS x(k, i)),
                                 '[]'::json)) END,
        'resources', coalesce((SELECT json_agg(json_build_object(
            'code', r.code, 'type', r.type, 'type_label', coalesce(CAST(:labels AS jsonb)->>r.type, r.type),
            'name', r.name, 'address', r.address, 'phone', r.phone, 'opening_hours', r.opening_hours,
            'open_now', CASE WHEN r.osm_hours IS NULL THEN {open_now_sql("r.hours")} END,
            'osm_hours', r.osm_hours, 'features', coalesce(to_json(r.features), '[]'::json),
            'photo_url', r.photo_url, 'lon', r.lon, 'lat', r.lat,
            'distance_m', round(CAST(r.distance_m AS numeric), 1)) ORDER BY r.distance_m, r.code) FROM res r),
            '[]'::json)
    )::text
    FROM w
    """


def _locate_json_sql(where: str) -> Any:
    return text(_LOCATE_JSON_TEMPLATE.replace("{where}", where)).bindparams(bindparam("types"))


_LOCATE_JSON_SQL = _locate_json_sql(_WHERE_SQL.text)
_LOCATE_JSON = driver_sql(_LOCATE_JSON_SQL)
# at a past date: the compound and community versions in force then (gis.generations), as locate() reads them
_LOCATE_JSON_AT = driver_sql(_locate_json_sql(_WHERE_AT_SQL.text))
_LABELS = orjson.dumps(RESOURCE_TYPES).decode()


def locate_params(
    lon: float, lat: float, *, source_crs: str = "wgs84", at: datetime | None = None, k: int = 1,
    radius_m: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The bound values of the locate statement but the time of day (`open_now_params`)."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)  # a date without zone is local time
    return {
        "lon": lon,
        "lat": lat,
        "at": at,
        "source_crs": source_crs,
        "k": k,
        "radius_m": radius_m,
        "types": list(RESOURCE_TYPES),
        "labels": _LABELS,
    }


def locate_json(
    bind: ReadBind,
    lon: float,
    lat: float,
    *,
    source_crs: str = "wgs84",
    at: datetime | None = None,
    resources_per_type: int = 1,
    resource_radius_m: float | None = None,
) -> bytes:
    """The answer of `gis.locate.locate` for a WGS84 point as JSON bytes (LocationPublic's shape), in one
    statement; OutsideServiceArea when no cell covers the point."""
    params = locate_params(lon, lat, source_crs=source_crs, at=at, k=resources_per_type, radius_m=resource_radius_m)
    statement = _LOCATE_JSON if at is None else _LOCATE_JSON_AT
    body = read_value(bind, statement, {**params, **open_now_params()})
    if body is None:
        raise outside_service_area(lon, lat)
    return _with_osm_hours(str(body).encode())


def _with_osm_hours(body: bytes) -> bytes:
    """营业中/休息中 of resources whose hours are an OpenStreetMap expression (holidays included) is decided in
    Python (gis.reference.hours): the statement leaves it null and hands over the expression, taken out here."""
    if b'"osm_hours" : null' in body and b'"osm_hours" : "' not in body:
        return body.replace(b', "osm_hours" : null', b"")
    answer = orjson.loads(body)
    now = datetime.now(SHANGHAI)
    for r in answer["resources"]:
        osm = r.pop("osm_hours", None)
        if osm:
            r["open_now"] = open_now(osm, None, now)
    return orjson.dumps(answer)
