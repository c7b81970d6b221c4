"""W9's ingest path (api/fix_body.py, gis/patrol/ingest.py): the body read in bulk accepts what the model
accepts and refuses what it refuses with the same 422 body; the one statement flags speed jumps exactly as the
walk "each fix against the last good fix" does; GCJ-02/BD-09 are converted in bulk as one point at a time; the
API's async pool path (not the tests' rolled-back connection) stores, replays and refuses the same way; and the
printable 民情工作日志 judges against a 街道's own 定岗 minutes."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from api.app import create_app
from gis.auth import create_user, login
from gis.crs import to_wgs84, to_wgs84_arrays
from gis.patrol import config as patrol_config
from gis.patrol import worklog
from gis.patrol.models import FLAG_ACCURACY, FLAG_SPEED, PatrolFix
from gis.patrol.patrols import Fix, add_fixes, start_patrol
from gis.patrol.tasks import nightly_patrols
from gis.settings import Settings
from maps.worklog_page import worklog_page
from tests.patrol.conftest import PatrolArea, local, ring_walk

IN = (100.004, 30.004)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_bulk_conversion_equals_the_per_point_function(crs: str) -> None:
    rng = np.random.default_rng(7)
    lon = np.concatenate([rng.uniform(73, 135, 3000), rng.uniform(-180, 180, 300), [72.004, 137.8347, 180, -180]])
    lat = np.concatenate([rng.uniform(1, 55, 3000), rng.uniform(-90, 90, 300), [0.8293, 55.8271, 90, -90]])
    x, y = to_wgs84_arrays(lon, lat, crs)
    ref = np.array([to_wgs84(float(a), float(b), crs) for a, b in zip(lon, lat, strict=True)])
    assert np.abs(x - ref[:, 0]).max() < 1e-9 and np.abs(y - ref[:, 1]).max() < 1e-9


def test_a_mixed_crs_batch_is_stored_in_wgs84(client: TestClient, session: Session, parea: PatrolArea) -> None:
    pid = client.post("/v1/patrols", json={"client_key": "crs"}, headers=parea.worker_h).json()["id"]
    t0 = datetime.now(UTC) - timedelta(hours=1)
    sent = [(IN[0] + 0.0001 * k, IN[1], crs) for k, crs in enumerate(["wgs84", "gcj02", "bd09", "cgcs2000", "gcj02"])]
    fixes = [{"t": (t0 + timedelta(seconds=k)).isoformat(), "lon": x, "lat": y, "crs": c}
             for k, (x, y, c) in enumerate(sent)]  # fmt: skip
    r = client.post(f"/v1/patrols/{pid}/fixes", json={"batch_key": "c", "fixes": fixes}, headers=parea.worker_h)
    assert r.status_code == 200, r.text
    stored = session.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM patrol_fixes WHERE patrol_id = :p ORDER BY t"), {"p": pid}
    ).all()
    for (x, y), (lon, lat, c) in zip(stored, sent, strict=True):
        ex, ey = to_wgs84(lon, lat, c)
        assert abs(x - ex) < 1e-9 and abs(y - ey) < 1e-9


def _post(client: TestClient, pid: int, h: dict[str, str], body: Any, **kw: Any) -> Any:
    if body is not None:
        return client.post(f"/v1/patrols/{pid}/fixes", headers=h, json=body)
    return client.post(f"/v1/patrols/{pid}/fixes", **kw)


def test_the_bulk_reader_accepts_and_refuses_as_the_model(client: TestClient, parea: PatrolArea) -> None:
    pid = client.post("/v1/patrols", json={"client_key": "body"}, headers=parea.worker_h).json()["id"]
    h = parea.worker_h
    t = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    # lax shapes the model accepts: numbers as strings, a space for T, extra keys, explicit nulls
    odd = [{"t": t.strftime("%Y-%m-%d %H:%M:%S+00:00"), "lon": "100.004", "lat": 30.004, "altitude": 12,
            "accuracy_m": None}]  # fmt: skip
    assert _post(client, pid, h, {"batch_key": "odd", "fixes": odd}).json()["accepted"] == 1

    def refused(body: Any = None, **kw: Any) -> dict[str, Any]:
        r = _post(client, pid, h, body, **kw)
        assert r.status_code == 422, r.text
        return dict(r.json())

    good = {"t": t.isoformat(), "lon": 100.004, "lat": 30.004}
    missing = refused({"batch_key": "m", "fixes": [{"lon": 1, "lat": 2}]})
    assert missing["detail"][0]["loc"] == ["body", "fixes", 0, "t"] and missing["detail"][0]["type"] == "missing"
    for field, value in (("lat", 91), ("lon", -181), ("heading_deg", 400), ("accuracy_m", -1), ("crs", "utm"),
                          ("t", "yesterday"), ("t", "2024-02-30T08:00:00")):  # fmt: skip
        body = refused({"batch_key": "b", "fixes": [good, {**good, field: value}]})
        assert body["error"] == "invalid_request" and body["detail"][0]["loc"] == ["body", "fixes", 1, field], body
    assert refused({"batch_key": "", "fixes": [good]})["detail"][0]["loc"] == ["body", "batch_key"]
    assert refused({"batch_key": "n", "fixes": [good] * 1001})["detail"][0]["type"] == "too_long"
    broken = refused(content=b'{"batch_key": "x", "fixes": [', headers={**h, "Content-Type": "application/json"})
    assert broken["detail"][0]["type"] == "json_invalid"
    assert refused(content=b"", headers={**h, "Content-Type": "application/json"})["detail"][0]["type"] == "missing"


def _reference_flags(fixes: list[Fix], previous: tuple[datetime, float, float] | None) -> list[int]:
    """The rule as the Python loop had it: each fix (sorted) against the last good fix before it."""
    out = []
    for f in sorted(fixes, key=lambda f: f.t):
        flags = FLAG_ACCURACY if f.accuracy_m is not None and f.accuracy_m > 50 else 0
        if previous is not None and not flags:
            dt = (f.t - previous[0]).total_seconds()
            p1, p2 = math.radians(previous[2]), math.radians(f.lat)
            a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(
                math.radians(f.lon - previous[1]) / 2) ** 2  # fmt: skip
            if dt > 0 and 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a))) / dt > 15:
                flags |= FLAG_SPEED
        if not flags:
            previous = (f.t, f.lon, f.lat)
        out.append(flags)
    return out


def test_speed_jumps_are_judged_against_the_last_good_fix(session: Session, parea: PatrolArea) -> None:
    rng = random.Random(3)
    p = start_patrol(session, parea.worker, client_key="jumps")
    t0 = local(2024, 6, 1, 9)
    first = [Fix(t0, *IN, accuracy_m=5.0)]
    add_fixes(session, parea.worker, p.id, batch_key="first", fixes=first)
    fixes = []
    for k in range(1, 200):
        jump = rng.random() < 0.15
        x = IN[0] + (0.01 if jump else rng.uniform(-0.0003, 0.0003))
        fixes.append(Fix(t0 + timedelta(seconds=5 * k), x, IN[1] + rng.uniform(-0.0003, 0.0003),
                         accuracy_m=rng.choice([5.0, 5.0, 5.0, 80.0])))  # fmt: skip
    rng.shuffle(fixes)
    add_fixes(session, parea.worker, p.id, batch_key="many", fixes=fixes)
    # a batch whose first fix is itself a jump from the last stored good fix: judged from that stored fix
    t1 = t0 + timedelta(seconds=1000)
    resync = [Fix(t1 + timedelta(seconds=5 * k), IN[0] + (0.02 if k < 3 else 0.0001 * k), IN[1], accuracy_m=5.0)
              for k in range(10)]  # fmt: skip
    add_fixes(session, parea.worker, p.id, batch_key="resync", fixes=resync)
    stored = list(session.scalars(select(PatrolFix.flags).where(PatrolFix.patrol_id == p.id).order_by(PatrolFix.t)))
    expected = _reference_flags(first + fixes + resync, None)
    assert stored == expected and sum(f & FLAG_SPEED != 0 for f in expected) > 10
    assert [f & FLAG_SPEED for f in stored[-10:-7]] == [FLAG_SPEED] * 3


@pytest.fixture()
def committed(engine: Engine) -> Iterator[tuple[int, str]]:
    """A worker with a token and a patrol, committed (the app's own pool cannot see a test's transaction)."""
    with Session(engine) as s:
        user = create_user(s, username="ingest-async", password="ingest-password", full_name="异步", role="grid_worker")
        token, _ = login(s, username="ingest-async", password="ingest-password")
        patrol = start_patrol(s, user, client_key="async")
        s.commit()
        pid = patrol.id
    try:
        yield pid, token
    finally:
        with Session(engine) as s:
            s.execute(text("DELETE FROM idempotency_keys WHERE scope = :s"), {"s": f"patrol:{pid}"})
            s.execute(text("DELETE FROM users WHERE username = 'ingest-async'"))
            s.commit()


def test_the_async_pool_path(settings: Settings, engine: Engine, committed: tuple[int, str]) -> None:
    pid, token = committed
    h = {"Authorization": f"Bearer {token}"}
    t0 = datetime.now(UTC) - timedelta(hours=1)
    body = {"batch_key": "a1", "fixes": [{"t": (t0 + timedelta(seconds=k)).isoformat(), "lon": 116.3, "lat": 39.9}
                                         for k in (2, 0, 1, 1)]}  # fmt: skip
    with TestClient(create_app(settings)) as client:
        assert client.post(f"/v1/patrols/{pid}/fixes", json=body, headers=h).json() == {
            "accepted": 3, "duplicates": 1, "flagged": 0}  # fmt: skip
        assert client.post(f"/v1/patrols/{pid}/fixes", json=body, headers=h).json()["accepted"] == 0
        clash = client.post(f"/v1/patrols/{pid}/fixes", json={**body, "fixes": body["fixes"][:1]}, headers=h)
        assert clash.status_code == 409
        assert client.post(f"/v1/patrols/{pid}/fixes", json=body, headers={"Authorization": "Bearer x"}
                           ).status_code == 401  # fmt: skip
        assert client.post("/v1/patrols/999999999/fixes", json=body, headers=h).status_code == 404
        assert client.app.state.ingest_pool is not None  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_fixes WHERE patrol_id = :p"), {"p": pid}).scalar() == 3


def test_the_printable_log_uses_the_subdistricts_rule(
    session: Session, parea: PatrolArea, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2024, 5, 7)
    p = start_patrol(session, parea.worker, client_key="rule", at=local(2024, 5, 7, 9))
    walk = ring_walk(local(2024, 5, 7, 9), 125)  # 125 min: meets the default 120, not the 街道's 150
    for k in range(0, len(walk), 1000):
        add_fixes(session, parea.worker, p.id, batch_key=f"r{k}", fixes=walk[k : k + 1000])
    nightly_patrols(session, day)
    entry = worklog.read_log(session, parea.manager, day=day, worker_id=parea.worker.id, compound=None)
    assert "达标" in worklog_page(worklog.log_view(session, entry)) and "未达标" not in worklog_page(
        worklog.log_view(session, entry))  # fmt: skip
    base = patrol_config.load_config()
    over = patrol_config.PatrolConfig(
        **{**base.__dict__, "subdistricts": {"990000000": {"rule": {"required_minutes": 150}}}}
    )
    monkeypatch.setattr(worklog, "load_config", lambda: over)
    view = worklog.log_view(session, entry)
    assert view["required_minutes"] == 150 and view["minutes"][0]["met"] is False
    page = worklog_page(view)
    assert "定岗 ≥ 150 分钟" in page and "未达标" in page
