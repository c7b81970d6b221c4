"""Vector tiles as a map client sees them (issue 16): the ticket tiles take the operations map's filters (exactly the
filtered ticket list of the tile's bbox), a day's patrol fixes as tiles within the reader's jurisdiction (thinned
per zoom, capped, flagged fixes told apart), TileJSON with the 街道's bounds and typed fields, and bad input → 4xx.
Tiles are read with tests/mvt.py."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis import tiles
from gis.models import Compound, User
from gis.patrol import tiles as patrol_tiles
from gis.patrol.access import day_bounds
from gis.tickets.models import Ticket
from tests.api.test_ogc_tiles import tile_of
from tests.mvt import decode

Maker = Callable[..., tuple[User, dict[str, str]]]


def tile_bbox(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z

    def lat(yy: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


# --- ticket tiles and the operations map's filters -------------------------------------------------------------


def test_filtered_ticket_tile_holds_exactly_the_filtered_ticket_list(
    client: TestClient, session: Session, make_user: Maker
) -> None:
    _, admin = make_user("admin")
    ticket = session.scalars(select(Ticket).order_by(Ticket.id)).first()
    assert ticket is not None
    lon, lat = session.execute(select(Ticket.geom.ST_X(), Ticket.geom.ST_Y()).where(Ticket.id == ticket.id)).one()
    z = 13
    x, y = tile_of(lon, lat, z)
    bbox = ",".join(f"{v:.7f}" for v in tile_bbox(z, x, y))
    url = f"/tiles/tickets/{z}/{x}/{y}.pbf"
    everything = decode(client.get(url, headers=admin).content)["tickets"]
    for filters in (
        {"category": ticket.category},
        {"state": "open"},
        {"state": "overdue"},
        {"state": f"{ticket.state},closed", "opened_from": "2000-01-01"},
        {"category": ticket.category, "opened_to": ticket.opened_at.date().isoformat()},
    ):
        r = client.get(url, params=filters, headers=admin)
        assert r.status_code == 200, r.text
        got = {f["properties"]["ticket_id"] for f in decode(r.content).get("tickets", [])}
        listed = client.get(
            "/maps/data/tickets.geojson", params={"bbox": bbox, "zoom": z, **filters}, headers=admin
        ).json()
        assert not listed["truncated"]
        assert got == {f["properties"]["id"] for f in listed["features"]}, filters
        assert len(got) <= len(everything)
    one = decode(client.get(url, params={"category": ticket.category}, headers=admin).content)["tickets"]
    assert {f["properties"]["category"] for f in one} == {ticket.category} and len(one) < len(everything)


def test_ticket_tile_filters_key_the_etag_and_bad_filters_are_422(
    client: TestClient, session: Session, make_user: Maker
) -> None:
    _, admin = make_user("admin")
    lon, lat = session.execute(select(Ticket.geom.ST_X(), Ticket.geom.ST_Y()).limit(1)).one()
    x, y = tile_of(lon, lat, 14)
    url = f"/tiles/tickets/14/{x}/{y}.pbf"
    plain = client.get(url, headers=admin)
    wide = client.get(url, params={"opened_from": "2000-01-01"}, headers=admin)  # the same tickets, another query
    assert plain.content == wide.content and plain.headers["etag"] != wide.headers["etag"]
    same = client.get(
        url, params={"opened_from": "2000-01-01"}, headers={**admin, "If-None-Match": wide.headers["etag"]}
    )
    assert same.status_code == 304
    for bad in (
        {"category": "no-such-category"},
        {"state": "sleeping"},
        {"opened_from": "2024-13-01"},
        {"opened_from": "2024-06-02", "opened_to": "2024-06-01"},
    ):
        r = client.get(url, params=bad, headers=admin)
        assert r.status_code == 422 and r.json()["message"], bad
    cells = client.get(f"/tiles/cells/14/{x}/{y}.pbf", params={"state": "open"})
    assert cells.status_code == 422 and "tickets" in cells.json()["message"]
    assert client.get(f"/tiles/cells/14/{x}/{y}.pbf").status_code == 200


def test_tilejson_has_bounds_zooms_and_typed_fields(client: TestClient, make_user: Maker) -> None:
    tj = client.get("/tiles/tickets.json", params={"state": "open"}).json()
    west, south, east, north = tj["bounds"]
    assert 116 < west < east < 118 and 36 < south < north < 37.5, "the demo 街道, not the world"
    assert tj["minzoom"] == 12 and tj["maxzoom"] == 22 and tj["max_features"] == 20_000
    assert tj["tiles"][0].endswith("/tiles/tickets/{z}/{x}/{y}.pbf?state=open")
    fields = tj["vector_layers"][0]["fields"]
    assert fields["ticket_id"] == "Number" and fields["overdue"] == "Boolean" and fields["state"] == "String"
    assert "patrol_fixes" in client.get("/tiles").json()["layers"]


# --- patrol fixes ------------------------------------------------------------------------------------------------

DAY = date(2024, 5, 10)
N_FIXES = 120


@pytest.fixture()
def walk(session: Session, make_user: Maker) -> dict[str, Any]:
    """A grid worker assigned to a demo compound walks 120 fixes (10 s apart, ~1 m steps) near it on DAY; the
    7th fix is flagged."""
    compound = session.scalars(select(Compound).order_by(Compound.code)).first()
    assert compound is not None
    community = session.scalar(
        text("SELECT a.code FROM admin_areas AS a WHERE a.id = :i"), {"i": compound.community_id}
    )
    worker, headers = make_user("grid_worker")
    session.execute(
        text(
            "INSERT INTO patrol_assignments (compound_code, user_id, assigned_at, valid_from) "
            "VALUES (:c, :u, '2024-01-01', '2024-01-01')"
        ),
        {"c": compound.code, "u": worker.id},
    )
    lon, lat = session.execute(
        select(Compound.geom.ST_PointOnSurface().ST_X(), Compound.geom.ST_PointOnSurface().ST_Y()).where(
            Compound.code == compound.code
        )
    ).one()
    start, _ = day_bounds(DAY)
    t0 = start + timedelta(hours=9, seconds=3)
    pid = session.execute(
        text("INSERT INTO patrols (user_id, client_key, started_at, ended_at) VALUES (:u, 'tile-test', :s, :e) "
             "RETURNING id"),
        {"u": worker.id, "s": t0, "e": t0 + timedelta(hours=1)},
    ).scalar_one()  # fmt: skip
    session.execute(
        text(
            "INSERT INTO patrol_fixes (patrol_id, t, geom, accuracy_m, flags) SELECT :p, :t0 + g * interval '10 s', "
            "ST_SetSRID(ST_MakePoint(:lon + g * 0.00001, :lat), 4326), 5, CASE WHEN g = 6 THEN 1 ELSE 0 END "
            "FROM generate_series(0, :n - 1) AS g"
        ),
        {"p": pid, "t0": t0, "lon": lon, "lat": lat, "n": N_FIXES},
    )
    session.commit()
    times = [t0 + timedelta(seconds=10 * g) for g in range(N_FIXES)]
    return {"worker": worker, "headers": headers, "community": community, "patrol": pid, "lon": lon, "lat": lat,
            "times": times}  # fmt: skip


def _fixes(client: TestClient, walk: dict[str, Any], headers: dict[str, str], z: int = 16, **params: Any) -> Any:
    x, y = tile_of(walk["lon"] + N_FIXES * 0.000005, walk["lat"], z)
    r = client.get(f"/tiles/patrol_fixes/{z}/{x}/{y}.pbf", params={"date": DAY.isoformat(), **params}, headers=headers)
    return r


def test_patrol_fix_tiles_follow_the_track_rules(client: TestClient, walk: dict[str, Any], make_user: Maker) -> None:
    worker = walk["worker"]
    own = _fixes(client, walk, walk["headers"])
    assert own.status_code == 200, own.text
    assert own.headers["cache-control"] == "private, max-age=3600", "a past day is cached longer"
    assert own.headers["x-tile-truncated"] == "false" and own.headers["x-tile-sample-seconds"] == "10"
    feats = decode(own.content)["patrol_fixes"]
    assert len(feats) == N_FIXES, "zoom 16: every fix"
    assert {f["properties"]["worker_id"] for f in feats} == {worker.id}
    assert {f["properties"]["patrol_id"] for f in feats} == {walk["patrol"]}
    assert sorted(f["properties"]["t"] for f in feats) == [int(t.timestamp()) for t in walk["times"]]
    assert [f["properties"]["flags"] for f in feats].count(1) == 1 and feats[0]["properties"]["accuracy"] == 5
    again = _fixes(client, walk, {**walk["headers"], "If-None-Match": own.headers["etag"]})
    assert again.status_code == 304

    _, admin = make_user("admin")
    assert len(decode(_fixes(client, walk, admin).content)["patrol_fixes"]) >= N_FIXES
    mine = decode(_fixes(client, walk, admin, worker_id=worker.id, community=walk["community"]).content)
    assert len(mine["patrol_fixes"]) == N_FIXES
    _, manager = make_user("manager", jurisdiction=[walk["community"]])
    theirs = decode(_fixes(client, walk, manager, community=walk["community"]).content)["patrol_fixes"]
    assert {f["properties"]["patrol_id"] for f in theirs} >= {walk["patrol"]}
    other_community = "370102010008" if walk["community"] != "370102010008" else "370102010001"
    _, stranger = make_user("manager", jurisdiction=[other_community])
    assert _fixes(client, walk, stranger, community=walk["community"]).status_code == 403
    assert _fixes(client, walk, stranger, worker_id=worker.id).status_code == 403
    assert _fixes(client, walk, stranger).status_code == 403, "a manager names their community"
    away = decode(_fixes(client, walk, stranger, community=other_community).content)
    assert walk["patrol"] not in {f["properties"]["patrol_id"] for f in away.get("patrol_fixes", [])}
    _, colleague = make_user("grid_worker")
    assert _fixes(client, walk, colleague, worker_id=worker.id).status_code == 403
    assert decode(_fixes(client, walk, colleague).content) == {}, "another worker's fixes are not theirs"
    for role in ("planner", "department", "property", "resident"):
        _, headers = make_user(role)
        assert _fixes(client, walk, headers).status_code == 403, role
    assert _fixes(client, walk, {}).status_code == 401


def test_patrol_fix_tiles_thin_per_zoom_and_say_when_cut(
    client: TestClient, walk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    z14 = _fixes(client, walk, walk["headers"], z=14)
    assert z14.headers["x-tile-sample-seconds"] == "60"
    got = sorted(f["properties"]["t"] for f in decode(z14.content)["patrol_fixes"])
    kept = [int(t.timestamp()) for g, t in enumerate(walk["times"]) if int(t.timestamp()) // 10 % 6 == 0 or g == 6]
    assert got == kept and 0 < len(got) < N_FIXES / 4, "one fix a minute, and the flagged one"
    assert got == sorted(f["properties"]["t"] for f in decode(_fixes(client, walk, walk["headers"], z=14).content)[
        "patrol_fixes"]), "the same fixes every time"  # fmt: skip
    monkeypatch.setattr(patrol_tiles, "MAX_FEATURES", 50)
    cut = _fixes(client, walk, walk["headers"])
    assert cut.headers["x-tile-truncated"] == "true" and len(decode(cut.content)["patrol_fixes"]) == 50


def test_patrol_fix_tiles_refuse_bad_input(client: TestClient, walk: dict[str, Any], make_user: Maker) -> None:
    h = walk["headers"]
    ok = f"/tiles/patrol_fixes/16/{tile_of(walk['lon'], walk['lat'], 16)[0]}/0.pbf"
    cases = {
        "/tiles/patrol_fixes/16/0/0.pbf?date=yesterday": "date",
        "/tiles/patrol_fixes/16/0/0.pbf?date=9999-12-31": "date",
        "/tiles/patrol_fixes/16/0/0.pbf?date=1900-01-01": "date",
        "/tiles/patrol_fixes/16/0/0.pbf": "date",
        "/tiles/patrol_fixes/0/0/0.pbf?date=2024-05-10": "zoom",
        "/tiles/patrol_fixes/11/0/0.pbf?date=2024-05-10": "zoom",
        "/tiles/patrol_fixes/23/0/0.pbf?date=2024-05-10": "zoom",
        "/tiles/patrol_fixes/16/65536/0.pbf?date=2024-05-10": "tile",
        "/tiles/patrol_fixes/16/-1/0.pbf?date=2024-05-10": "tile",
        ok + "?date=2024-05-10&worker_id=0": "worker_id",
        ok + "?date=2024-05-10&community=x;drop": "community",
    }
    for url, what in cases.items():
        r = client.get(url, headers=h)
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert what in r.text or "zoom" in r.text, (url, r.text)
    _, admin = make_user("admin")
    assert client.get(ok + "?date=2024-05-10&community=999999999999", headers=admin).status_code == 404


def test_patrol_tilejson(client: TestClient, walk: dict[str, Any], make_user: Maker) -> None:
    tj = client.get("/tiles/patrol_fixes.json", params={"date": DAY.isoformat()}, headers=walk["headers"])
    assert tj.status_code == 200, tj.text
    body = tj.json()
    assert body["tiles"][0].endswith("/tiles/patrol_fixes/{z}/{x}/{y}.pbf?date=2024-05-10")
    assert body["minzoom"] == 12 and body["max_features"] == 20_000 and body["sample_seconds"]["12"] == 300
    assert set(body["vector_layers"][0]["fields"]) == {"worker_id", "patrol_id", "t", "accuracy", "flags"}
    assert body["bounds"][0] > 100
    _, resident = make_user("resident")
    assert client.get("/tiles/patrol_fixes.json", params={"date": "2024-05-10"}, headers=resident).status_code == 403
    assert client.get("/tiles/patrol_fixes.json", params={"date": "2024-05-10"}).status_code == 401
    today = datetime.now().date().isoformat()
    assert client.get("/tiles/patrol_fixes.json", params={"date": today}, headers=walk["headers"]).status_code == 200


def test_a_tile_past_the_statement_timeout_is_a_503(
    client: TestClient, walk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot reads run on the psycopg connection itself: a cancelled statement is a 503 with Retry-After, not 500
    (a tile statement made slow on purpose, under a 50 ms timeout)."""
    monkeypatch.setattr(patrol_tiles, "SQL_USERS", "SELECT pg_sleep(1), %(z)s")
    conn = client.app.state.sessions.kw["bind"]  # type: ignore[attr-defined]  # the test's connection
    x, y = tile_of(walk["lon"], walk["lat"], 12)
    savepoint = conn.begin_nested()
    conn.exec_driver_sql("SET LOCAL statement_timeout = 50")
    try:
        r = client.get(f"/tiles/patrol_fixes/12/{x}/{y}.pbf", params={"date": DAY.isoformat()}, headers=walk["headers"])
    finally:
        savepoint.rollback()  # the cancelled statement aborted it; the setting goes with it
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and "timeout" in r.json()["message"]


def test_a_dense_ticket_tile_keeps_its_cap_spread_over_the_tile(
    client: TestClient, session: Session, make_user: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 tickets on one corner of a z14 tile (the oldest ids) and one ticket on the opposite corner: with the cap
    at 2 a square (128 a tile), the tile holds at most 2 of the crowd and the lone ticket too — the first 128 by
    id would have been the crowd alone."""
    spec = tiles.TILE_LAYERS["tickets"]
    monkeypatch.setitem(tiles.TILE_LAYERS, "tickets", replace(spec, zoom_caps=((14, 128),)))
    _, admin = make_user("admin")
    z = 14
    x, y = tile_of(100.0, 30.0, z)  # far from the demo 街道: nothing else in the tile
    west, south, east, north = tile_bbox(z, x, y)
    dx, dy = (east - west) / 64, (north - south) / 64
    corner = [(west + dx * (1 + i % 3), north - dy * (1 + i // 100)) for i in range(300)]
    cell = session.scalar(text("SELECT code FROM grid_cells WHERE valid_to IS NULL ORDER BY code LIMIT 1"))
    insert = text(
        "INSERT INTO tickets (token, category, description, geom, channel, state, cell_code, unit_type, sla_profile, "
        "tier, opened_at, due_at, created_at, updated_at, attributes) SELECT 'dense-' || g, 'garbage', 'dense', "
        "ST_SetSRID(ST_MakePoint((CAST(:lon AS float8[]))[g], (CAST(:lat AS float8[]))[g]), 4326), 'staff', "
        "'dispatched', :cell, 'community', 'four_level', 'normal', now(), now() + interval '1 day', now(), now(), '{}' "
        "FROM generate_series(1, cardinality(CAST(:lon AS float8[]))) AS g RETURNING id"
    )
    points = [*corner, (east - dx, south + dy)]
    ids = session.scalars(insert, {"lon": [p[0] for p in points], "lat": [p[1] for p in points], "cell": cell}).all()
    session.commit()
    try:
        got = decode(client.get(f"/tiles/tickets/{z}/{x}/{y}.pbf", headers=admin).content)["tickets"]
        kept = {f["properties"]["ticket_id"] for f in got}
        assert max(ids) in kept  # the lone ticket, newest id
        assert 1 <= len(kept & set(ids[:-1])) <= 2  # the crowd: its square's share
        assert len(got) == len(kept)  # no feature twice
    finally:
        session.execute(text("DELETE FROM tickets WHERE id = ANY(:ids)"), {"ids": list(ids)})
        session.commit()
